// explore_attention._core: the library's tensors, attention functions and modules, and models, for Python.
// The package's __init__.py re-exports everything here; see python/README.md for a tour.
#include "attn/core/error.h"
#include "attn/kernels/gemm.h"
#include "convert.h"

PYBIND11_MODULE(_core, m) {
  m.doc() = "explore-attention's C++ library (attention mechanisms, their fused kernel, and models) for Python";
  m.attr("__version__") = ATTN_VERSION;
  // The library's errors (bad shapes, missing files, bad arguments) become ValueError with its message.
  pybind11::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const attn::Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  attn::python::bind_tensor(m);
  attn::python::bind_attention(m);
  attn::python::bind_modules(m);  // before bind_ops: Module is the base of its LayerNorm and Embedding
  attn::python::bind_ops(m);
  attn::python::bind_models(m);
  attn::python::bind_show(m);
  attn::python::bind_explain(m);
  attn::python::bind_trainers(m);
  // OpenBLAS chose its generic Prescott kernels on a CPU it does not know (attn/kernels/gemm.h): the kernel the
  // CPU's features allow, or None. A process cannot switch after OpenBLAS loaded; __init__.py says what to set.
  m.def("_blas_kernel_for_this_cpu", [] {
    const char* k = attn::kernels::blas_kernel_for_this_cpu();
    return k ? pybind11::object(pybind11::str(k)) : pybind11::object(pybind11::none());
  });
}
