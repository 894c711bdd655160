#include "attn/nn/module.h"

#include <algorithm>
#include <sstream>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"

namespace attn::nn {

void Module::check_new_name(const std::string& name, const char* op) const {
  ATTN_CHECK(!name.empty(), op, "name must not be empty");
  ATTN_CHECK(name.find('.') == std::string::npos, op, "name \"" << name << "\" must not contain '.'");
  auto taken = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& item) { return item.first == name; });
  };
  ATTN_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_), op,
             "name \"" << name << "\" is already registered in this " << type_name());
}

Tensor Module::register_parameter(const std::string& name, Tensor tensor) {
  check_new_name(name, "register_parameter");
  ATTN_CHECK(tensor.defined(), "register_parameter", "parameter \"" << name << "\" is undefined");
  ATTN_CHECK(tensor.is_leaf(), "register_parameter",
             "parameter \"" << name << "\" has a grad_fn; parameters must be leaves (pass t.detach())");
  tensor.requires_grad_(true);
  parameters_.emplace_back(name, tensor);
  return tensor;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor) {
  check_new_name(name, "register_buffer");
  ATTN_CHECK(tensor.defined(), "register_buffer", "buffer \"" << name << "\" is undefined");
  buffers_.emplace_back(name, tensor);
  return tensor;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name, "register_module");
  ATTN_CHECK(module != nullptr, "register_module", "module \"" << name << "\" is null");
  ATTN_CHECK(module.get() != this, "register_module", "a module cannot be its own child");
  children_.emplace_back(name, std::move(module));
}

// ---- introspection --------------------------------------------------------------------------------

void Module::collect_parameters(const std::string& prefix, bool recurse, NamedTensors& out,
                                std::vector<const TensorImpl*>& seen) const {
  for (const auto& [name, p] : parameters_) {
    if (std::find(seen.begin(), seen.end(), p.impl()) != seen.end()) continue;  // tied: listed once
    seen.push_back(p.impl());
    out.emplace_back(prefix + name, p);
  }
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->collect_parameters(prefix + name + ".", true, out, seen);
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  std::vector<const TensorImpl*> seen;
  collect_parameters("", recurse, out, seen);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, p] : named_parameters(recurse)) out.push_back(p);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out = buffers_;
  if (recurse)
    for (const auto& [name, child] : children_)
      for (auto& [sub, b] : child->named_buffers(true)) out.emplace_back(name + "." + sub, b);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out;
  out.emplace_back("", this);
  for (const auto& [name, child] : children_)
    for (auto& [sub, m] : child->named_modules()) out.emplace_back(sub.empty() ? name : name + "." + sub, m);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const Tensor& p : parameters()) n += p.numel();
  return n;
}

// ---- checkpoints ----------------------------------------------------------------------------------

void Module::collect_state(const std::string& prefix, StateDict& out) const {
  for (const auto& [name, p] : parameters_) out.insert(prefix + name, p.detach());
  for (const auto& [name, b] : buffers_) out.insert(prefix + name, b.detach());
  for (const auto& [name, child] : children_) child->collect_state(prefix + name + ".", out);
}

StateDict Module::state_dict() const {
  StateDict out;
  collect_state("", out);
  return out;
}

LoadResult Module::load_state_dict(const StateDict& state, bool strict) {
  const StateDict own = state_dict();  // handles onto our tensors, by dotted name
  LoadResult result;
  std::vector<std::string> mismatched;
  for (const auto& [name, mine] : own) {
    const Tensor* theirs = state.find(name);
    if (!theirs) {
      result.missing_keys.push_back(name);
    } else if (!theirs->defined() || theirs->shape() != mine.shape()) {
      std::ostringstream os;
      os << "\"" << name << "\" (checkpoint " << (theirs->defined() ? shape_str(theirs->shape()) : "undefined")
         << " vs model " << shape_str(mine.shape()) << ")";
      mismatched.push_back(os.str());
    }
  }
  for (const auto& [name, t] : state)
    if (!own.contains(name)) result.unexpected_keys.push_back(name);

  const bool key_errors = strict && (!result.missing_keys.empty() || !result.unexpected_keys.empty());
  if (key_errors || !mismatched.empty()) {
    std::ostringstream os;
    os << "error(s) loading state dict into " << type_name() << ":";
    auto list = [&os](const char* what, const std::vector<std::string>& names, bool quote) {
      if (names.empty()) return;
      os << " " << what << " " << names.size() << ":";
      for (size_t i = 0; i < names.size(); ++i)
        os << (i ? ", " : " ") << (quote ? "\"" : "") << names[i] << (quote ? "\"" : "");
      os << ";";
    };
    if (strict) {
      list("missing keys", result.missing_keys, true);
      list("unexpected keys", result.unexpected_keys, true);
    }
    list("size mismatch for", mismatched, false);
    ATTN_FAIL("load_state_dict", os.str());
  }

  NoGradGuard no_grad;
  for (const auto& [name, mine] : own) {
    if (const Tensor* theirs = state.find(name)) {
      Tensor dst = mine;  // shares the model's storage
      dst.copy_(*theirs);
    }
  }
  return result;
}

// ---- modes and gradients --------------------------------------------------------------------------

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.zero_grad();
}

// ---- printing -------------------------------------------------------------------------------------

std::string Module::to_string() const {
  std::ostringstream os;
  os << type_name() << "(";
  const std::string extra = extra_repr();
  if (children_.empty()) {
    os << extra << ")";
    return os.str();
  }
  os << "\n";
  if (!extra.empty()) os << "  " << extra << "\n";
  for (const auto& [name, child] : children_) {
    std::string sub = child->to_string();
    // Indent the child's continuation lines by two spaces.
    for (size_t at = sub.find('\n'); at != std::string::npos; at = sub.find('\n', at + 1)) sub.insert(at + 1, "  ");
    os << "  (" << name << "): " << sub << "\n";
  }
  os << ")";
  return os.str();
}

}  // namespace attn::nn
