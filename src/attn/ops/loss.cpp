// Losses: cross_entropy (with ignore_index and label smoothing) and mse_loss.
#include <cmath>

#include "attn/core/error.h"
#include "attn/kernels/parallel.h"
#include "attn/kernels/softmax.h"
#include "attn/kernels/vec_math.h"
#include "attn/ops/ops.h"

namespace attn {

Tensor cross_entropy(const Tensor& logits, const IndexTensor& target, const CrossEntropyOptions& opt) {
  ATTN_CHECK(logits.defined() && logits.dim() == 2, "cross_entropy",
             "logits must be (N, C), got " << (logits.defined() ? shape_str(logits.shape()) : "undefined")
                                           << "; flatten (B, T, C) logits to (B*T, C)");
  const int64_t N = logits.size(0), C = logits.size(1);
  ATTN_CHECK(target.dim() == 1 && target.numel() == N, "cross_entropy",
             "target must be (" << N << ",) to match logits " << shape_str(logits.shape()) << ", got "
                                << shape_str(target.shape));
  ATTN_CHECK(opt.label_smoothing >= 0.f && opt.label_smoothing <= 1.f, "cross_entropy",
             "label_smoothing must be in [0, 1], got " << opt.label_smoothing);
  ATTN_CHECK(opt.reduction == "mean" || opt.reduction == "sum" || opt.reduction == "none", "cross_entropy",
             "reduction must be \"mean\", \"sum\" or \"none\", got \"" << opt.reduction << "\"");
  for (int64_t i = 0; i < N; ++i)
    ATTN_CHECK(target[i] == opt.ignore_index || (target[i] >= 0 && target[i] < C), "cross_entropy",
               "target " << target[i] << " at position " << i << " is out of range for " << C << " classes");

  // logp (N, C) = log_softmax(logits). Per row: loss = -(1-ε) logp[y] - (ε/C) Σ_c logp[c].
  Tensor logp = Tensor::empty({N, C});
  kernels::log_softmax_forward(logits.data(), logp.data(), N, C, 1);
  const float eps = opt.label_smoothing;
  std::vector<float> per_row(N, 0.f);
  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i) count += target[i] != opt.ignore_index;
    // Rows in parallel (a vocabulary of 50k × 256 positions is 13 M log-probabilities to sum for smoothing).
#pragma omp parallel for schedule(static) if (eps > 0.f && N * C > kernels::kParallelGrain)
  for (int64_t i = 0; i < N; ++i) {
    if (target[i] == opt.ignore_index) continue;
    const float* lp = logp.data() + i * C;
    double smooth = 0.0;
    if (eps > 0.f) {
#pragma omp simd reduction(+ : smooth)
      for (int64_t c = 0; c < C; ++c) smooth += lp[c];
    }
    per_row[i] = -(1.f - eps) * lp[target[i]] - static_cast<float>(eps / C * smooth);
  }
  Tensor out;
  float scale = 1.f;  // d(reduced loss) / d(row loss)
  if (opt.reduction == "none") {
    out = Tensor::from_vector(per_row, {N});
  } else {
    double total = 0.0;
    for (float v : per_row) total += v;
    if (opt.reduction == "mean") scale = count ? 1.f / static_cast<float>(count) : 0.f;
    out = Tensor::scalar(static_cast<float>(total * scale));
  }
  if (needs_grad({&logits})) {
    const bool none = opt.reduction == "none";
    const int64_t ignore = opt.ignore_index;
    record(out, "cross_entropy", {logits},
           [logp, target, N, C, eps, scale, none, ignore](const Tensor& gy, std::vector<Tensor>& gin) {
             // d loss_i / d logits_ic = softmax_ic - q_ic, with q = (1-ε) onehot(y_i) + ε/C: every class
             // gets g (e^logp - ε/C), then the target also -g (1-ε). Rows in parallel, classes vectorized.
             float* dx = gin[0].data();
             const float* lp = logp.data();
             const float smooth = eps / static_cast<float>(C);
#pragma omp parallel for schedule(static) if (N * C > kernels::kParallelGrain)
             for (int64_t i = 0; i < N; ++i) {
               if (target[i] == ignore) continue;
               const float g = none ? gy.data()[i] : gy.data()[0] * scale;
               float* d = dx + i * C;
               const float* l = lp + i * C;
#pragma omp simd
               for (int64_t c = 0; c < C; ++c) d[c] += g * (kernels::exp_vec(l[c]) - smooth);
               d[target[i]] -= g * (1.f - eps);
             }
           });
  }
  return out;
}

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  ATTN_CHECK(input.defined() && target.defined(), "mse_loss", "an input is undefined");
  ATTN_CHECK(input.shape() == target.shape(), "mse_loss",
             "input " << shape_str(input.shape()) << " and target " << shape_str(target.shape())
                      << " must have the same shape");
  ATTN_CHECK(reduction == "mean" || reduction == "sum" || reduction == "none", "mse_loss",
             "reduction must be \"mean\", \"sum\" or \"none\", got \"" << reduction << "\"");
  Tensor sq = pow(sub(input, target), 2.f);
  if (reduction == "none") return sq;
  return reduction == "sum" ? sum(sq) : mean(sq);
}

}  // namespace attn
