// The differentiable building blocks a learner needs to write a model in Python (torch.nn.functional's names):
// linear, embedding, layer_norm, gelu, dropout, log_softmax, cross_entropy, cat; and the LayerNorm and
// Embedding modules.
#include <pybind11/stl.h>

#include "attn/nn/layers.h"
#include "attn/nn/rnn.h"
#include "attn/ops/ops.h"
#include "convert.h"

namespace attn::python {

void bind_ops(py::module_& m) {
  m.def(
      "linear",
      [](py::handle x, py::handle weight, py::object bias) {
        return linear(to_tensor(x, "input"), to_tensor(weight, "weight"), to_tensor_or_none(bias, "bias"));
      },
      py::arg("input"), py::arg("weight"), py::arg("bias") = py::none(), "x Wᵀ + b: (…, in), (out, in) -> (…, out)");
  m.def(
      "embedding",
      [](py::handle ids, py::handle weight) { return embedding(to_index(ids, "input"), to_tensor(weight, "weight")); },
      py::arg("input"), py::arg("weight"), "Rows of weight (V, D) for integer ids of any shape -> (*ids.shape, D)");
  m.def(
      "layer_norm",
      [](py::handle x, std::vector<int64_t> normalized_shape, py::object weight, py::object bias, float eps) {
        return layer_norm(to_tensor(x, "input"), normalized_shape, to_tensor_or_none(weight, "weight"),
                          to_tensor_or_none(bias, "bias"), eps);
      },
      py::arg("input"), py::arg("normalized_shape"), py::arg("weight") = py::none(), py::arg("bias") = py::none(),
      py::arg("eps") = 1e-5f);
  m.def(
      "gelu", [](py::handle x, const std::string& approximate) { return gelu(to_tensor(x, "input"), approximate); },
      py::arg("input"), py::arg("approximate") = "none", "GELU: exact (erf) or approximate='tanh'");
  m.def(
      "relu", [](py::handle x) { return relu(to_tensor(x, "input")); }, py::arg("input"));
  m.def(
      "log_softmax", [](py::handle x, int64_t dim) { return log_softmax(to_tensor(x, "input"), dim); },
      py::arg("input"), py::arg("dim"));
  m.def(
      "dropout",
      [](py::handle x, float p, bool training, uint64_t seed) {
        if (p < 0.f || p >= 1.f) throw py::value_error("p must be in [0, 1), got " + std::to_string(p));
        Generator gen(seed, 29);
        return dropout(to_tensor(x, "input"), p, training, &gen);
      },
      py::arg("input"), py::arg("p") = 0.5f, py::arg("training") = true, py::arg("seed") = 0);
  m.def(
      "cross_entropy",
      [](py::handle logits, py::handle target, int64_t ignore_index, float label_smoothing,
         const std::string& reduction) {
        CrossEntropyOptions o;
        o.ignore(ignore_index).smoothing(label_smoothing).reduce(reduction);
        return cross_entropy(to_tensor(logits, "input"), to_index(target, "target"), o);
      },
      py::arg("input"), py::arg("target"), py::arg("ignore_index") = -100, py::arg("label_smoothing") = 0.f,
      py::arg("reduction") = "mean", "logits (N, C), target (N) class ids, as torch.nn.functional.cross_entropy");
  m.def(
      "mse_loss",
      [](py::handle a, py::handle b, const std::string& reduction) {
        return mse_loss(to_tensor(a, "input"), to_tensor(b, "target"), reduction);
      },
      py::arg("input"), py::arg("target"), py::arg("reduction") = "mean");
  m.def(
      "cat", [](py::handle tensors, int64_t dim) { return concat(to_tensor_list(tensors, "tensors"), dim); },
      py::arg("tensors"), py::arg("dim") = 0);
  m.def(
      "stack", [](py::handle tensors, int64_t dim) { return stack(to_tensor_list(tensors, "tensors"), dim); },
      py::arg("tensors"), py::arg("dim") = 0);

  py::class_<nn::LayerNorm, nn::Module, std::shared_ptr<nn::LayerNorm>>(m, "LayerNorm",
                                                                        "torch.nn.LayerNorm over the last dim")
      .def(py::init<int64_t, float, bool, bool>(), py::arg("normalized_shape"), py::arg("eps") = 1e-5f,
           py::arg("elementwise_affine") = true, py::arg("bias") = true)
      .def(
          "forward", [](nn::LayerNorm& l, py::handle x) { return l.forward(to_tensor(x, "input")); }, py::arg("input"))
      .def("__call__", &call_forward);
  py::class_<nn::GRU, nn::Module, std::shared_ptr<nn::GRU>>(
      m, "GRU",
      "torch.nn.GRU (the same state-dict names): forward(input (T, B, I) or (B, T, I) with batch_first, h0 (L·D, B, H) "
      "or None) -> (output, h_n)")
      .def(py::init([](int64_t input_size, int64_t hidden_size, int64_t num_layers, bool bias, bool batch_first,
                       float dropout, bool bidirectional, uint64_t seed) {
             Generator gen(seed);
             nn::RNNOptions o;
             o.num_layers(num_layers).bias(bias).batch_first(batch_first).dropout(dropout).bidirectional(bidirectional);
             return std::make_shared<nn::GRU>(input_size, hidden_size, gen, o);
           }),
           py::arg("input_size"), py::arg("hidden_size"), py::arg("num_layers") = 1, py::arg("bias") = true,
           py::arg("batch_first") = false, py::arg("dropout") = 0.f, py::arg("bidirectional") = false,
           py::arg("seed") = 0)
      .def(
          "forward",
          [](nn::GRU& g, py::handle input, py::object h0) {
            Tensor x = to_tensor(input, "input"), h = to_tensor_or_none(h0, "h0");
            nn::GRUOutput r;
            {
              py::gil_scoped_release nogil;
              r = g.forward(x, h);
            }
            return py::make_tuple(r.output, r.h_n);
          },
          py::arg("input"), py::arg("h0") = py::none())
      .def("__call__", &call_forward);
  py::class_<nn::Embedding, nn::Module, std::shared_ptr<nn::Embedding>>(m, "Embedding", "torch.nn.Embedding")
      .def(py::init([](int64_t num_embeddings, int64_t embedding_dim, int64_t padding_idx, uint64_t seed) {
             Generator gen(seed);
             return std::make_shared<nn::Embedding>(num_embeddings, embedding_dim, gen, padding_idx);
           }),
           py::arg("num_embeddings"), py::arg("embedding_dim"), py::arg("padding_idx") = -1, py::arg("seed") = 0)
      .def(
          "forward", [](nn::Embedding& e, py::handle ids) { return e.forward(to_index(ids, "input")); },
          py::arg("input"))
      .def("__call__", &call_forward);
}

}  // namespace attn::python
