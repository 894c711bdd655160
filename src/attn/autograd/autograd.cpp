#include "attn/autograd/autograd.h"

#include <atomic>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "attn/core/error.h"
#include "attn/kernels/elementwise.h"

namespace attn {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : prev_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = prev_; }
EnableGradGuard::EnableGradGuard() : prev_(g_grad_enabled) { g_grad_enabled = true; }
EnableGradGuard::~EnableGradGuard() { g_grad_enabled = prev_; }

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Node::~Node() {
  std::vector<Tensor> pending = std::move(inputs);
  while (!pending.empty()) {
    Tensor t = std::move(pending.back());
    pending.pop_back();
    TensorImpl* impl = t.impl();
    // If we hold the last reference to this tensor and to its node, adopt the node's inputs so that
    // destroying the node below does not recurse.
    if (impl && t.impl_ptr().use_count() == 1 && impl->grad_fn && impl->grad_fn.use_count() == 1) {
      auto& more = impl->grad_fn->inputs;
      for (auto& in : more) pending.push_back(std::move(in));
      more.clear();
    }
  }
}

void record(Tensor& out, const char* name, std::vector<Tensor> inputs, Node::BackwardFn backward, GradInit grad_init) {
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  node->grad_init = grad_init;
  out.impl()->requires_grad = true;
  out.impl()->grad_fn = std::move(node);
}

bool first_write(Tensor& g) {
  if (!g.defined() || !g.impl()->grad_uninitialized) return false;
  g.impl()->grad_uninitialized = false;
  return true;
}

namespace {
#ifdef NDEBUG
std::atomic<bool> g_poison{false};
#else
std::atomic<bool> g_poison{true};
#endif
}  // namespace

bool set_poison_uninitialized_gradients(bool on) { return g_poison.exchange(on); }

namespace {

// A gradient buffer for an op's backward function: zeroed, or (GradInit::MaybeUninitialized) left as the
// allocator gives it and marked, so that the op's first write overwrites it (NaN-filled when poisoning is on).
Tensor new_grad_buffer(const Shape& shape, GradInit init) {
  if (init == GradInit::Zeroed) return Tensor::zeros(shape);
  Tensor g = g_poison.load(std::memory_order_relaxed) ? Tensor::full(shape, std::numeric_limits<float>::quiet_NaN())
                                                      : Tensor::empty(shape);
  g.impl()->grad_uninitialized = true;
  return g;
}

// Depth-first post-order over the graph from `root`: inputs come before the ops that use them.
std::vector<TensorImpl*> topo_order(TensorImpl* root) {
  std::vector<TensorImpl*> order;
  std::unordered_set<TensorImpl*> seen;
  // Iterative DFS (deep graphs — long RNN unrolls — would overflow a recursive one).
  std::vector<std::pair<TensorImpl*, size_t>> stack{{root, 0}};
  seen.insert(root);
  while (!stack.empty()) {
    auto& [t, next] = stack.back();
    Node* node = t->grad_fn.get();
    if (node && next < node->inputs.size()) {
      TensorImpl* in = node->inputs[next++].impl();
      if (in && in->requires_grad && !seen.count(in)) {
        seen.insert(in);
        stack.push_back({in, 0});
      }
    } else {
      order.push_back(t);
      stack.pop_back();
    }
  }
  return order;
}

// Runs the backward pass. When `capture` is non-null, gradients of those tensors are returned there
// instead of being accumulated into leaves' .grad.
void run_backward(const Tensor& root, const Tensor& gradient, bool retain_graph,
                  std::unordered_map<TensorImpl*, Tensor>* capture, const GradReadyHook* on_grad_ready = nullptr) {
  ATTN_CHECK(root.defined(), "backward", "called on an undefined tensor");
  ATTN_CHECK(root.requires_grad(), "backward",
             "tensor does not require grad (no input had requires_grad, or it was computed under no_grad)");
  Tensor g0;
  if (gradient.defined()) {
    ATTN_CHECK(
        gradient.shape() == root.shape(), "backward",
        "gradient shape " << shape_str(gradient.shape()) << " differs from tensor shape " << shape_str(root.shape()));
    // Backward functions only read gout; copy only when the root is a leaf that will keep it as .grad.
    g0 = root.is_leaf() ? gradient.clone() : gradient;
  } else {
    ATTN_CHECK(root.numel() == 1, "backward",
               "grad can be implicitly created only for scalar outputs; got shape " << shape_str(root.shape())
                                                                                    << " — pass a gradient");
    g0 = Tensor::ones(root.shape());
  }

  NoGradGuard no_grad;  // backward functions do not record
  std::vector<TensorImpl*> order = topo_order(root.impl());

  // Gradients of intermediate tensors live in this map while the pass runs; leaves accumulate into .grad.
  std::unordered_map<TensorImpl*, Tensor> grads;
  grads[root.impl()] = g0;

  // With a hook: how many recorded ops still have to add into each leaf (an op that uses a leaf twice counts once).
  std::unordered_map<TensorImpl*, int> pending;
  auto leaf_inputs = [](Node* node) {
    std::vector<const Tensor*> leaves;
    for (const Tensor& in : node->inputs) {
      TensorImpl* impl = in.impl();
      if (!impl || !impl->requires_grad || impl->grad_fn) continue;
      bool seen = false;
      for (const Tensor* l : leaves) seen = seen || l->impl() == impl;
      if (!seen) leaves.push_back(&in);
    }
    return leaves;
  };
  if (on_grad_ready && !capture)
    for (TensorImpl* t : order)
      if (t->grad_fn)
        for (const Tensor* l : leaf_inputs(t->grad_fn.get())) ++pending[l->impl()];
  // After `node` ran (or was skipped: nothing flowed to it), its leaves have one op fewer to wait for.
  auto settle_leaves = [&](Node* node) {
    if (pending.empty()) return;
    for (const Tensor* l : leaf_inputs(node))
      if (--pending[l->impl()] == 0 && l->impl()->grad) (*on_grad_ready)(*l);
  };

  auto is_captured = [&](TensorImpl* t) { return capture && capture->count(t); };
  std::vector<std::shared_ptr<Node>> used;  // nodes whose backward ran (released after the pass)

  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    TensorImpl* t = *it;
    auto found = grads.find(t);
    if (found == grads.end()) {  // nothing flowed here
      if (t->grad_fn) settle_leaves(t->grad_fn.get());
      continue;
    }
    Tensor gout = found->second;

    if (is_captured(t)) (*capture)[t] = gout;
    Node* node = t->grad_fn.get();
    if (!node) {
      // A leaf reached through the map: the root itself, or any leaf while capturing. (Other leaves
      // were accumulated into directly by the ops that used them.)
      if (!capture) {
        if (t->grad) {
          Tensor acc(t->grad);
          kernels::add_inplace(acc.data(), gout.data(), acc.numel());
        } else {
          t->grad = gout.impl_ptr();  // the map's buffer is ours to hand over
        }
      }
      grads.erase(found);
      continue;
    }
    if (t->retains_grad && !capture) {
      if (t->grad) {
        Tensor acc(t->grad);
        kernels::add_inplace(acc.data(), gout.data(), acc.numel());
      } else {
        t->grad = gout.clone().impl_ptr();
      }
    }
    ATTN_CHECK(node->backward, "backward",
               "trying to backward through the graph a second time (op '"
                   << node->name << "'); pass retain_graph=true to the first backward");

    std::vector<Tensor> gin(node->inputs.size());
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      TensorImpl* in = node->inputs[i].impl();
      if (!in || !in->requires_grad) continue;
      if (!capture && !in->grad_fn) {
        // A leaf: the op accumulates straight into its .grad (no temporary buffer, no extra add).
        if (!in->grad) in->grad = new_grad_buffer(in->shape, node->grad_init).impl_ptr();
        gin[i] = Tensor(in->grad);
        continue;
      }
      auto g = grads.find(in);
      if (g == grads.end()) g = grads.emplace(in, new_grad_buffer(in->shape, node->grad_init)).first;
      gin[i] = g->second;
    }
    // A buffer the op did not write (no contribution this time) is zeroed, as promised — also when the op
    // throws, so that no leaf keeps a .grad of garbage.
    auto settle = [&gin] {
      for (Tensor& g : gin)
        if (g.defined() && g.impl()->grad_uninitialized) {
          g.fill_(0.f);
          g.impl()->grad_uninitialized = false;
        }
    };
    try {
      node->backward(gout, gin);
    } catch (...) {
      settle();
      throw;
    }
    settle();
    settle_leaves(node);
    grads.erase(t);
    if (!retain_graph) {
      node->backward = nullptr;  // frees the saved tensors
      used.push_back(t->grad_fn);
    }
  }
  // Without retain_graph, also drop the graph's edges, so that holding on to the loss (or any output)
  // does not keep every intermediate activation of the forward pass alive. The nodes are held here
  // while their inputs go, because `order` points at tensors that this may free.
  for (auto& node : used) node->inputs.clear();
}

}  // namespace

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  run_backward(*this, gradient, retain_graph, nullptr);
}

void backward_with_hook(const Tensor& root, const GradReadyHook& on_grad_ready) {
  run_backward(root, Tensor(), false, nullptr, on_grad_ready ? &on_grad_ready : nullptr);
}

std::vector<Tensor> grad(const Tensor& output, const std::vector<Tensor>& inputs, const Tensor& grad_output,
                         bool retain_graph) {
  std::unordered_map<TensorImpl*, Tensor> capture;
  for (const Tensor& t : inputs) {
    ATTN_CHECK(t.requires_grad(), "grad", "an input does not require grad");
    capture[t.impl()] = Tensor();
  }
  run_backward(output, grad_output, retain_graph, &capture);
  std::vector<Tensor> out;
  for (const Tensor& t : inputs) {
    Tensor g = capture[t.impl()];
    out.push_back(g.defined() ? g : Tensor::zeros(t.shape()));
  }
  return out;
}

}  // namespace attn
