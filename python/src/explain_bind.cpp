// explore_attention.explain: the analysis maths behind the explorer's views (attn/explain), model-agnostic.
#include <pybind11/stl.h>

#include "attn/explain/head_types.h"
#include "attn/explain/rollout.h"
#include "convert.h"

namespace attn::python {

void bind_explain(py::module_& parent) {
  py::module_ m = parent.def_submodule("explain", "Attention rollout and head-type scores (attn/explain)");
  m.def(
      "mean_heads", [](py::handle a) { return explain::mean_heads(to_tensor(a, "attention")); }, py::arg("attention"),
      "(…, H, T, T) -> (…, T, T): the mean over heads");
  m.def(
      "attention_rollout",
      [](py::handle layers) {
        return explain::attention_rollout(
            to_tensor_list(layers, "attentions", "give one (…, H, T, T) per layer, bottom first"));
      },
      py::arg("attentions"),
      "Abnar & Zuidema 2020: R = Â_{L-1} ⋯ Â_0 with Â = rownorm(½·mean_heads(A) + ½·I); one (…, H, T, T) per layer, "
      "bottom first -> (…, T, T)");
  m.def("repeated_random_tokens", &explain::repeated_random_tokens, py::arg("n"), py::arg("vocab_size"),
        py::arg("seed") = 1234,
        "The head-type probe: n random ids, then the same n again (the explorer's /api/head_types)");
  m.def(
      "head_type_scores",
      [](py::handle attention, int64_t n) {
        Tensor a = to_tensor(attention, "attention");
        std::vector<py::dict> out;
        for (const explain::HeadTypeScores& s : explain::head_type_scores(a, n)) {
          py::dict d;
          d["previous_token"] = s.previous_token;
          d["first_token"] = s.first_token;
          d["induction"] = s.induction;
          const char* label = explain::head_type_label(s);
          d["type"] = label ? py::object(py::str(label)) : py::object(py::none());
          out.push_back(d);
        }
        return out;
      },
      py::arg("attention"), py::arg("n"),
      "Scores of each (T, T) map in `attention` (e.g. one layer's (H, T, T)) recorded on a sequence repeating with "
      "period "
      "n: previous-token, first-token, induction, and the type when one reaches 0.4");
}

}  // namespace attn::python
