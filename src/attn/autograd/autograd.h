// Reverse-mode automatic differentiation.
//
// Every differentiable op, when grad mode is on and some input requires grad, records a Node on its
// output: the op's name, its inputs (the graph's edges) and a backward function. `loss.backward()`
// sorts the recorded nodes topologically (the tape, in the order the ops ran) and walks it backwards:
//
//   for node in reversed(tape):          # outputs before inputs
//       node.backward(gout = out.grad, gin = [x.grad for x in node.inputs])   # each gin[i] += ...
//
// A backward function receives the gradient of its output and *accumulates* (+=) into the gradient
// buffers of its inputs (already allocated, zero on first touch) — so an input used twice simply
// receives two contributions. Leaves keep their .grad across calls (gradient accumulation); buffers of
// intermediate tensors are freed once consumed unless retain_grad() was called.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "attn/core/tensor.h"

namespace attn {

struct Node {
  // gout: gradient of the op's output. gin[i]: gradient buffer of inputs[i] to accumulate into, or an
  // undefined Tensor when that input does not require grad (skip its work).
  using BackwardFn = std::function<void(const Tensor& gout, std::vector<Tensor>& gin)>;

  std::string name;
  std::vector<Tensor> inputs;
  BackwardFn backward;

  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Releases the graph behind this node iteratively: a chain of 100k ops (a long RNN unroll) would
  // otherwise be destroyed by recursion deep enough to overflow the stack.
  ~Node();
};

// Grad mode: thread-local switch, on by default. `NoGradGuard g;` turns recording off in a scope
// (like `with torch.no_grad():`), for evaluation and optimizer steps.
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};
class EnableGradGuard {
 public:
  EnableGradGuard();
  ~EnableGradGuard();
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool prev_;
};

// True when an op over these inputs should be recorded.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Attach a node to `out` (marks it requires_grad). Call only when needs_grad(...) is true.
// Saved tensors captured by `backward` must not be `out` itself (that would be a reference cycle):
// capture `out.detach()` instead, which shares the data.
void record(Tensor& out, const char* name, std::vector<Tensor> inputs, Node::BackwardFn backward);

// torch.autograd.grad-like helper: gradients of a scalar `output` w.r.t. `inputs`, without touching
// their .grad (used by the finite-difference harness and by tests).
std::vector<Tensor> grad(const Tensor& output, const std::vector<Tensor>& inputs,
                         const Tensor& grad_output = Tensor(), bool retain_graph = false);

}  // namespace attn
