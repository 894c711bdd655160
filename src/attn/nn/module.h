// Module: the base of every layer and model (torch.nn.Module).
//
// A module owns named parameters (trainable leaf tensors), named buffers (non-trainable state saved with
// the model) and named child modules. Names compose with dots, exactly as in PyTorch, so that a model
// built as
//
//   Model
//   ├── encoder : Sequential
//   │   ├── 0 : Linear  { weight (8, 4), bias (8) }
//   │   └── 1 : Tanh
//   └── head : Linear   { weight (2, 8), bias (2) }
//
// has the parameters "encoder.0.weight", "encoder.0.bias", "head.weight", "head.bias" — in that order:
// a module's own parameters first, then each child's, depth first, in registration order.
//
// A subclass registers what it owns in its constructor and keeps handles as members:
//
//   struct MLP : Module {
//     std::shared_ptr<Linear> fc1, fc2;
//     MLP(Generator& gen) {
//       fc1 = register_module("fc1", std::make_shared<Linear>(4, 8, gen));
//       fc2 = register_module("fc2", std::make_shared<Linear>(8, 2, gen));
//     }
//     Tensor forward(const Tensor& x) { return fc2->forward(tanh(fc1->forward(x))); }
//   };
//
// A member Tensor and the registry hold the same handle (they share the TensorImpl). Change a
// parameter's values in place (copy_, load_state_dict, an optimizer step); assigning a new Tensor to the
// member would leave the registry pointing at the old one.
//
// Shape legend used by the nn headers: B batch, T time steps, (...) any leading dims, in/out features,
// H hidden size, D number of directions (1 or 2), L number of layers, V vocabulary size.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attn/core/tensor.h"
#include "attn/nn/state_dict.h"

namespace attn::nn {

class Module;
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using NamedModules = std::vector<std::pair<std::string, std::shared_ptr<Module>>>;

// What load_state_dict found (torch's `_IncompatibleKeys`); both empty after a strict load.
struct LoadResult {
  std::vector<std::string> missing_keys;     // in the model, absent from the state dict
  std::vector<std::string> unexpected_keys;  // in the state dict, absent from the model
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // Modules are shared by handle (std::shared_ptr), never copied: a copy would alias every parameter.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // ---- registration (call from the subclass constructor) ------------------------------------------
  // Makes `tensor` a parameter: a leaf with requires_grad = true. Returns the same handle.
  Tensor register_parameter(const std::string& name, Tensor tensor);
  // A buffer is saved in state_dict() but is not a parameter (never trained), e.g. a fixed table.
  Tensor register_buffer(const std::string& name, Tensor tensor);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

  // ---- introspection --------------------------------------------------------------------------------
  // All parameters with dotted names, depth first. A tensor shared by two modules (tied weights) is
  // listed once, under its first name — so an optimizer does not update it twice.
  NamedTensors named_parameters(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  const NamedModules& named_children() const { return children_; }
  // Self (name "") and every descendant, depth first, as non-owning pointers.
  std::vector<std::pair<std::string, Module*>> named_modules();
  int64_t num_parameters() const;  // total elements over parameters()

  // ---- checkpoints ----------------------------------------------------------------------------------
  // Every parameter and buffer under its dotted name (per module: parameters, then buffers, then
  // children). Tensors are detached handles sharing the model's storage; clone() for a snapshot.
  StateDict state_dict() const;
  // Copies values into the model's tensors, in place. Throws attn::Error naming every missing key,
  // unexpected key and mis-shaped tensor (strict); with strict = false only mis-shaped tensors are an
  // error and the returned LoadResult lists the rest. Nothing is copied when it throws.
  LoadResult load_state_dict(const StateDict& state, bool strict = true);

  // ---- modes and gradients --------------------------------------------------------------------------
  // Training mode switches behaviour such as dropout; it is set on this module and every descendant.
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();  // drops every parameter's .grad (torch's set_to_none = True)

  // ---- printing -------------------------------------------------------------------------------------
  virtual std::string type_name() const { return "Module"; }  // "Linear"
  virtual std::string extra_repr() const { return ""; }       // "in_features=4, out_features=8, bias=True"
  std::string to_string() const;                              // the tree, like print(model) in torch

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void check_new_name(const std::string& name, const char* op) const;
  void collect_state(const std::string& prefix, StateDict& out) const;
  void collect_parameters(const std::string& prefix, bool recurse, NamedTensors& out,
                          std::vector<const TensorImpl*>& seen) const;

  bool training_ = true;
  NamedTensors parameters_;
  NamedTensors buffers_;
  NamedModules children_;
};

// A module that maps one tensor to one tensor — what Sequential can chain.
class UnaryModule : public Module {
 public:
  virtual Tensor forward(const Tensor& input) = 0;
  Tensor operator()(const Tensor& input) { return forward(input); }
};

// Restores a module's training mode on scope exit: decoding switches to eval() inside, and the caller's
// mode comes back however the scope ends.
struct ModeGuard {
  Module& m;
  bool was_training;
  explicit ModeGuard(Module& module) : m(module), was_training(module.is_training()) {}
  ~ModeGuard() { m.train(was_training); }
  ModeGuard(const ModeGuard&) = delete;
  ModeGuard& operator=(const ModeGuard&) = delete;
};

}  // namespace attn::nn
