// Elementwise kernels on raw float buffers. Each `x_forward` has its `x_backward` right under it.
// Backward kernels accumulate, dx[i] += ... (the autograd engine hands over zeroed or partial buffers), or
// with accumulate = false write, dx[i] = ... (a buffer that holds no gradient yet: see GradInit in autograd.h).
//
// Notation: x input, y output, dy gradient of the loss w.r.t. y, dx gradient w.r.t. x; n elements.
#pragma once
#include <cstdint>

namespace attn::kernels {

void add_inplace(float* dst, const float* src, int64_t n);  // dst += src
void scale_inplace(float* dst, float s, int64_t n);         // dst *= s

// y = exp(x);  dy/dx = y
void exp_forward(const float* x, float* y, int64_t n);
void exp_backward(const float* y, const float* dy, float* dx, int64_t n, bool accumulate = true);

// y = log(x);  dy/dx = 1/x
void log_forward(const float* x, float* y, int64_t n);
void log_backward(const float* x, const float* dy, float* dx, int64_t n, bool accumulate = true);

// y = sqrt(x);  dy/dx = 1 / (2 sqrt(x)) = 1 / (2y)
void sqrt_forward(const float* x, float* y, int64_t n);
void sqrt_backward(const float* y, const float* dy, float* dx, int64_t n, bool accumulate = true);

// y = x^p;  dy/dx = p x^(p-1)
void pow_forward(const float* x, float p, float* y, int64_t n);
void pow_backward(const float* x, float p, const float* dy, float* dx, int64_t n, bool accumulate = true);

// y = tanh(x);  dy/dx = 1 - y^2
void tanh_forward(const float* x, float* y, int64_t n);
void tanh_backward(const float* y, const float* dy, float* dx, int64_t n, bool accumulate = true);

// y = sigmoid(x) = 1 / (1 + e^-x);  dy/dx = y (1 - y)
void sigmoid_forward(const float* x, float* y, int64_t n);
void sigmoid_backward(const float* y, const float* dy, float* dx, int64_t n, bool accumulate = true);

// y = max(x, 0);  dy/dx = [x > 0]
void relu_forward(const float* x, float* y, int64_t n);
void relu_backward(const float* x, const float* dy, float* dx, int64_t n, bool accumulate = true);

// Exact GELU: y = x Φ(x) = x/2 (1 + erf(x/√2));  dy/dx = Φ(x) + x φ(x), φ(x) = e^(-x²/2)/√(2π)
void gelu_forward(const float* x, float* y, int64_t n);
void gelu_backward(const float* x, const float* dy, float* dx, int64_t n, bool accumulate = true);

// Tanh GELU (GPT-2): y = x/2 (1 + tanh(u)), u = √(2/π) (x + 0.044715 x³)
//   dy/dx = (1 + tanh u)/2 + x/2 (1 - tanh² u) √(2/π) (1 + 3·0.044715 x²)
void gelu_tanh_forward(const float* x, float* y, int64_t n);
void gelu_tanh_backward(const float* x, const float* dy, float* dx, int64_t n, bool accumulate = true);

// ELU+1 is not here: it is composed from these in attn/attention where linear attention needs it.

}  // namespace attn::kernels
