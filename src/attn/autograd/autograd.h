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
// receives two contributions. Ops on the hot path of training may instead take buffers that are not
// zeroed yet (GradInit::MaybeUninitialized): the first contribution then writes (=) rather than adds,
// which saves a pass that zeroes every activation's gradient and a read of it in the op. Leaves keep
// their .grad across calls (gradient accumulation); buffers of intermediate tensors are freed once
// consumed unless retain_grad() was called.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "attn/core/tensor.h"

namespace attn {

// How the engine hands an op's backward function the gradient buffers it allocates for it:
//   Zeroed              filled with zeros, and the function adds (+=) into every buffer. Any op may use it.
//   MaybeUninitialized  a newly allocated buffer is not zeroed. For each gin[i] the function calls
//                       first_write(gin[i]) before touching it: when that returns true it must write (=) every
//                       element; otherwise (a buffer that already holds a contribution) it adds as usual.
// A buffer the function leaves untouched (first_write never called on it) is zeroed after it returns.
enum class GradInit { Zeroed, MaybeUninitialized };

// In a MaybeUninitialized backward function: true when `g` holds no contribution yet (not even zeros), in
// which case the caller promises to overwrite all of it; the buffer counts as written from here on.
// False for a buffer to add into (and for undefined tensors).
bool first_write(Tensor& g);

// Debug aid: fill the buffers handed out uninitialized with NaN, so that an op which adds into one without
// asking first_write() gets NaN gradients instead of silently right ones (fresh pages are often zero). On by
// default in debug builds; the gradient checks of the tests turn it on in every build. Returns the old value.
bool set_poison_uninitialized_gradients(bool on);

struct Node {
  // gout: gradient of the op's output. gin[i]: gradient buffer of inputs[i] to accumulate into, or an
  // undefined Tensor when that input does not require grad (skip its work).
  using BackwardFn = std::function<void(const Tensor& gout, std::vector<Tensor>& gin)>;

  std::string name;
  std::vector<Tensor> inputs;
  BackwardFn backward;
  GradInit grad_init = GradInit::Zeroed;

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
void record(Tensor& out, const char* name, std::vector<Tensor> inputs, Node::BackwardFn backward,
            GradInit grad_init = GradInit::Zeroed);

// torch.autograd.grad-like helper: gradients of a scalar `output` w.r.t. `inputs`, without touching
// their .grad (used by the finite-difference harness and by tests).
std::vector<Tensor> grad(const Tensor& output, const std::vector<Tensor>& inputs, const Tensor& grad_output = Tensor(),
                         bool retain_graph = false);

// loss.backward() that also calls `on_grad_ready(leaf)` for each leaf the moment its .grad is complete — when
// the last op that uses it has run its backward function (PyTorch's post-accumulate-grad hook). Data-parallel
// training (attn/dist/data_parallel.h) starts reducing a bucket of gradients over the network there, while the
// backward pass goes on through the earlier layers. Leaves that no gradient reaches get no call.
using GradReadyHook = std::function<void(const Tensor& leaf)>;
void backward_with_hook(const Tensor& root, const GradReadyHook& on_grad_ready);

}  // namespace attn
