#include "attn/nn/state_dict.h"

#include "attn/core/error.h"

namespace attn::nn {

StateDict::StateDict(std::initializer_list<Item> items) {
  for (const Item& item : items) insert(item.first, item.second);
}

void StateDict::insert(const std::string& name, const Tensor& tensor) {
  auto it = index_.find(name);
  if (it != index_.end()) {
    items_[it->second].second = tensor;
    return;
  }
  index_.emplace(name, items_.size());
  items_.emplace_back(name, tensor);
}

const Tensor& StateDict::at(const std::string& name) const {
  const Tensor* t = find(name);
  ATTN_CHECK(t != nullptr, "StateDict", "no tensor named \"" << name << "\"");
  return *t;
}

Tensor& StateDict::at(const std::string& name) {
  auto it = index_.find(name);
  ATTN_CHECK(it != index_.end(), "StateDict", "no tensor named \"" << name << "\"");
  return items_[it->second].second;
}

const Tensor* StateDict::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &items_[it->second].second;
}

bool StateDict::erase(const std::string& name) {
  auto it = index_.find(name);
  if (it == index_.end()) return false;
  items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(it->second));
  index_.clear();
  for (std::size_t i = 0; i < items_.size(); ++i) index_.emplace(items_[i].first, i);
  return true;
}

std::vector<std::string> StateDict::keys() const {
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (const Item& item : items_) out.push_back(item.first);
  return out;
}

StateDict StateDict::clone() const {
  StateDict out;
  for (const Item& item : items_) out.insert(item.first, item.second.defined() ? item.second.clone() : Tensor());
  return out;
}

}  // namespace attn::nn
