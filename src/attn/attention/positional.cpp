#include "attn/attention/positional.h"

#include <cmath>
#include <sstream>

#include "attn/core/error.h"
#include "attn/ops/ops.h"

namespace attn {

// ---- sinusoidal -------------------------------------------------------------------------------------

Tensor sinusoidal_encoding(int64_t T, int64_t D, float base) {
  ATTN_CHECK(T >= 0 && D >= 0, "sinusoidal_encoding", "sizes must be non-negative, got T=" << T << ", D=" << D);
  ATTN_CHECK(base > 0.f, "sinusoidal_encoding", "base must be positive, got " << base);
  Tensor pe = Tensor::empty({T, D});  // (T, D)
  float* p = pe.data();
  for (int64_t c = 0; c < D; ++c) {
    const int64_t two_i = c - c % 2;  // columns 2i (sin) and 2i+1 (cos) share the frequency 1/base^(2i/D)
    const double inv_freq = std::pow(static_cast<double>(base), -static_cast<double>(two_i) / static_cast<double>(D));
    for (int64_t t = 0; t < T; ++t) {
      const double angle = static_cast<double>(t) * inv_freq;
      p[t * D + c] = static_cast<float>(c % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
  }
  return pe;
}

// ---- rotary -----------------------------------------------------------------------------------------

namespace {

void check_rope_dim(int64_t D, const char* op) {
  ATTN_CHECK(D > 0 && D % 2 == 0, op,
             "head dim D = " << D << " must be positive and even: RoPE rotates the features in pairs");
}

// θ_i = base^(-2i/D), in double.
std::vector<double> inv_frequencies(int64_t D, float base) {
  std::vector<double> f(D / 2);
  for (int64_t i = 0; i < D / 2; ++i)
    f[i] = std::pow(static_cast<double>(base), -static_cast<double>(2 * i) / static_cast<double>(D));
  return f;
}

}  // namespace

Tensor rope_frequencies(int64_t D, float base) {
  check_rope_dim(D, "rope_frequencies");
  ATTN_CHECK(base > 0.f, "rope_frequencies", "base must be positive, got " << base);
  const std::vector<double> f = inv_frequencies(D, base);
  Tensor out = Tensor::empty({D / 2});  // (D/2)
  for (int64_t i = 0; i < D / 2; ++i) out.data()[i] = static_cast<float>(f[i]);
  return out;
}

RopeTables rope_tables(const IndexTensor& positions, int64_t D, float base, bool interleaved) {
  check_rope_dim(D, "rope_tables");
  ATTN_CHECK(base > 0.f, "rope_tables", "base must be positive, got " << base);
  ATTN_CHECK(positions.dim() == 1, "rope_tables",
             "positions must be 1-d (T), got shape " << shape_str(positions.shape));
  const std::vector<double> inv_freq = inv_frequencies(D, base);  // (D/2)
  const int64_t T = positions.numel(), half = D / 2;
  RopeTables tab{Tensor::empty({T, D}), Tensor::empty({T, D}), interleaved};  // (T, D) each
  for (int64_t t = 0; t < T; ++t) {
    ATTN_CHECK(positions[t] >= 0, "rope_tables", "position " << positions[t] << " is negative");
    for (int64_t c = 0; c < D; ++c) {
      // feature c belongs to pair i: (i, i + D/2) for rotate_half, (2i, 2i+1) interleaved
      const int64_t i = interleaved ? c / 2 : c % half;
      const double angle = static_cast<double>(positions[t]) * inv_freq[i];  // m·θ_i
      tab.cos.data()[t * D + c] = static_cast<float>(std::cos(angle));
      tab.sin.data()[t * D + c] = static_cast<float>(std::sin(angle));
    }
  }
  return tab;
}

RopeTables rope_tables(int64_t T, int64_t D, float base, bool interleaved, int64_t start) {
  ATTN_CHECK(T >= 0 && start >= 0, "rope_tables", "need T >= 0 and start >= 0, got T=" << T << ", start=" << start);
  std::vector<int64_t> pos(T);
  for (int64_t t = 0; t < T; ++t) pos[t] = start + t;
  return rope_tables(IndexTensor(pos), D, base, interleaved);
}

Tensor rotate_half(const Tensor& x) {
  ATTN_CHECK(x.defined() && x.dim() >= 1, "rotate_half", "input must have at least 1 dim (..., D)");
  const int64_t D = x.size(-1);
  check_rope_dim(D, "rotate_half");
  Tensor x1 = slice(x, -1, 0, D / 2);  // (..., D/2) first halves
  Tensor x2 = slice(x, -1, D / 2, D);  // (..., D/2) second halves
  return concat({neg(x2), x1}, -1);    // (..., D): pair (i, i + D/2) = (a, b) -> (-b, a)
}

Tensor rotate_pairs(const Tensor& x) {
  ATTN_CHECK(x.defined() && x.dim() >= 1, "rotate_pairs", "input must have at least 1 dim (..., D)");
  const int64_t D = x.size(-1);
  check_rope_dim(D, "rotate_pairs");
  Tensor even = slice(x, -1, 0, D, 2);                     // (..., D/2)  x0, x2, ...
  Tensor odd = slice(x, -1, 1, D, 2);                      // (..., D/2)  x1, x3, ...
  return reshape(stack({neg(odd), even}, -1), x.shape());  // (..., D/2, 2) -> (..., D): (-x1, x0, -x3, x2, ...)
}

Tensor apply_rotary_embedding(const Tensor& x, const RopeTables& tables) {
  ATTN_CHECK(x.defined() && x.dim() >= 2, "apply_rotary_embedding",
             "x must have at least 2 dims (..., T, D), got " << (x.defined() ? shape_str(x.shape()) : "undefined"));
  const int64_t T = x.size(-2), D = x.size(-1);
  check_rope_dim(D, "apply_rotary_embedding");
  ATTN_CHECK(
      tables.cos.defined() && tables.sin.defined() && tables.cos.shape() == Shape({T, D}) &&
          tables.sin.shape() == Shape({T, D}),
      "apply_rotary_embedding",
      "cos/sin tables must be (T, D) = " << shape_str({T, D}) << " for x " << shape_str(x.shape()) << ", got "
                                         << (tables.cos.defined() ? shape_str(tables.cos.shape()) : "undefined"));
  // x·cos + rotate(x)·sin: pair (a, b) -> (a cos - b sin, b cos + a sin); the tables broadcast over (...).
  Tensor rotated = tables.interleaved ? rotate_pairs(x) : rotate_half(x);  // (..., T, D)
  return add(mul(x, tables.cos), mul(rotated, tables.sin));                // (..., T, D)
}

Tensor apply_rotary_embedding(const Tensor& x, const IndexTensor& positions, float base, bool interleaved) {
  ATTN_CHECK(x.defined() && x.dim() >= 2, "apply_rotary_embedding", "x must have at least 2 dims (..., T, D)");
  ATTN_CHECK(positions.dim() == 1 && positions.numel() == x.size(-2), "apply_rotary_embedding",
             "positions must be (T) = (" << x.size(-2) << ") for x " << shape_str(x.shape()) << ", got "
                                         << shape_str(positions.shape));
  check_rope_dim(x.size(-1), "apply_rotary_embedding");
  return apply_rotary_embedding(x, rope_tables(positions, x.size(-1), base, interleaved));
}

Tensor apply_rotary_embedding(const Tensor& x, int64_t start_pos, float base, bool interleaved) {
  ATTN_CHECK(x.defined() && x.dim() >= 2, "apply_rotary_embedding", "x must have at least 2 dims (..., T, D)");
  ATTN_CHECK(start_pos >= 0, "apply_rotary_embedding", "start_pos must be non-negative, got " << start_pos);
  check_rope_dim(x.size(-1), "apply_rotary_embedding");
  return apply_rotary_embedding(x, rope_tables(x.size(-2), x.size(-1), base, interleaved, start_pos));
}

// ---- ALiBi ------------------------------------------------------------------------------------------

namespace {

// The paper's code, get_slopes(n), in double.
std::vector<double> slopes_power_of_2(int64_t n) {
  const double start = std::pow(2.0, -8.0 / static_cast<double>(n));  // 2^(-2^-(log2 n - 3))
  std::vector<double> s(n);
  for (int64_t h = 0; h < n; ++h) s[h] = std::pow(start, static_cast<double>(h + 1));
  return s;
}

std::vector<double> slopes(int64_t n) {
  int64_t p = 1;  // the largest power of two <= n
  while (p * 2 <= n) p *= 2;
  std::vector<double> s = slopes_power_of_2(p);
  if (p == n) return s;
  const std::vector<double> finer = slopes(2 * p);  // interleaves between the first p slopes
  for (int64_t k = 0; k < n - p; ++k) s.push_back(finer[2 * k]);
  return s;
}

}  // namespace

Tensor alibi_slopes(int64_t H) {
  ATTN_CHECK(H >= 1, "alibi_slopes", "number of heads must be at least 1, got " << H);
  const std::vector<double> s = slopes(H);
  Tensor out = Tensor::empty({H});  // (H)
  for (int64_t h = 0; h < H; ++h) out.data()[h] = static_cast<float>(s[h]);
  return out;
}

Tensor alibi_bias(int64_t H, int64_t L, int64_t S) {
  ATTN_CHECK(H >= 1 && L >= 0 && S >= 0, "alibi_bias",
             "need H >= 1 and non-negative lengths, got H=" << H << ", L=" << L << ", S=" << S);
  const std::vector<double> m = slopes(H);
  Tensor bias = Tensor::empty({H, L, S});  // (H, L, S)
  float* p = bias.data();
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < L; ++i) {
      const int64_t ip = i + (S - L);  // the query's absolute position
      for (int64_t j = 0; j < S; ++j) p[(h * L + i) * S + j] = static_cast<float>(-m[h] * static_cast<double>(ip - j));
    }
  return bias;
}

}  // namespace attn

namespace attn::nn {

// ---- LearnedPositionalEmbedding -----------------------------------------------------------------------

LearnedPositionalEmbedding::LearnedPositionalEmbedding(int64_t max_len, int64_t dim, Generator& gen)
    : Embedding(max_len, dim, gen) {}

Tensor LearnedPositionalEmbedding::forward(int64_t T, int64_t start) {
  ATTN_CHECK(T >= 0 && start >= 0, "LearnedPositionalEmbedding",
             "need T >= 0 and start >= 0, got T=" << T << ", start=" << start);
  ATTN_CHECK(start + T <= max_len(), "LearnedPositionalEmbedding",
             "positions " << start << ".." << start + T - 1 << " (sequence length " << T
                          << ") exceed max_len = " << max_len() << ": a learned table has no row for them");
  std::vector<int64_t> pos(T);
  for (int64_t t = 0; t < T; ++t) pos[t] = start + t;
  return embedding(IndexTensor(pos), weight);  // (T, D)
}

Tensor LearnedPositionalEmbedding::forward(const IndexTensor& positions) {
  for (int64_t p : positions.data)
    ATTN_CHECK(p >= 0 && p < max_len(), "LearnedPositionalEmbedding",
               "position " << p << " is outside [0, max_len = " << max_len() << ")");
  return embedding(positions, weight);  // (..., D)
}

// ---- RotaryEmbedding ----------------------------------------------------------------------------------

RotaryEmbedding::RotaryEmbedding(int64_t dim, int64_t max_pos, float base_, bool interleaved_)
    : head_dim(dim), max_position_embeddings(max_pos), base(base_), interleaved(interleaved_) {
  check_rope_dim(dim, "RotaryEmbedding");
  ATTN_CHECK(max_pos >= 1, "RotaryEmbedding", "max_position_embeddings must be at least 1, got " << max_pos);
  all_ = rope_tables(max_pos, dim, base, interleaved);  // (max_pos, D) each, computed once
}

RopeTables RotaryEmbedding::tables(int64_t T, int64_t start) const {
  ATTN_CHECK(T >= 0 && start >= 0 && start + T <= max_position_embeddings, "RotaryEmbedding",
             "positions " << start << ".." << start + T - 1
                          << " exceed max_position_embeddings = " << max_position_embeddings);
  NoGradGuard no_grad;
  return {slice(all_.cos, 0, start, start + T), slice(all_.sin, 0, start, start + T), interleaved};
}

RopeTables RotaryEmbedding::tables(const IndexTensor& positions) const {
  ATTN_CHECK(positions.dim() == 1, "RotaryEmbedding",
             "positions must be 1-d (T), got shape " << shape_str(positions.shape));
  for (int64_t p : positions.data)
    ATTN_CHECK(p >= 0 && p < max_position_embeddings, "RotaryEmbedding",
               "position " << p << " is outside [0, max_position_embeddings = " << max_position_embeddings << ")");
  NoGradGuard no_grad;
  return {index_select(all_.cos, 0, positions), index_select(all_.sin, 0, positions), interleaved};
}

Tensor RotaryEmbedding::forward(const Tensor& x, int64_t start) const {
  ATTN_CHECK(x.defined() && x.dim() >= 2 && x.size(-1) == head_dim, "RotaryEmbedding",
             "x must be (..., T, " << head_dim << "), got " << (x.defined() ? shape_str(x.shape()) : "undefined"));
  return apply_rotary_embedding(x, tables(x.size(-2), start));
}

Tensor RotaryEmbedding::forward(const Tensor& x, const IndexTensor& positions) const {
  ATTN_CHECK(x.defined() && x.dim() >= 2 && x.size(-1) == head_dim, "RotaryEmbedding",
             "x must be (..., T, " << head_dim << "), got " << (x.defined() ? shape_str(x.shape()) : "undefined"));
  return apply_rotary_embedding(x, tables(positions));
}

std::string RotaryEmbedding::extra_repr() const {
  std::ostringstream os;
  os << "head_dim=" << head_dim << ", max_position_embeddings=" << max_position_embeddings << ", base=" << base
     << ", interleaved=" << (interleaved ? "True" : "False");
  return os.str();
}

}  // namespace attn::nn
