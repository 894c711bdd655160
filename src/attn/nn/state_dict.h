// StateDict: an ordered name -> Tensor map, the currency of checkpoints (torch's OrderedDict state_dict).
//
// Modules produce one with dotted names in registration order ("encoder.layers.0.weight"); optimizers
// produce one with their per-parameter state ("exp_avg.3", "step.3"). Iteration follows insertion order,
// so saving and printing a state dict lists tensors the way the model declares them.
//
// Like torch, the tensors of a state dict returned by Module::state_dict() share storage with the model
// (they are detached handles, not copies): training on changes them. Call clone() for a snapshot.
#pragma once
#include <cstddef>
#include <initializer_list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "attn/core/tensor.h"

namespace attn::nn {

class StateDict {
 public:
  using Item = std::pair<std::string, Tensor>;
  using const_iterator = std::vector<Item>::const_iterator;

  StateDict() = default;
  StateDict(std::initializer_list<Item> items);

  // Inserts at the end, or replaces the tensor in place when `name` is already present.
  void insert(const std::string& name, const Tensor& tensor);
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // The tensor stored under `name`; throws attn::Error naming the key when it is absent.
  const Tensor& at(const std::string& name) const;
  Tensor& at(const std::string& name);
  const Tensor* find(const std::string& name) const;  // nullptr when absent
  bool erase(const std::string& name);                // true when something was removed

  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  std::vector<std::string> keys() const;
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }

  StateDict clone() const;  // deep copy of every tensor: a snapshot that later training does not change

 private:
  std::vector<Item> items_;
  std::unordered_map<std::string, std::size_t> index_;  // name -> position in items_
};

}  // namespace attn::nn
