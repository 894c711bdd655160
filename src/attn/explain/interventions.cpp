#include "attn/explain/interventions.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/nn/module.h"
#include "attn/ops/ops.h"

namespace attn::explain {

namespace {

constexpr const char* kOp = "interventions";

void check_ids(const models::GPT& m, const std::vector<int64_t>& ids, int64_t min_len, const char* what) {
  const auto T = static_cast<int64_t>(ids.size());
  ATTN_CHECK(T >= min_len && T <= m.config().block_size, kOp,
             what << " has " << T << " tokens; it needs " << min_len << " to " << m.config().block_size
                  << " (the model's context)");
  for (size_t i = 0; i < ids.size(); ++i)
    ATTN_CHECK(ids[i] >= 0 && ids[i] < m.config().vocab_size, kOp,
               what << ": token " << i << " has id " << ids[i] << ", outside [0, " << m.config().vocab_size << ")");
}

// Every activation an intervention may read, from one forward of one sequence (B = 1).
struct Record {
  std::vector<Tensor> resid;  // L+1 × (1, T, C): block l's input; [L] the stream before ln_f
  std::vector<Tensor> z;      // L × (1, H, T, Dh)
  std::vector<Tensor> mlp;    // L × (1, T, C)
  Tensor logits;              // (1, T, V)
};

Record record(models::GPT& m, const std::vector<int64_t>& ids) {
  const auto L = static_cast<size_t>(m.config().n_layer);
  Record r;
  r.resid.resize(L + 1);
  r.z.resize(L);
  r.mlp.resize(L);
  models::GPTHooks hooks;
  hooks.resid_pre = [&](int64_t l, const Tensor& x) { return r.resid[static_cast<size_t>(l)] = x; };
  hooks.head_z = [&](int64_t l, const Tensor& z) { return r.z[static_cast<size_t>(l)] = z; };
  hooks.mlp_out = [&](int64_t l, const Tensor& x) { return r.mlp[static_cast<size_t>(l)] = x; };
  models::GPTForwardOptions o;
  o.hooks = &hooks;
  r.logits = m.forward(IndexTensor(ids, {1, static_cast<int64_t>(ids.size())}), o).logits;
  return r;
}

// x (1, T, C) repeated n times: (n, T, C).
Tensor repeat_rows(const Tensor& x, int64_t n) {
  Shape s = x.shape();
  const int64_t per = x.numel();
  s[0] = n;
  Tensor out = Tensor::empty(s);
  for (int64_t b = 0; b < n; ++b) std::memcpy(out.data() + b * per, x.data(), static_cast<size_t>(per) * sizeof(float));
  return out;
}

// The patching sweeps' copy: copy i of a chunk (copies b0 .. b0+n-1) takes piece b0 + i of the clean run.
// Pieces are `piece` floats long; copy i starts at dst + i·stride, piece j at offset j·piece in both.
//   resid / mlp (n, T, C): piece = C (position t), stride = T·C;  heads z (n, H, T, Dh): piece = T·Dh, stride = H·T·Dh
void copy_diagonal(float* dst, const float* clean, int64_t b0, int64_t n, int64_t piece, int64_t stride) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = b0 + i;
    std::memcpy(dst + i * stride + j * piece, clean + j * piece, static_cast<size_t>(piece) * sizeof(float));
  }
}

// Blocks from..L-1 on x (the input of block `from`), with hooks; returns the stream before ln_f.
Tensor run_blocks(models::GPT& m, Tensor x, int64_t from, const models::GPTHooks& hooks) {
  const auto L = static_cast<int64_t>(m.h.size());
  for (int64_t l = from; l < L; ++l) {
    const models::GPTLayerHooks lh = hooks.layer(l);
    x = m.h[static_cast<size_t>(l)]->forward(x, nullptr, nullptr, false, Tensor(), &lh);
  }
  return x;
}

// The stream (B, T, C) -> next-token logits (B, T, V) through ln_f and the tied unembedding.
Tensor unembed(models::GPT& m, const Tensor& x) { return matmul(m.ln_f->forward(x), m.wte->weight, false, true); }

// log-sum-exp of one row of V logits, in double.
double logsumexp(const float* z, int64_t V) {
  float mx = z[0];
  for (int64_t v = 1; v < V; ++v) mx = std::max(mx, z[v]);
  double s = 0;
  for (int64_t v = 0; v < V; ++v) s += std::exp(static_cast<double>(z[v] - mx));
  return mx + std::log(s);
}

// −log p(ids[t+1]) for t = 0 .. T-2 from logits (T, V) of one sequence.
std::vector<float> token_losses(const float* logits, const std::vector<int64_t>& ids, int64_t V) {
  const auto T = static_cast<int64_t>(ids.size());
  std::vector<float> out(static_cast<size_t>(T - 1));
  for (int64_t t = 0; t + 1 < T; ++t) {
    const float* row = logits + t * V;
    out[static_cast<size_t>(t)] = static_cast<float>(logsumexp(row, V) - row[ids[static_cast<size_t>(t + 1)]]);
  }
  return out;
}

double mean(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// The ablation replacements of one layer, from the intact run (and the shuffled one, for resample).
struct Replacements {
  std::string method;
  const Record* clean = nullptr;
  const Record* shuffled = nullptr;  // resample only

  // Head h's replacement (T, Dh) written into dst.
  void head(int64_t l, int64_t h, float* dst) const {
    const Tensor& z = clean->z[static_cast<size_t>(l)];  // (1, H, T, Dh)
    const int64_t T = z.size(2), Dh = z.size(3);
    if (method == "zero") {
      std::fill(dst, dst + T * Dh, 0.f);
    } else if (method == "mean") {
      const float* src = z.data() + h * T * Dh;
      std::vector<double> mu(static_cast<size_t>(Dh), 0.0);
      for (int64_t t = 0; t < T; ++t)
        for (int64_t d = 0; d < Dh; ++d) mu[static_cast<size_t>(d)] += src[t * Dh + d];
      for (int64_t t = 0; t < T; ++t)
        for (int64_t d = 0; d < Dh; ++d)
          dst[t * Dh + d] = static_cast<float>(mu[static_cast<size_t>(d)] / static_cast<double>(T));
    } else {
      const float* src = shuffled->z[static_cast<size_t>(l)].data() + h * T * Dh;
      std::memcpy(dst, src, static_cast<size_t>(T * Dh) * sizeof(float));
    }
  }
  // The MLP's replacement (T, C) written into dst.
  void mlp(int64_t l, float* dst) const {
    const Tensor& y = clean->mlp[static_cast<size_t>(l)];  // (1, T, C)
    const int64_t T = y.size(1), C = y.size(2);
    if (method == "zero") {
      std::fill(dst, dst + T * C, 0.f);
    } else if (method == "mean") {
      std::vector<double> mu(static_cast<size_t>(C), 0.0);
      for (int64_t t = 0; t < T; ++t)
        for (int64_t c = 0; c < C; ++c) mu[static_cast<size_t>(c)] += y.data()[t * C + c];
      for (int64_t t = 0; t < T; ++t)
        for (int64_t c = 0; c < C; ++c)
          dst[t * C + c] = static_cast<float>(mu[static_cast<size_t>(c)] / static_cast<double>(T));
    } else {
      std::memcpy(dst, shuffled->mlp[static_cast<size_t>(l)].data(), static_cast<size_t>(T * C) * sizeof(float));
    }
  }
};

void check_method(const std::string& method) {
  ATTN_CHECK(method == "zero" || method == "mean" || method == "resample", kOp,
             "ablation method must be zero, mean or resample, got \"" << method << "\"");
}

// The text's tokens in a fixed random order (resample ablation's other input).
std::vector<int64_t> shuffled_ids(const std::vector<int64_t>& ids, uint64_t seed) {
  std::vector<int64_t> out = ids;
  Generator gen(seed, /*stream=*/23);
  for (size_t i = out.size(); i > 1; --i)
    std::swap(out[i - 1], out[static_cast<size_t>(gen.randint(static_cast<uint32_t>(i)))]);
  return out;
}

// p(target) at the last position of every row of a final stream x (B, T, C).
std::vector<double> last_position_probability(models::GPT& m, const Tensor& x, int64_t target) {
  const int64_t B = x.size(0), T = x.size(1), V = m.config().vocab_size;
  const Tensor logits = unembed(m, slice(x, 1, T - 1, T));  // (B, 1, V)
  std::vector<double> p(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const float* row = logits.data() + b * V;
    p[static_cast<size_t>(b)] = std::exp(static_cast<double>(row[target]) - logsumexp(row, V));
  }
  return p;
}

// Copies per batch in the batched paths, so that a long text on a large vocabulary stays in memory.
int64_t chunk_rows(const models::GPT& m, int64_t T) {
  const int64_t per_row = T * std::max(m.config().vocab_size, m.config().n_embd * 4);
  return std::max<int64_t>(1, std::min<int64_t>(64, (int64_t{1} << 26) / std::max<int64_t>(per_row, 1)));
}

}  // namespace

// ---- ablation -------------------------------------------------------------------------------------------

void check_spec(const models::GPT& model, const std::vector<int64_t>& ids, const AblationSpec& spec) {
  check_ids(model, ids, 2, "the text");
  check_method(spec.method);
  const models::GPTConfig& c = model.config();
  for (const HeadRef& h : spec.heads)
    ATTN_CHECK(h.layer >= 0 && h.layer < c.n_layer && h.head >= 0 && h.head < c.n_head, kOp,
               "head (layer " << h.layer << ", head " << h.head << ") does not exist: the model has " << c.n_layer
                              << " layers of " << c.n_head << " heads");
  for (int64_t l : spec.mlps)
    ATTN_CHECK(l >= 0 && l < c.n_layer, kOp,
               "MLP layer " << l << " does not exist: the model has " << c.n_layer << " layers");
}

struct AblationHooks::State {
  AblationSpec spec;
  Record clean, shuffled;
  Replacements rep;
};

AblationHooks::AblationHooks(models::GPT& model, const std::vector<int64_t>& ids, const AblationSpec& spec)
    : s_(std::make_shared<State>()) {
  check_spec(model, ids, spec);
  nn::ModeGuard mode(model);
  model.eval();
  NoGradGuard no_grad;
  s_->spec = spec;
  s_->clean = record(model, ids);
  if (spec.method == "resample") s_->shuffled = record(model, shuffled_ids(ids, spec.seed));
  s_->rep = Replacements{spec.method, &s_->clean, &s_->shuffled};
  const State* st = s_.get();
  hooks_.head_z = [st](int64_t l, const Tensor& z) {
    Tensor r = z;
    bool copied = false;
    const int64_t Tz = z.size(2), Dh = z.size(3);
    for (const HeadRef& h : st->spec.heads) {
      if (h.layer != l) continue;
      if (!copied) r = z.clone(), copied = true;
      st->rep.head(l, h.head, r.data() + h.head * Tz * Dh);
    }
    return r;
  };
  hooks_.mlp_out = [st](int64_t l, const Tensor& y) {
    if (std::find(st->spec.mlps.begin(), st->spec.mlps.end(), l) == st->spec.mlps.end()) return y;
    Tensor r = y.clone();
    st->rep.mlp(l, r.data());
    return r;
  };
}

const Tensor& AblationHooks::intact_logits() const { return s_->clean.logits; }

AblationResult ablate(models::GPT& model, const std::vector<int64_t>& ids, const AblationSpec& spec, int64_t position,
                      int64_t k) {
  check_spec(model, ids, spec);
  const models::GPTConfig& c = model.config();
  const auto T = static_cast<int64_t>(ids.size());
  if (position < 0) position += T;
  ATTN_CHECK(position >= 0 && position < T, kOp,
             "position " << position << " is outside the text's " << T << " tokens");
  ATTN_CHECK(k >= 1, kOp, "k must be >= 1, got " << k);

  const AblationHooks ah(model, ids, spec);
  nn::ModeGuard mode(model);
  model.eval();
  NoGradGuard no_grad;
  models::GPTForwardOptions o;
  o.hooks = &ah.hooks();
  const Tensor ablated = model.forward(IndexTensor(ids, {1, T}), o).logits;  // (1, T, V)
  const Tensor& intact = ah.intact_logits();

  const int64_t V = c.vocab_size;
  AblationResult r;
  r.token_loss = token_losses(intact.data(), ids, V);
  r.token_loss_ablated = token_losses(ablated.data(), ids, V);
  r.loss = mean(r.token_loss);
  r.loss_ablated = mean(r.token_loss_ablated);
  r.kl.resize(static_cast<size_t>(T));
  std::vector<double> p(static_cast<size_t>(V)), q(static_cast<size_t>(V));
  for (int64_t t = 0; t < T; ++t) {
    const float* a = intact.data() + t * V;
    const float* b = ablated.data() + t * V;
    const double la = logsumexp(a, V), lb = logsumexp(b, V);
    double kl = 0;
    for (int64_t v = 0; v < V; ++v) {
      const double lp = a[v] - la, lq = b[v] - lb;
      const double pv = std::exp(lp);
      kl += pv * (lp - lq);
      if (t == position) p[static_cast<size_t>(v)] = pv, q[static_cast<size_t>(v)] = std::exp(lq);
    }
    r.kl[static_cast<size_t>(t)] = static_cast<float>(std::max(0.0, kl));
  }
  r.position = position;
  const int64_t kk = std::min(k, V);
  auto top_of = [&](const std::vector<double>& by) {
    std::vector<int64_t> order(static_cast<size_t>(V));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + kk, order.end(),
                      [&](int64_t x, int64_t y) { return by[static_cast<size_t>(x)] > by[static_cast<size_t>(y)]; });
    std::vector<TokenShift> out;
    for (int64_t i = 0; i < kk; ++i) {
      const auto id = static_cast<size_t>(order[static_cast<size_t>(i)]);
      out.push_back({order[static_cast<size_t>(i)], p[id], q[id]});
    }
    return out;
  };
  r.top = top_of(p);
  r.top_ablated = top_of(q);
  return r;
}

AblationGrid ablation_grid(models::GPT& model, const std::vector<int64_t>& ids, const std::string& method,
                           uint64_t seed) {
  check_ids(model, ids, 2, "the text");
  check_method(method);
  const models::GPTConfig& c = model.config();
  const int64_t L = c.n_layer, H = c.n_head, T = static_cast<int64_t>(ids.size()), V = c.vocab_size;

  nn::ModeGuard mode(model);
  model.eval();
  NoGradGuard no_grad;
  const Record clean = record(model, ids);
  Record shuffled;
  if (method == "resample") shuffled = record(model, shuffled_ids(ids, seed));
  const Replacements rep{method, &clean, &shuffled};

  AblationGrid g;
  g.loss = mean(token_losses(clean.logits.data(), ids, V));
  g.head_delta = Tensor::zeros({L, H});
  g.mlp_delta = Tensor::zeros({L});
  const int64_t chunk = chunk_rows(model, T);
  // Layer l: copies 0 .. H-1 ablate head copy; copy H ablates the MLP. They start at block l from the intact
  // stream, since nothing below block l changes.
  for (int64_t l = 0; l < L; ++l) {
    for (int64_t b0 = 0; b0 < H + 1; b0 += chunk) {
      const int64_t n = std::min(chunk, H + 1 - b0);
      models::GPTHooks hooks;
      hooks.head_z = [&, l, b0, n](int64_t layer, const Tensor& z) {
        if (layer != l) return z;
        Tensor r = z.clone();
        const int64_t Dh = z.size(3);
        for (int64_t i = 0; i < n; ++i)
          if (b0 + i < H) rep.head(l, b0 + i, r.data() + ((i * H) + (b0 + i)) * T * Dh);
        return r;
      };
      hooks.mlp_out = [&, l, b0, n](int64_t layer, const Tensor& y) {
        if (layer != l || b0 + n <= H) return y;
        Tensor r = y.clone();
        rep.mlp(l, r.data() + (H - b0) * T * c.n_embd);
        return r;
      };
      const Tensor x = run_blocks(model, repeat_rows(clean.resid[static_cast<size_t>(l)], n), l, hooks);  // (n, T, C)
      const Tensor logits = unembed(model, x);  // (n, T, V): one matmul for the chunk
      for (int64_t i = 0; i < n; ++i) {
        const double delta = mean(token_losses(logits.data() + i * T * V, ids, V)) - g.loss;
        if (b0 + i < H) g.head_delta.data()[l * H + b0 + i] = static_cast<float>(delta);
        else g.mlp_delta.data()[l] = static_cast<float>(delta);
      }
    }
  }
  return g;
}

// ---- logit lens -----------------------------------------------------------------------------------------

LogitLens logit_lens(models::GPT& model, const std::vector<int64_t>& ids, int64_t k) {
  check_ids(model, ids, 1, "the text");
  ATTN_CHECK(k >= 1, kOp, "k must be >= 1, got " << k);
  const models::GPTConfig& c = model.config();
  const int64_t L = c.n_layer, T = static_cast<int64_t>(ids.size()), V = c.vocab_size;
  k = std::min(k, V);
  nn::ModeGuard mode(model);
  model.eval();
  NoGradGuard no_grad;
  const Record rec = record(model, ids);
  LogitLens out;
  out.k = k;
  out.top_ids = Tensor::zeros({L + 1, T, k});
  out.top_probs = Tensor::zeros({L + 1, T, k});
  out.target_rank = Tensor::zeros({L + 1, std::max<int64_t>(T - 1, 0)});
  out.target_prob = Tensor::zeros({L + 1, std::max<int64_t>(T - 1, 0)});
  std::vector<int64_t> order(static_cast<size_t>(V));
  for (int64_t l = 0; l <= L; ++l) {
    const Tensor logits = unembed(model, rec.resid[static_cast<size_t>(l)]);  // (1, T, V)
    for (int64_t t = 0; t < T; ++t) {
      const float* row = logits.data() + t * V;
      const double lse = logsumexp(row, V);
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [&](int64_t a, int64_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
      for (int64_t i = 0; i < k; ++i) {
        const int64_t id = order[static_cast<size_t>(i)];
        out.top_ids.data()[(l * T + t) * k + i] = static_cast<float>(id);
        out.top_probs.data()[(l * T + t) * k + i] = static_cast<float>(std::exp(row[id] - lse));
      }
      if (t + 1 < T) {
        const int64_t next = ids[static_cast<size_t>(t + 1)];
        int64_t rank = 0;
        for (int64_t v = 0; v < V; ++v) rank += row[v] > row[next] || (row[v] == row[next] && v < next);
        out.target_rank.data()[l * (T - 1) + t] = static_cast<float>(rank);
        out.target_prob.data()[l * (T - 1) + t] = static_cast<float>(std::exp(row[next] - lse));
      }
    }
  }
  return out;
}

// ---- cost estimates ------------------------------------------------------------------------------------

namespace {
double block_flops_per_token(const models::GPTConfig& c, int64_t T) {
  const double C = static_cast<double>(c.n_embd);
  return 2.0 * (4.0 * C * C + 2.0 * C * static_cast<double>(c.inner()) + 2.0 * static_cast<double>(T) * C);
}
}  // namespace

double ablation_grid_flops(const models::GPTConfig& c, int64_t T) {
  const double L = static_cast<double>(c.n_layer), H = static_cast<double>(c.n_head), t = static_cast<double>(T);
  const double token_blocks = (H + 1) * t * L * (L + 1) / 2;  // Σ_l (L − l)
  return token_blocks * block_flops_per_token(c, T) +
         (H + 1) * L * t * 2.0 * static_cast<double>(c.n_embd * c.vocab_size);
}

double activation_patching_flops(const models::GPTConfig& c, int64_t T) {
  const double L = static_cast<double>(c.n_layer), H = static_cast<double>(c.n_head), t = static_cast<double>(T);
  const double token_blocks = (2 * t + H) * t * L * (L + 1) / 2;
  const double unembedded = (L + 1) * t + 2 * L * t + L * H;
  return token_blocks * block_flops_per_token(c, T) + unembedded * 2.0 * static_cast<double>(c.n_embd * c.vocab_size);
}

// ---- activation patching --------------------------------------------------------------------------------

PatchingResult activation_patching(models::GPT& model, const std::vector<int64_t>& clean_ids,
                                   const std::vector<int64_t>& corrupt_ids, int64_t target) {
  check_ids(model, clean_ids, 1, "the clean prompt");
  check_ids(model, corrupt_ids, 1, "the corrupted prompt");
  ATTN_CHECK(clean_ids.size() == corrupt_ids.size(), kOp,
             "the clean and corrupted prompts must have the same number of tokens (patching copies position t to "
             "position t); got "
                 << clean_ids.size() << " and " << corrupt_ids.size());
  const models::GPTConfig& c = model.config();
  const int64_t L = c.n_layer, H = c.n_head, T = static_cast<int64_t>(clean_ids.size()), V = c.vocab_size, C = c.n_embd;
  nn::ModeGuard mode(model);
  model.eval();
  NoGradGuard no_grad;
  const Record clean = record(model, clean_ids), corrupt = record(model, corrupt_ids);
  if (target < 0) {
    const float* row = clean.logits.data() + (T - 1) * V;
    target = std::max_element(row, row + V) - row;
  }
  ATTN_CHECK(target < V, kOp, "target token " << target << " is outside the vocabulary [0, " << V << ")");
  PatchingResult r;
  r.target = target;
  auto prob = [&](const Tensor& logits) {
    const float* row = logits.data() + (T - 1) * V;
    return std::exp(static_cast<double>(row[target]) - logsumexp(row, V));
  };
  r.p_clean = prob(clean.logits);
  r.p_corrupt = prob(corrupt.logits);
  r.resid = Tensor::zeros({L + 1, T});
  r.mlp = Tensor::zeros({L, T});
  r.heads = Tensor::zeros({L, H});
  const int64_t chunk = chunk_rows(model, T);

  // Runs `rows` copies of the corrupted run from block l in chunks; `prepare(x, b0, n)` edits the chunk's
  // input stream and `hooks_for(b0, n)` its hooks; writes p(target) of copy b to out[b].
  auto sweep = [&](int64_t l, int64_t rows, const std::function<void(Tensor&, int64_t, int64_t)>& prepare,
                   const std::function<models::GPTHooks(int64_t, int64_t)>& hooks_for, float* out) {
    for (int64_t b0 = 0; b0 < rows; b0 += chunk) {
      const int64_t n = std::min(chunk, rows - b0);
      Tensor x = repeat_rows(corrupt.resid[static_cast<size_t>(l)], n);
      if (prepare) prepare(x, b0, n);
      const models::GPTHooks hooks = hooks_for ? hooks_for(b0, n) : models::GPTHooks();
      const std::vector<double> p = last_position_probability(model, run_blocks(model, x, l, hooks), target);
      for (int64_t i = 0; i < n; ++i) out[b0 + i] = static_cast<float>(p[static_cast<size_t>(i)]);
    }
  };
  for (int64_t l = 0; l <= L; ++l) {
    // resid: copy t takes the clean stream at position t.
    const Tensor& src = clean.resid[static_cast<size_t>(l)];
    sweep(
        l, T, [&](Tensor& x, int64_t b0, int64_t n) { copy_diagonal(x.data(), src.data(), b0, n, C, T * C); }, nullptr,
        r.resid.data() + l * T);
    if (l == L) break;
    // mlp: copy t takes the clean MLP output at position t.
    const Tensor& m_clean = clean.mlp[static_cast<size_t>(l)];
    sweep(
        l, T, nullptr,
        [&, l](int64_t b0, int64_t n) {
          models::GPTHooks hk;
          hk.mlp_out = [&, l, b0, n](int64_t layer, const Tensor& y) {
            if (layer != l) return y;
            Tensor out = y.clone();
            copy_diagonal(out.data(), m_clean.data(), b0, n, C, T * C);
            return out;
          };
          return hk;
        },
        r.mlp.data() + l * T);
    // heads: copy h takes head h's clean output at every position.
    const Tensor& z_clean = clean.z[static_cast<size_t>(l)];
    sweep(
        l, H, nullptr,
        [&, l](int64_t b0, int64_t n) {
          models::GPTHooks hk;
          hk.head_z = [&, l, b0, n](int64_t layer, const Tensor& z) {
            if (layer != l) return z;
            Tensor out = z.clone();
            const int64_t Dh = z.size(3);
            copy_diagonal(out.data(), z_clean.data(), b0, n, T * Dh, H * T * Dh);
            return out;
          };
          return hk;
        },
        r.heads.data() + l * H);
  }
  return r;
}

}  // namespace attn::explain
