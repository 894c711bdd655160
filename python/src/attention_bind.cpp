// The attention functions: scaled dot-product attention (composed and fused), the fused kernel's own entry
// points (with the log-sum-exp, weights from it, single-query decode), masks, positions, linear attention and
// the classic score functions. Names and argument order follow torch.nn.functional where torch has the function.
#include <pybind11/stl.h>

#include <optional>

#include "attn/attention/flash.h"
#include "attn/attention/kv_cache.h"
#include "attn/attention/linear_attention.h"
#include "attn/attention/masks.h"
#include "attn/attention/positional.h"
#include "attn/attention/scoring.h"
#include "attn/attention/sdpa.h"
#include "convert.h"

namespace attn::python {

namespace {

// The masks and options every attention entry point takes, in torch's conventions:
//   attn_mask: bool (True = may attend, as torch's scaled_dot_product_attention) or float (added to the scores);
//   key_padding_mask: (B, S), True / 1 = a padding key that no query sees.
struct Masks {
  py::object attn_mask = py::none();
  py::object key_padding_mask = py::none();
  bool is_causal = false;
  int64_t window = 0;
  std::optional<float> scale;
};

SdpaOptions to_options(const Masks& m) {
  SdpaOptions o;
  if (!m.attn_mask.is_none()) {
    if (is_bool_array(m.attn_mask)) o.attn_mask_bool = to_tensor(m.attn_mask, "attn_mask");
    else o.attn_mask = to_tensor(m.attn_mask, "attn_mask");
  }
  if (!m.key_padding_mask.is_none()) o.key_padding_mask = to_tensor(m.key_padding_mask, "key_padding_mask");
  if (m.window < 0)
    throw py::value_error("window must be >= 0 (0 = no sliding window), got " + std::to_string(m.window));
  o.is_causal = m.is_causal;
  o.window = m.window;
  o.scale = m.scale;
  return o;
}

struct Qkv {
  Tensor q, k, v;
};

Qkv qkv(py::handle query, py::handle key, py::handle value) {
  Qkv r{to_tensor(query, "query"), to_tensor(key, "key"), to_tensor(value, "value")};
  check_rank(r.q, {3, 4}, "query", "(B, H, L, D) or (B, L, D)");
  check_rank(r.k, {3, 4}, "key", "(B, Hkv, S, D) or (B, S, D)");
  check_rank(r.v, {3, 4}, "value", "(B, Hkv, S, Dv) or (B, S, Dv)");
  return r;
}

py::object sdpa(py::handle query, py::handle key, py::handle value, py::object attn_mask, float dropout_p,
                bool is_causal, std::optional<float> scale, py::object key_padding_mask, int64_t window,
                bool need_weights, const std::string& implementation, uint64_t seed) {
  if (dropout_p < 0.f || dropout_p >= 1.f)
    throw py::value_error("dropout_p must be in [0, 1), got " + std::to_string(dropout_p));
  if (implementation != "auto" && implementation != "math" && implementation != "flash") {
    throw py::value_error("implementation must be 'auto', 'math' or 'flash', got '" + implementation + "'");
  }
  Qkv in = qkv(query, key, value);
  SdpaOptions o = to_options({attn_mask, key_padding_mask, is_causal, window, scale});
  Generator gen(seed, 23);
  o.dropout(dropout_p, &gen).weights(need_weights);
  if (implementation == "flash" && !flash_supported(in.q, in.k, in.v, o)) {
    throw py::value_error(
        "implementation='flash': the fused kernel cannot serve this call (it takes no dropout, no mask that "
        "requires grad, and returns weights only without autograd); use 'auto' or 'math'");
  }
  AttentionOutput r;
  {
    py::gil_scoped_release nogil;
    if (implementation == "math") r = scaled_dot_product_attention_math(in.q, in.k, in.v, o);
    else if (implementation == "flash") r = flash_attention(in.q, in.k, in.v, o);
    else r = scaled_dot_product_attention(in.q, in.k, in.v, o);
  }
  if (need_weights) return py::make_tuple(r.output, r.weights);
  return py::cast(r.output);
}

}  // namespace

void bind_attention(py::module_& m) {
  m.def("scaled_dot_product_attention", &sdpa, py::arg("query"), py::arg("key"), py::arg("value"),
        py::arg("attn_mask") = py::none(), py::arg("dropout_p") = 0.f, py::arg("is_causal") = false,
        py::arg("scale") = py::none(), py::kw_only(), py::arg("key_padding_mask") = py::none(), py::arg("window") = 0,
        py::arg("need_weights") = false, py::arg("implementation") = "auto", py::arg("seed") = 0,
        R"doc(
softmax(Q Kᵀ · scale + M) V, as torch.nn.functional.scaled_dot_product_attention.

query (B, H, L, D) or (B, L, D); key (B, Hkv, S, D), value (B, Hkv, S, Dv): grouped-query attention when
Hkv divides H. attn_mask: bool (True = may attend) or float (added to the scores), broadcastable to
(B, H, L, S). is_causal: query i sees keys j <= i + S - L. key_padding_mask (B, S): True = padding.
window > 0: sliding window (causal, at most `window` keys back). implementation: 'auto' (the fused kernel
whenever it can serve the call, else the composed path), 'math' (the composed path, op by op) or 'flash'.
Returns the output (B, H, L, Dv), and with need_weights=True also the weights (B, H, L, S).
Differentiable: call .backward() on a loss of the output.
)doc");

  m.def(
      "flash_attention",
      [](py::handle query, py::handle key, py::handle value, py::object attn_mask, bool is_causal,
         std::optional<float> scale, py::object key_padding_mask, int64_t window) {
        Qkv in = qkv(query, key, value);
        SdpaOptions o = to_options({attn_mask, key_padding_mask, is_causal, window, scale});
        if (!flash_supported(in.q, in.k, in.v, o)) {
          throw py::value_error(
              "flash_attention: the fused kernel cannot serve this call (a mask that requires grad?)");
        }
        FlashOutput r;
        {
          py::gil_scoped_release nogil;
          r = flash_attention_with_lse(in.q, in.k, in.v, o);
        }
        return py::make_tuple(r.output, r.lse);
      },
      py::arg("query"), py::arg("key"), py::arg("value"), py::arg("attn_mask") = py::none(),
      py::arg("is_causal") = false, py::arg("scale") = py::none(), py::kw_only(),
      py::arg("key_padding_mask") = py::none(), py::arg("window") = 0,
      R"doc(
The fused exact attention kernel (FlashAttention's online softmax, tiled): returns (output (B, H, L, Dv),
lse (B, H, L)), the row log-sum-exp that its backward pass and attention_weights_from_lse use.
Differentiable through the output (the backward recomputes the tiles from lse).
)doc");

  m.def(
      "attention_weights_from_lse",
      [](py::handle query, py::handle key, py::handle lse, std::vector<int64_t> rows, py::object attn_mask,
         bool is_causal, std::optional<float> scale, py::object key_padding_mask, int64_t window) {
        Tensor q = to_tensor(query, "query"), k = to_tensor(key, "key"), l = to_tensor(lse, "lse");
        SdpaOptions o = to_options({attn_mask, key_padding_mask, is_causal, window, scale});
        py::gil_scoped_release nogil;
        return attention_weights_from_lse(q, k, l, rows, o);
      },
      py::arg("query"), py::arg("key"), py::arg("lse"), py::arg("rows"), py::arg("attn_mask") = py::none(),
      py::arg("is_causal") = false, py::arg("scale") = py::none(), py::kw_only(),
      py::arg("key_padding_mask") = py::none(), py::arg("window") = 0,
      "The weights (B, H, len(rows), S) of chosen query rows, from flash_attention's lse");

  m.def(
      "flash_decode",
      [](py::handle query, py::handle k_cache, py::handle v_cache, int64_t length, std::optional<float> scale,
         int64_t window) {
        Tensor q = to_tensor(query, "query"), k = to_tensor(k_cache, "k_cache"), v = to_tensor(v_cache, "v_cache");
        check_rank(q, {4}, "query", "(B, H, 1, D)");
        check_rank(k, {4}, "k_cache", "(B, Hkv, capacity, D)");
        check_rank(v, {4}, "v_cache", "(B, Hkv, capacity, Dv)");
        if (length < 1 || length > k.size(2)) {
          throw py::value_error("length must be in [1, " + std::to_string(k.size(2)) +
                                "] (the cache's capacity), got " + std::to_string(length));
        }
        SdpaOptions o;
        o.scale = scale;
        o.window = window;
        py::gil_scoped_release nogil;
        return flash_decode(q, k, v, length, o);
      },
      py::arg("query"), py::arg("k_cache"), py::arg("v_cache"), py::arg("length"), py::arg("scale") = py::none(),
      py::arg("window") = 0,
      "One query per head (B, H, 1, D) against the first `length` cached keys/values: split-KV across threads, merged "
      "exactly; no gradient. Returns (B, H, 1, Dv)");

  // ---- KV cache -------------------------------------------------------------------------------------------
  py::class_<KVCache, std::shared_ptr<KVCache>>(m, "KVCache", R"doc(
The keys and values of the tokens so far, for decoding one token at a time (attn/attention/kv_cache.h):
preallocated for `max_len` tokens, (B, Hkv, max_len, D) each, like Hugging Face's StaticCache.
    cache = ea.KVCache(batch=1, num_kv_heads=2, max_len=64, head_dim=16)
    out = ea.attention_with_kv_cache(q_t, k_t, v_t, cache)   # append this step's k, v; attend to all so far
)doc")
      .def(py::init([](int64_t batch, int64_t num_kv_heads, int64_t max_len, int64_t head_dim, int64_t v_head_dim) {
             for (const auto& [name, v] : {std::pair<const char*, int64_t>{"batch", batch},
                                           {"num_kv_heads", num_kv_heads},
                                           {"max_len", max_len},
                                           {"head_dim", head_dim}})
               if (v < 1) throw py::value_error(std::string(name) + " must be >= 1, got " + std::to_string(v));
             if (v_head_dim == 0 || v_head_dim < -1)
               throw py::value_error("v_head_dim must be >= 1 (or -1: head_dim), got " + std::to_string(v_head_dim));
             return std::make_shared<KVCache>(batch, num_kv_heads, max_len, head_dim, v_head_dim);
           }),
           py::arg("batch"), py::arg("num_kv_heads"), py::arg("max_len"), py::arg("head_dim"),
           py::arg("v_head_dim") = -1)
      .def(
          "append",
          [](KVCache& c, py::handle key, py::handle value) {
            const KVCache::Entries e = c.append(to_tensor(key, "key"), to_tensor(value, "value"));
            return py::make_tuple(e.key, e.value);
          },
          py::arg("key"), py::arg("value"),
          "Stores t new keys (B, Hkv, t, D) and values (B, Hkv, t, Dv); returns every cached key and value")
      .def("keys", &KVCache::keys, "(B, Hkv, size, D), a copy")
      .def("values", &KVCache::values, "(B, Hkv, size, Dv), a copy")
      .def("reset", &KVCache::reset, "Forget every token (the buffers stay allocated)")
      .def("truncate", &KVCache::truncate, py::arg("n"), "Forget all but the first n tokens")
      .def("__len__", &KVCache::size)
      .def_property_readonly("size", &KVCache::size, "tokens cached")
      .def_property_readonly("capacity", &KVCache::capacity, "tokens it can hold")
      .def_property_readonly("bytes", &KVCache::bytes, "bytes of its two float32 buffers")
      .def("__repr__",
           [](const KVCache& c) {
             return "KVCache(batch=" + std::to_string(c.batch) + ", num_kv_heads=" + std::to_string(c.num_kv_heads) +
                    ", size=" + std::to_string(c.size()) + "/" + std::to_string(c.capacity()) +
                    ", head_dim=" + std::to_string(c.head_dim) + ")";
           })
      .def_static("memory_bytes", &KVCache::memory_bytes, py::arg("num_layers"), py::arg("batch"),
                  py::arg("num_kv_heads"), py::arg("seq_len"), py::arg("head_dim"), py::arg("v_head_dim") = -1,
                  py::arg("bytes_per_element") = 4,
                  "2 · L · B · Hkv · T · D · bytes: what a whole model's caches take");
  m.def(
      "attention_with_kv_cache",
      [](py::handle query, py::handle key, py::handle value, KVCache& cache, std::optional<float> scale,
         bool need_weights) {
        Tensor q = to_tensor(query, "query"), k = to_tensor(key, "key"), v = to_tensor(value, "value");
        check_rank(q, {4}, "query", "(B, H, t, D)");
        check_rank(k, {4}, "key", "(B, Hkv, t, D)");
        check_rank(v, {4}, "value", "(B, Hkv, t, Dv)");
        SdpaOptions o;
        o.scale = scale;
        o.need_weights = need_weights;
        AttentionOutput a;
        {
          py::gil_scoped_release nogil;
          a = attention_with_kv_cache(q, k, v, cache, o);
        }
        if (!need_weights) return py::cast(a.output);
        return py::object(py::make_tuple(a.output, a.weights));
      },
      py::arg("query"), py::arg("key"), py::arg("value"), py::arg("cache"), py::arg("scale") = py::none(),
      py::arg("need_weights") = false,
      "One decoding step: appends key/value to `cache`, then the t new queries (at positions size..size+t-1) attend "
      "causally to every cached position. Returns (B, H, t, Dv) (and the weights (B, H, t, size) with need_weights); "
      "one new token without weights runs flash_decode on the cache in place");

  // ---- masks and positions --------------------------------------------------------------------------------
  // Masks come back as numpy bool arrays, so that passing one as attn_mask means "True = may attend" (a float
  // 0/1 mask would be *added* to the scores).
  m.def(
      "causal_mask", [](int64_t L, int64_t S) { return to_numpy(causal_mask(L, S)).attr("astype")("bool"); },
      py::arg("L"), py::arg("S"), "(L, S) bool: True where query i may see key j <= i + S - L");
  m.def(
      "sliding_window_mask",
      [](int64_t L, int64_t S, int64_t window) {
        return to_numpy(sliding_window_mask(L, S, window)).attr("astype")("bool");
      },
      py::arg("L"), py::arg("S"), py::arg("window"), "(L, S) bool: causal and at most `window` keys back");
  m.def(
      "key_padding_mask",
      [](const std::vector<int64_t>& lengths, int64_t S) {
        return to_numpy(key_padding_mask(lengths, S)).attr("astype")("bool");
      },
      py::arg("lengths"), py::arg("S"), "(B, S) bool: True for the padding keys past each sequence's length");
  m.def(
      "to_additive_mask", [](py::handle allowed) { return to_additive_mask(to_tensor(allowed, "allowed")); },
      py::arg("allowed"), "1 = allowed -> 0, 0 -> -inf");
  m.def("sinusoidal_encoding", &sinusoidal_encoding, py::arg("T"), py::arg("D"), py::arg("base") = 10000.f,
        "Vaswani et al.'s (T, D) sin/cos table");
  m.def("alibi_bias", &alibi_bias, py::arg("H"), py::arg("L"), py::arg("S"), "ALiBi's (H, L, S) linear biases");
  m.def("rope_frequencies", &rope_frequencies, py::arg("D"), py::arg("base") = 10000.f);
  m.def(
      "apply_rotary_embedding",
      [](py::handle x, int64_t start_pos, float base, bool interleaved) {
        Tensor t = to_tensor(x, "x");
        return apply_rotary_embedding(t, start_pos, base, interleaved);
      },
      py::arg("x"), py::arg("start_pos") = 0, py::arg("base") = 10000.f, py::arg("interleaved") = false,
      "RoPE on (..., T, D): pairs (i, i + D/2) rotated by position · θ_i (interleaved: pairs (2i, 2i+1))");

  // ---- linear attention and the classic scores -------------------------------------------------------------
  m.def(
      "linear_attention",
      [](py::handle query, py::handle key, py::handle value, bool causal, float eps) {
        Qkv in = qkv(query, key, value);
        py::gil_scoped_release nogil;
        return linear_attention(in.q, in.k, in.v, causal, eps);
      },
      py::arg("query"), py::arg("key"), py::arg("value"), py::arg("causal") = false, py::arg("eps") = 1e-6f,
      "Katharopoulos et al.'s linear attention with the elu(x)+1 feature map, O(T) in the sequence");
  m.def(
      "elu_feature_map", [](py::handle x) { return elu_feature_map(to_tensor(x, "x")); }, py::arg("x"));
  m.def(
      "dot_score", [](py::handle q, py::handle k) { return dot_score(to_tensor(q, "query"), to_tensor(k, "key")); },
      py::arg("query"), py::arg("key"), "Luong's dot score q·k: (B, L, D), (B, S, D) -> (B, L, S)");
  m.def(
      "scaled_dot_score",
      [](py::handle q, py::handle k) { return scaled_dot_score(to_tensor(q, "query"), to_tensor(k, "key")); },
      py::arg("query"), py::arg("key"), "q·k / √D: (B, L, D), (B, S, D) -> (B, L, S)");
  m.def(
      "general_score",
      [](py::handle q, py::handle k, py::handle W) {
        return general_score(to_tensor(q, "query"), to_tensor(k, "key"), to_tensor(W, "W_a"));
      },
      py::arg("query"), py::arg("key"), py::arg("W_a"), "Luong's general score qᵀ W_a k");
  m.def(
      "concat_score",
      [](py::handle q, py::handle k, py::handle W, py::handle v) {
        return concat_score(to_tensor(q, "query"), to_tensor(k, "key"), to_tensor(W, "W_a"), to_tensor(v, "v_a"));
      },
      py::arg("query"), py::arg("key"), py::arg("W_a"), py::arg("v_a"), "Luong's concat score v_aᵀ tanh(W_a [q; k])");
  m.def(
      "additive_score",
      [](py::handle q, py::handle k, py::handle W, py::handle U, py::handle v) {
        return additive_score(to_tensor(q, "query"), to_tensor(k, "key"), to_tensor(W, "W_a"), to_tensor(U, "U_a"),
                              to_tensor(v, "v_a"));
      },
      py::arg("query"), py::arg("key"), py::arg("W_a"), py::arg("U_a"), py::arg("v_a"),
      "Bahdanau's additive score v_aᵀ tanh(W_a q + U_a k)");
  m.def(
      "attend",
      [](py::handle scores, py::handle value, py::object mask) {
        Attended a = attend(to_tensor(scores, "scores"), to_tensor(value, "value"), to_tensor_or_none(mask, "mask"));
        return py::make_tuple(a.context, a.weights);
      },
      py::arg("scores"), py::arg("value"), py::arg("mask") = py::none(),
      "softmax over the scores (mask: 1 = may attend) then the weighted sum: returns (context, weights)");
  m.def(
      "repeat_kv", [](py::handle x, int64_t groups) { return repeat_kv(to_tensor(x, "x"), groups); }, py::arg("x"),
      py::arg("groups"), "(…, Hkv, S, D) -> (…, Hkv·groups, S, D): grouped-query attention's sharing made explicit");
}

}  // namespace attn::python
