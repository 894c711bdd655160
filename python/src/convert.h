// numpy / torch / Python values <-> attn::Tensor, for the bindings.
//
// In: an explore_attention Tensor is used as is; a float32, C-contiguous, writeable numpy array is wrapped
// without a copy (the tensor keeps the array alive, like torch.from_numpy); any other array of real numbers
// (float64, int, bool, strided, read-only) is copied once into float32; a torch tensor goes through
// `.detach().cpu().numpy()`; nested lists and Python numbers through numpy.asarray. Complex, object and
// string arrays raise TypeError; NaN anywhere raises ValueError. Every message names the argument.
//
// Out: `to_numpy` is a view of the tensor's memory (no copy) that keeps the tensor alive.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "attn/core/tensor.h"

namespace attn::python {

namespace py = pybind11;

// `arg` names the argument in error messages ("query").
Tensor to_tensor(py::handle obj, const char* arg);
// None -> an undefined Tensor.
Tensor to_tensor_or_none(py::handle obj, const char* arg);
// A sequence of arrays -> tensors, each named "arg[i]" in errors; an empty sequence raises ValueError
// "<arg> is empty" (followed by ": <hint>" when one is given).
std::vector<Tensor> to_tensor_list(py::handle seq, const char* arg, const std::string& hint = "");
// Token ids / lengths: an int sequence or integer array -> IndexTensor (a float array is refused).
IndexTensor to_index(py::handle obj, const char* arg);
// Whether `obj` is a numpy bool array or a torch bool tensor (masks: bool means allowed / not allowed).
bool is_bool_array(py::handle obj);

// A numpy view of `t` (shares memory; the array keeps the tensor's storage alive).
py::array to_numpy(const Tensor& t);
// A shape as a Python tuple.
py::tuple shape_tuple(const Shape& s);

// Raises ValueError naming `arg` and what was expected when `t.dim()` is not one of `ranks`.
void check_rank(const Tensor& t, std::initializer_list<int64_t> ranks, const char* arg, const char* expected_shape);

// `module(...)` is `module.forward(...)`, as in torch: every module binding's __call__.
inline py::object call_forward(py::object self, py::args args, py::kwargs kwargs) {
  return self.attr("forward")(*args, **kwargs);
}

// Where the repository is (the shipped models, GPT-2's default BPE files under third_party/npm):
// $ATTN_SOURCE_DIR, else the source tree this module was built from.
std::string repo_root();

// Module parts, each defined in its own .cpp (one pybind11 translation unit each keeps rebuilds short).
void bind_tensor(py::module_& m);
void bind_attention(py::module_& m);
void bind_modules(py::module_& m);
void bind_models(py::module_& m);
void bind_show(py::module_& m);
void bind_explain(py::module_& m);
void bind_ops(py::module_& m);
void bind_trainers(py::module_& m);

}  // namespace attn::python
