// The Tensor type in Python, and the conversions every other binding uses (convert.h).
#include <pybind11/stl.h>

#include <cmath>
#include <sstream>

#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/ops/ops.h"
#include "convert.h"

namespace attn::python {

namespace {

std::string type_name_of(py::handle obj) { return py::str(py::type::of(obj).attr("__name__")); }

bool is_torch_tensor(py::handle obj) {
  py::handle type = py::type::of(obj);
  if (!py::hasattr(type, "__module__")) return false;
  const std::string module = py::str(type.attr("__module__"));
  return module.rfind("torch", 0) == 0 && py::hasattr(obj, "detach") && py::hasattr(obj, "numpy");
}

// Anything array-like -> a numpy array (torch through .detach().cpu().numpy(), lists through asarray).
py::array as_numpy(py::handle obj, const char* arg) {
  if (is_torch_tensor(obj)) return obj.attr("detach")().attr("cpu")().attr("numpy")();
  if (py::isinstance<py::array>(obj)) return py::reinterpret_borrow<py::array>(obj);
  try {
    return py::module_::import("numpy").attr("asarray")(obj);
  } catch (py::error_already_set&) {
    throw py::type_error(std::string(arg) + ": expected an array (numpy, torch or explore_attention Tensor), got " +
                         type_name_of(obj));
  }
}

std::string shape_text(const py::array& a) {
  std::ostringstream os;
  os << "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) os << (d ? ", " : "") << a.shape(d);
  os << (a.ndim() == 1 ? ",)" : ")");
  return os.str();
}

// Byte strides of a contiguous row-major float array of this shape (numpy views and the buffer protocol).
std::vector<py::ssize_t> contiguous_strides(const std::vector<py::ssize_t>& shape) {
  std::vector<py::ssize_t> strides(shape.size());
  py::ssize_t stride = sizeof(float);
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

// Whether the library may use this array's memory as is: float32, C-contiguous, writeable.
bool can_share(const py::array& a) {
  return a.dtype().is(py::dtype::of<float>()) && (a.flags() & py::array::c_style) && a.writeable();
}

// A Python int or float, for the scalar forms of the arithmetic operators.
bool is_number(py::handle b) { return py::isinstance<py::float_>(b) || py::isinstance<py::int_>(b); }

void check_no_nan(const Tensor& t, const char* arg) {
  const float* p = t.data();
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(p[i])) {
      throw py::value_error(std::string(arg) + " contains NaN (first at flat index " + std::to_string(i) + ")");
    }
  }
}

// Keeps a Python object alive from C++; released with the GIL held, whichever thread drops it.
std::shared_ptr<void> keep_alive(py::handle obj) {
  auto* held = new py::object(py::reinterpret_borrow<py::object>(obj));
  return std::shared_ptr<void>(held, [](void* p) {
    py::gil_scoped_acquire gil;
    delete static_cast<py::object*>(p);
  });
}

Tensor reduce(const Tensor& t, py::object dim, bool keepdim, bool mean) {
  if (dim.is_none()) return mean ? attn::mean(t) : attn::sum(t);
  std::vector<int64_t> dims;
  if (py::isinstance<py::int_>(dim)) dims.push_back(dim.cast<int64_t>());
  else dims = dim.cast<std::vector<int64_t>>();
  return mean ? attn::mean(t, dims, keepdim) : attn::sum(t, dims, keepdim);
}

Shape shape_from_args(const py::args& args) {
  // reshape(2, 3) or reshape((2, 3)), as in torch.
  if (args.size() == 1 && !py::isinstance<py::int_>(args[0])) return args[0].cast<std::vector<int64_t>>();
  return args.cast<std::vector<int64_t>>();
}

}  // namespace

bool is_bool_array(py::handle obj) {
  if (is_torch_tensor(obj)) return py::str(obj.attr("dtype")).cast<std::string>() == "torch.bool";
  if (py::isinstance<py::array>(obj)) return py::reinterpret_borrow<py::array>(obj).dtype().kind() == 'b';
  return false;
}

Tensor to_tensor(py::handle obj, const char* arg) {
  if (obj.is_none()) throw py::type_error(std::string(arg) + ": expected an array, got None");
  if (py::isinstance<Tensor>(obj)) {
    Tensor t = obj.cast<Tensor>();
    if (!t.defined()) throw py::value_error(std::string(arg) + " is an undefined Tensor");
    check_no_nan(t, arg);
    return t;
  }
  py::array a = as_numpy(obj, arg);
  const char kind = a.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b') {
    throw py::type_error(std::string(arg) + ": expected real numbers (float32 preferred), got dtype " +
                         py::str(a.dtype()).cast<std::string>());
  }
  if (a.size() == 0) {
    throw py::value_error(std::string(arg) + " is empty (shape " + shape_text(a) + "); it needs at least one element");
  }
  Shape shape(a.shape(), a.shape() + a.ndim());
  Tensor t;
  if (can_share(a)) {
    t = Tensor::from_blob(static_cast<float*>(a.mutable_data()), shape, keep_alive(a));
  } else {
    auto converted = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
    if (!converted) throw py::type_error(std::string(arg) + ": cannot convert to float32");
    if (converted.ptr() != a.ptr()) {
      // A new array made by the conversion, ours alone: the tensor takes it over (the one copy).
      t = Tensor::from_blob(converted.mutable_data(), shape, keep_alive(converted));
    } else {
      // The caller's own read-only array: copied, so that nothing can write through to it.
      t = Tensor::empty(shape);
      std::copy(converted.data(), converted.data() + converted.size(), t.data());
    }
  }
  check_no_nan(t, arg);
  return t;
}

Tensor to_tensor_or_none(py::handle obj, const char* arg) {
  if (obj.is_none()) return Tensor();
  return to_tensor(obj, arg);
}

std::vector<Tensor> to_tensor_list(py::handle seq, const char* arg, const std::string& hint) {
  std::vector<Tensor> out;
  for (py::handle x : seq) {
    const std::string name = std::string(arg) + "[" + std::to_string(out.size()) + "]";
    out.push_back(to_tensor(x, name.c_str()));
  }
  if (out.empty()) throw py::value_error(std::string(arg) + " is empty" + (hint.empty() ? "" : ": " + hint));
  return out;
}

IndexTensor to_index(py::handle obj, const char* arg) {
  py::array a = as_numpy(obj, arg);
  const char kind = a.dtype().kind();
  if (kind != 'i' && kind != 'u') {
    throw py::type_error(std::string(arg) + ": expected integers (token ids), got dtype " +
                         py::str(a.dtype()).cast<std::string>());
  }
  auto ids = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
  Shape shape(ids.shape(), ids.shape() + ids.ndim());
  return IndexTensor(std::vector<int64_t>(ids.data(), ids.data() + ids.size()), shape);
}

py::tuple shape_tuple(const Shape& s) {
  py::tuple t(s.size());
  for (size_t i = 0; i < s.size(); ++i) t[i] = s[i];
  return t;
}

py::array to_numpy(const Tensor& t) {
  if (!t.defined()) throw py::value_error("cannot convert an undefined Tensor to numpy");
  const std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  auto* owner = new Tensor(t);
  py::capsule base(owner, [](void* p) { delete static_cast<Tensor*>(p); });
  return py::array(py::dtype::of<float>(), shape, contiguous_strides(shape), const_cast<float*>(t.data()), base);
}

void check_rank(const Tensor& t, std::initializer_list<int64_t> ranks, const char* arg, const char* expected_shape) {
  for (int64_t r : ranks) {
    if (t.dim() == r) return;
  }
  std::ostringstream os;
  os << arg << ": expected shape " << expected_shape << ", got " << t.dim() << "-d " << shape_str(t.shape());
  throw py::value_error(os.str());
}

void bind_tensor(py::module_& m) {
  py::class_<Tensor>(m, "Tensor", py::buffer_protocol(), R"doc(
A float32 N-d array with autograd, like torch.Tensor (the library's attn::Tensor).

numpy views it without a copy (``numpy.asarray(t)`` or ``t.numpy()``); ``explore_attention.from_numpy(a)``
wraps a float32 C-contiguous array without a copy, ``explore_attention.tensor(x)`` copies.
)doc")
      .def_buffer([](Tensor& t) -> py::buffer_info {
        const std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
        return py::buffer_info(t.data(), sizeof(float), py::format_descriptor<float>::format(),
                               static_cast<py::ssize_t>(shape.size()), shape, contiguous_strides(shape));
      })
      .def_property_readonly("shape", [](const Tensor& t) { return shape_tuple(t.shape()); })
      .def_property_readonly("ndim", &Tensor::dim)
      .def("dim", &Tensor::dim)
      .def("numel", &Tensor::numel)
      .def(
          "size",
          [](const Tensor& t, py::object d) -> py::object {
            if (d.is_none()) return shape_tuple(t.shape());
            return py::int_(t.size(d.cast<int64_t>()));
          },
          py::arg("dim") = py::none())
      .def_property_readonly("dtype", [](const Tensor&) { return py::dtype::of<float>(); })
      .def(
          "numpy", [](const Tensor& t) { return to_numpy(t); }, "A numpy view of the data (no copy)")
      .def(
          "__array__",
          [](const Tensor& t, py::object dtype) -> py::object {
            py::array a = to_numpy(t);
            if (dtype.is_none()) return a;
            return a.attr("astype")(dtype);
          },
          py::arg("dtype") = py::none())
      .def("tolist", [](const Tensor& t) { return to_numpy(t).attr("tolist")(); })
      .def("item", &Tensor::item)
      .def("clone", &Tensor::clone)
      .def("detach", &Tensor::detach)
      .def_property("requires_grad", &Tensor::requires_grad, [](Tensor& t, bool on) { t.requires_grad_(on); })
      .def(
          "requires_grad_",
          [](Tensor& t, bool on) {
            t.requires_grad_(on);
            return t;
          },
          py::arg("requires_grad") = true)
      .def_property_readonly("grad",
                             [](const Tensor& t) -> py::object {
                               Tensor g = t.grad();
                               if (!g.defined()) return py::none();
                               return py::cast(g);
                             })
      .def_property_readonly("is_leaf", &Tensor::is_leaf)
      .def("retain_grad", &Tensor::retain_grad)
      .def("zero_grad", &Tensor::zero_grad, "Drops .grad (torch's set_to_none)")
      .def(
          "backward",
          [](const Tensor& t, py::object gradient, bool retain_graph) {
            Tensor g = to_tensor_or_none(gradient, "gradient");
            py::gil_scoped_release nogil;
            t.backward(g, retain_graph);
          },
          py::arg("gradient") = py::none(), py::arg("retain_graph") = false,
          "Reverse-mode autograd from this tensor (a scalar gets gradient 1); gradients accumulate in .grad")
      .def("reshape", [](const Tensor& t, const py::args& args) { return attn::reshape(t, shape_from_args(args)); })
      .def("view", [](const Tensor& t, const py::args& args) { return attn::reshape(t, shape_from_args(args)); })
      .def("transpose", [](const Tensor& t, int64_t a, int64_t b) { return attn::transpose(t, a, b); })
      .def("permute", [](const Tensor& t, const py::args& args) { return attn::permute(t, shape_from_args(args)); })
      .def(
          "sum", [](const Tensor& t, py::object dim, bool keepdim) { return reduce(t, dim, keepdim, false); },
          py::arg("dim") = py::none(), py::arg("keepdim") = false)
      .def(
          "mean", [](const Tensor& t, py::object dim, bool keepdim) { return reduce(t, dim, keepdim, true); },
          py::arg("dim") = py::none(), py::arg("keepdim") = false)
      .def(
          "softmax", [](const Tensor& t, int64_t dim) { return attn::softmax(t, dim); }, py::arg("dim"))
      .def("exp", [](const Tensor& t) { return attn::exp(t); })
      .def("log", [](const Tensor& t) { return attn::log(t); })
      .def("tanh", [](const Tensor& t) { return attn::tanh(t); })
      .def("relu", [](const Tensor& t) { return attn::relu(t); })
      .def("sigmoid", [](const Tensor& t) { return attn::sigmoid(t); })
      .def("__neg__", [](const Tensor& t) { return attn::neg(t); })
      .def("__add__",
           [](const Tensor& a, py::handle b) {
             if (is_number(b)) return attn::add(a, b.cast<float>());
             return attn::add(a, to_tensor(b, "other"));
           })
      .def("__radd__", [](const Tensor& a, float b) { return attn::add(a, b); })
      .def("__sub__",
           [](const Tensor& a, py::handle b) {
             if (is_number(b)) return attn::add(a, -b.cast<float>());
             return attn::sub(a, to_tensor(b, "other"));
           })
      .def("__rsub__", [](const Tensor& a, float b) { return attn::rsub(a, b); })
      .def("__mul__",
           [](const Tensor& a, py::handle b) {
             if (is_number(b)) return attn::mul(a, b.cast<float>());
             return attn::mul(a, to_tensor(b, "other"));
           })
      .def("__rmul__", [](const Tensor& a, float b) { return attn::mul(a, b); })
      .def("__truediv__",
           [](const Tensor& a, py::handle b) {
             if (is_number(b)) return attn::mul(a, 1.f / b.cast<float>());
             return attn::div(a, to_tensor(b, "other"));
           })
      .def("__matmul__", [](const Tensor& a, py::handle b) { return attn::matmul(a, to_tensor(b, "other")); })
      .def("__len__",
           [](const Tensor& t) {
             if (t.dim() == 0) throw py::type_error("len() of a 0-d tensor");
             return t.size(0);
           })
      .def("__repr__", [](const Tensor& t) { return t.defined() ? t.to_string() : std::string("Tensor(undefined)"); });

  m.def(
      "tensor",
      [](py::handle data, bool requires_grad) {
        Tensor src = to_tensor(data, "data");
        Tensor t = src.clone();
        if (requires_grad) t.requires_grad_(true);
        return t;
      },
      py::arg("data"), py::arg("requires_grad") = false, "A new tensor with a copy of `data` (like torch.tensor)");
  m.def(
      "from_numpy",
      [](py::array a) {
        if (!can_share(a)) {
          throw py::value_error(
              "from_numpy: needs a writeable, C-contiguous float32 array to share its memory, got dtype " +
              py::str(a.dtype()).cast<std::string>() + (a.flags() & py::array::c_style ? "" : ", not contiguous") +
              (a.writeable() ? "" : ", read-only") + "; use explore_attention.tensor(a) to copy");
        }
        return to_tensor(a, "array");
      },
      py::arg("array"), "A tensor sharing the array's memory (like torch.from_numpy)");
  m.def(
      "zeros", [](const std::vector<int64_t>& shape) { return Tensor::zeros(shape); }, py::arg("shape"));
  m.def(
      "ones", [](const std::vector<int64_t>& shape) { return Tensor::ones(shape); }, py::arg("shape"));
  m.def(
      "randn",
      [](const std::vector<int64_t>& shape, uint64_t seed, bool requires_grad) {
        Generator gen(seed);
        Tensor t = Tensor::randn(shape, gen);
        if (requires_grad) t.requires_grad_(true);
        return t;
      },
      py::arg("shape"), py::arg("seed") = 0, py::arg("requires_grad") = false,
      "N(0, 1) samples from the library's PCG32");
  m.def(
      "matmul", [](py::handle a, py::handle b) { return attn::matmul(to_tensor(a, "input"), to_tensor(b, "other")); },
      py::arg("input"), py::arg("other"));
  m.def(
      "softmax", [](py::handle x, int64_t dim) { return attn::softmax(to_tensor(x, "input"), dim); }, py::arg("input"),
      py::arg("dim"));
}

}  // namespace attn::python
