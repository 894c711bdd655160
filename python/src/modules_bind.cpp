// nn.Module and the attention modules, with torch's names and state-dict keys, so that a torch module's
// state_dict() loads as is; an optimizer (AdamW) so a learner can train them from Python.
#include <pybind11/stl.h>

#include "attn/attention/masks.h"
#include "attn/attention/multihead.h"
#include "attn/attention/positional.h"
#include "attn/attention/scoring.h"
#include "attn/nn/layers.h"
#include "attn/nn/module.h"
#include "attn/nn/optim.h"
#include "attn/ops/ops.h"
#include "convert.h"

namespace attn::python {

namespace {

using nn::Module;

// {name: Tensor} from (name, tensor) pairs: named_parameters() and state_dict() alike.
template <class Pairs>
py::dict named_tensors(const Pairs& items) {
  py::dict d;
  for (const auto& [name, t] : items) d[py::str(name)] = t;
  return d;
}

nn::StateDict to_state_dict(const py::dict& d) {
  nn::StateDict sd;
  for (auto item : d) {
    const std::string name = py::str(item.first);
    sd.insert(name, to_tensor(item.second, name.c_str()));
  }
  return sd;
}

std::vector<Tensor> to_parameter_list(py::handle params) {
  std::vector<Tensor> out;
  for (py::handle p : params) {
    if (!py::isinstance<Tensor>(p)) {
      throw py::type_error("params: expected explore_attention Tensors (module.parameters()), got " +
                           py::str(py::type::of(p).attr("__name__")).cast<std::string>());
    }
    out.push_back(p.cast<Tensor>());
  }
  if (out.empty()) throw py::value_error("params is empty: nothing to optimize");
  return out;
}

// torch.nn.MultiheadAttention's bool attn_mask means True = may NOT attend (the opposite of
// scaled_dot_product_attention's); a float mask is added to the scores.
void set_mha_mask(nn::MhaForward& args, py::object attn_mask) {
  if (attn_mask.is_none()) return;
  Tensor m = to_tensor(attn_mask, "attn_mask");
  if (is_bool_array(attn_mask)) args.mask_bool(attn::rsub(m, 1.f));  // allowed = 1 - blocked
  else args.mask(m);
}

}  // namespace

void bind_modules(py::module_& m) {
  py::class_<Module, std::shared_ptr<Module>>(m, "Module", "Base class of the library's layers, like torch.nn.Module")
      .def(
          "named_parameters", [](const Module& mod) { return named_tensors(mod.named_parameters()); },
          "{dotted name: Tensor}, torch's names; the tensors are the module's own (live)")
      .def("parameters", [](const Module& mod) { return mod.parameters(); })
      .def(
          "state_dict", [](const Module& mod) { return named_tensors(mod.state_dict()); },
          "{name: Tensor} of parameters and buffers (sharing the module's memory, like torch)")
      .def(
          "load_state_dict",
          [](Module& mod, const py::dict& state, bool strict) {
            nn::LoadResult r = mod.load_state_dict(to_state_dict(state), strict);
            return py::make_tuple(r.missing_keys, r.unexpected_keys);
          },
          py::arg("state_dict"), py::arg("strict") = true,
          "Copies values in (numpy arrays, torch tensors — a torch module's state_dict() loads as is). Returns "
          "(missing_keys, unexpected_keys); strict raises ValueError naming them")
      .def(
          "train", [](Module& mod, bool on) { mod.train(on); }, py::arg("mode") = true)
      .def("eval", &Module::eval)
      .def_property_readonly("training", &Module::is_training)
      .def("zero_grad", &Module::zero_grad)
      .def("num_parameters", &Module::num_parameters)
      .def("__repr__", &Module::to_string);

  py::class_<nn::MultiheadAttention, Module, std::shared_ptr<nn::MultiheadAttention>>(m, "MultiheadAttention", R"doc(
torch.nn.MultiheadAttention: the same constructor, forward arguments, results and state-dict names.
query (L, B, E), key (S, B, kdim), value (S, B, vdim) — (B, L, E)… with batch_first=True.
forward returns (output, weights): weights (B, L, S) averaged over heads, (B, H, L, S) with
average_attn_weights=False, None with need_weights=False. A bool attn_mask means True = may NOT attend
(torch's MHA convention); key_padding_mask (B, S): True = padding.
)doc")
      .def(py::init([](int64_t embed_dim, int64_t num_heads, float dropout, bool bias, std::optional<int64_t> kdim,
                       std::optional<int64_t> vdim, bool batch_first, uint64_t seed) {
             Generator gen(seed);
             nn::MultiheadAttentionOptions o;
             o.with_bias(bias)
                 .with_kdim(kdim.value_or(0))
                 .with_vdim(vdim.value_or(0))
                 .with_batch_first(batch_first)
                 .with_dropout(dropout);
             return std::make_shared<nn::MultiheadAttention>(embed_dim, num_heads, gen, o);
           }),
           py::arg("embed_dim"), py::arg("num_heads"), py::arg("dropout") = 0.f, py::arg("bias") = true,
           py::arg("kdim") = py::none(), py::arg("vdim") = py::none(), py::arg("batch_first") = false,
           py::arg("seed") = 0)
      .def(
          "forward",
          [](nn::MultiheadAttention& mha, py::handle query, py::handle key, py::handle value,
             py::object key_padding_mask, bool need_weights, py::object attn_mask, bool average_attn_weights,
             bool is_causal) {
            nn::MhaForward args;
            args.padding(to_tensor_or_none(key_padding_mask, "key_padding_mask"))
                .weights(need_weights)
                .average(average_attn_weights)
                .causal(is_causal);
            set_mha_mask(args, attn_mask);
            Tensor q = to_tensor(query, "query"), k = to_tensor(key, "key"), v = to_tensor(value, "value");
            AttentionOutput r;
            {
              py::gil_scoped_release nogil;
              r = mha.forward(q, k, v, args);
            }
            return py::make_tuple(r.output, r.weights.defined() ? py::cast(r.weights) : py::none());
          },
          py::arg("query"), py::arg("key"), py::arg("value"), py::arg("key_padding_mask") = py::none(),
          py::arg("need_weights") = true, py::arg("attn_mask") = py::none(), py::arg("average_attn_weights") = true,
          py::arg("is_causal") = false)
      .def("__call__", &call_forward)
      .def_readonly("embed_dim", &nn::MultiheadAttention::embed_dim)
      .def_readonly("num_heads", &nn::MultiheadAttention::num_heads)
      .def_readonly("head_dim", &nn::MultiheadAttention::head_dim)
      .def_readonly("batch_first", &nn::MultiheadAttention::batch_first);

  py::class_<nn::GroupedQueryAttention, Module, std::shared_ptr<nn::GroupedQueryAttention>>(m, "GroupedQueryAttention",
                                                                                            R"doc(
Grouped-query self-attention (Ainslie et al. 2023): num_heads query heads share num_kv_heads key/value heads
(1 = multi-query attention). Projections q_proj, k_proj, v_proj, o_proj (Llama's names).
forward(x (B, T, E)) -> (output (B, T, E), weights (B, H, T, T) or None).
)doc")
      .def(py::init([](int64_t embed_dim, int64_t num_heads, int64_t num_kv_heads, bool bias, uint64_t seed) {
             Generator gen(seed);
             return std::make_shared<nn::GroupedQueryAttention>(embed_dim, num_heads, num_kv_heads, gen, bias);
           }),
           py::arg("embed_dim"), py::arg("num_heads"), py::arg("num_kv_heads"), py::arg("bias") = false,
           py::arg("seed") = 0)
      .def(
          "forward",
          [](nn::GroupedQueryAttention& gqa, py::handle x, bool is_causal, py::object attn_mask,
             py::object key_padding_mask, bool need_weights) {
            nn::GqaForward args;
            args.causal(is_causal).weights(need_weights);
            if (!attn_mask.is_none()) {
              Tensor mask = to_tensor(attn_mask, "attn_mask");
              args.mask(is_bool_array(attn_mask) ? to_additive_mask(mask) : mask);
            }
            args.padding(to_tensor_or_none(key_padding_mask, "key_padding_mask"));
            Tensor input = to_tensor(x, "x");
            check_rank(input, {3}, "x", "(B, T, E)");
            AttentionOutput r;
            {
              py::gil_scoped_release nogil;
              r = gqa.forward(input, args);
            }
            return py::make_tuple(r.output, r.weights.defined() ? py::cast(r.weights) : py::none());
          },
          py::arg("x"), py::arg("is_causal") = true, py::arg("attn_mask") = py::none(),
          py::arg("key_padding_mask") = py::none(), py::arg("need_weights") = false)
      .def("__call__", &call_forward)
      .def_readonly("num_heads", &nn::GroupedQueryAttention::num_heads)
      .def_readonly("num_kv_heads", &nn::GroupedQueryAttention::num_kv_heads)
      .def_readonly("head_dim", &nn::GroupedQueryAttention::head_dim);

  py::class_<nn::AdditiveAttention, Module, std::shared_ptr<nn::AdditiveAttention>>(
      m, "AdditiveAttention",
      "Bahdanau et al. 2015: score = v_aᵀ tanh(W_a q + U_a k). forward(query (B, L, Dq), key (B, S, Dk), value "
      "(B, S, Dv), mask (B, L, S) or (B, S), 1 = may attend) -> (context (B, L, Dv), weights (B, L, S))")
      .def(py::init([](int64_t query_dim, int64_t key_dim, int64_t attn_dim, uint64_t seed) {
             Generator gen(seed);
             return std::make_shared<nn::AdditiveAttention>(query_dim, key_dim, attn_dim, gen);
           }),
           py::arg("query_dim"), py::arg("key_dim"), py::arg("attn_dim"), py::arg("seed") = 0)
      .def(
          "forward",
          [](nn::AdditiveAttention& a, py::handle q, py::handle k, py::handle v, py::object mask) {
            Attended r = a.forward(to_tensor(q, "query"), to_tensor(k, "key"), to_tensor(v, "value"),
                                   to_tensor_or_none(mask, "mask"));
            return py::make_tuple(r.context, r.weights);
          },
          py::arg("query"), py::arg("key"), py::arg("value"), py::arg("mask") = py::none())
      .def("__call__", &call_forward);

  py::class_<nn::LuongAttention, Module, std::shared_ptr<nn::LuongAttention>>(
      m, "LuongAttention",
      "Luong et al. 2015: score 'dot' (qᵀk), 'general' (qᵀ W_a k) or 'concat' (v_aᵀ tanh(W_a [q; k])). Same forward "
      "as AdditiveAttention")
      .def(py::init([](const std::string& score, int64_t query_dim, int64_t key_dim, int64_t attn_dim, uint64_t seed) {
             Generator gen(seed);
             return std::make_shared<nn::LuongAttention>(score, query_dim, key_dim, gen, attn_dim);
           }),
           py::arg("score"), py::arg("query_dim"), py::arg("key_dim"), py::arg("attn_dim") = 0, py::arg("seed") = 0)
      .def(
          "forward",
          [](nn::LuongAttention& a, py::handle q, py::handle k, py::handle v, py::object mask) {
            Attended r = a.forward(to_tensor(q, "query"), to_tensor(k, "key"), to_tensor(v, "value"),
                                   to_tensor_or_none(mask, "mask"));
            return py::make_tuple(r.context, r.weights);
          },
          py::arg("query"), py::arg("key"), py::arg("value"), py::arg("mask") = py::none())
      .def("__call__", &call_forward)
      .def_property_readonly("score", &nn::LuongAttention::score);

  py::class_<nn::RotaryEmbedding, Module, std::shared_ptr<nn::RotaryEmbedding>>(
      m, "RotaryEmbedding",
      "RoPE with its tables computed once (Hugging Face's LlamaRotaryEmbedding): forward(x (..., T, D), start=0)")
      .def(py::init<int64_t, int64_t, float, bool>(), py::arg("head_dim"), py::arg("max_position_embeddings") = 2048,
           py::arg("base") = 10000.f, py::arg("interleaved") = false)
      .def(
          "forward",
          [](const nn::RotaryEmbedding& r, py::handle x, int64_t start) { return r.forward(to_tensor(x, "x"), start); },
          py::arg("x"), py::arg("start") = 0)
      .def("__call__", &call_forward);

  py::class_<nn::Linear, Module, std::shared_ptr<nn::Linear>>(m, "Linear", "torch.nn.Linear: y = x Wᵀ + b")
      .def(py::init([](int64_t in_features, int64_t out_features, bool bias, uint64_t seed) {
             Generator gen(seed);
             return std::make_shared<nn::Linear>(in_features, out_features, gen, bias);
           }),
           py::arg("in_features"), py::arg("out_features"), py::arg("bias") = true, py::arg("seed") = 0)
      .def(
          "forward", [](nn::Linear& l, py::handle x) { return l.forward(to_tensor(x, "input")); }, py::arg("input"))
      .def("__call__", &call_forward);

  py::class_<nn::Optimizer>(m, "Optimizer")
      .def("step",
           [](nn::Optimizer& o) {
             py::gil_scoped_release nogil;
             o.step();
           })
      .def("zero_grad", &nn::Optimizer::zero_grad)
      .def_property("lr", &nn::Optimizer::lr, &nn::Optimizer::set_lr);
  py::class_<nn::AdamW, nn::Optimizer>(m, "AdamW", "torch.optim.AdamW (decoupled weight decay)")
      .def(py::init([](py::handle params, float lr, std::pair<float, float> betas, float eps, float weight_decay) {
             nn::AdamWOptions o(lr);
             o.betas(betas.first, betas.second).eps(eps).weight_decay(weight_decay);
             return std::make_unique<nn::AdamW>(to_parameter_list(params), o);
           }),
           py::arg("params"), py::arg("lr") = 1e-3f, py::arg("betas") = std::pair<float, float>(0.9f, 0.999f),
           py::arg("eps") = 1e-8f, py::arg("weight_decay") = 1e-2f);
  m.def(
      "clip_grad_norm_",
      [](py::handle params, float max_norm) { return nn::clip_grad_norm_(to_parameter_list(params), max_norm); },
      py::arg("params"), py::arg("max_norm"), "torch.nn.utils.clip_grad_norm_: returns the norm before clipping");
}

}  // namespace attn::python
