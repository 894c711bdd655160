// Parameter initialisation, in place (torch.nn.init). Each fills an existing tensor from a Generator, so
// the same seed gives the same model.
//
// Fans of a weight of shape (out, in, *k): fan_in = in · prod(k), fan_out = out · prod(k).
//   uniform_(t, a, b)            t ~ U(a, b)
//   normal_(t, mean, std)        t ~ N(mean, std²)
//   kaiming_uniform_(t, a)       t ~ U(-bound, bound),  bound = gain · √(3 / fan_in),  gain = √(2 / (1 + a²))
//                                (torch's Linear uses a = √5, which makes bound = 1/√fan_in)
//   xavier_uniform_(t, gain)     t ~ U(-bound, bound),  bound = gain · √(6 / (fan_in + fan_out))
//   xavier_normal_(t, gain)      t ~ N(0, std²),        std = gain · √(2 / (fan_in + fan_out))
// All of them write values only: no autograd history is recorded.
#pragma once
#include <cstdint>
#include <utility>

#include "attn/core/rng.h"
#include "attn/core/tensor.h"

namespace attn::nn::init {

// (fan_in, fan_out) of a tensor with at least 2 dims (out, in, *kernel); 1-d tensors have fan_in = size.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t);

void uniform_(Tensor& t, float a, float b, Generator& gen);
void normal_(Tensor& t, float mean, float std, Generator& gen);
void constant_(Tensor& t, float value);
void zeros_(Tensor& t);
void ones_(Tensor& t);
void kaiming_uniform_(Tensor& t, float a, Generator& gen);
void xavier_uniform_(Tensor& t, Generator& gen, float gain = 1.f);
void xavier_normal_(Tensor& t, Generator& gen, float gain = 1.f);

}  // namespace attn::nn::init
