// attn bench vit — the Vision Transformer of `attn train vit` (default: 28x28 grey images, the command's
// default sizes), ours vs the same model in PyTorch 1.13 (bench/torch_vit.py, same thread count), in one run:
//
//   train   zero_grad, forward, label-smoothed cross-entropy, backward, clip_grad_norm_(1.0), AdamW,
//           on B random images (B = 128, attn train vit's batch)
//   infer   forward only, no gradients, eval mode, B = 500 (attn train vit's evaluation batch)
//
// FLOPs per image (forward) ≈ 2·T·(N_linear) + 4·L·T²·D, T tokens with CLS, N_linear the weights of every
// Linear and of the patch projection, the second term attention's scores and mixing; training ≈ 3× that.
// Each case runs in its own process (`attn bench vit-case …`, or python3-torch).
#include "bench_vit.h"

#include <cstdio>
#include <iostream>
#include <memory>

#include "attn/autograd/autograd.h"
#include "attn/core/rng.h"
#include "attn/models/vit.h"
#include "attn/nn/optim.h"
#include "attn/trainers/common.h"
#include "bench_common.h"
#include "data_root.h"
#include "machine.h"

namespace attn::cli {

namespace {

using json = bench_json;

struct VitCase {
  std::string impl = "ours", kind = "train";
  int64_t B = 128, patch = 7, embd = 64, layers = 4, heads = 4;
  double min_time = 3.0;
  int min_reps = 3;
};

models::ViTConfig config_of(const VitCase& c) {  // must match bench/torch_vit.py
  models::ViTConfig cfg;
  cfg.patch_size = c.patch, cfg.hidden_size = c.embd, cfg.num_hidden_layers = c.layers;
  cfg.num_attention_heads = c.heads, cfg.intermediate_size = 4 * c.embd;
  return cfg;
}

json case_json(const VitCase& c) {
  return {{"impl", c.impl}, {"kind", c.kind},     {"B", c.B},        {"patch", c.patch},
          {"embd", c.embd}, {"layers", c.layers}, {"heads", c.heads}};
}

std::string case_args(const VitCase& c) {
  return "--kind " + c.kind + " --B " + std::to_string(c.B) + " --patch " + std::to_string(c.patch) + " --embd " +
         std::to_string(c.embd) + " --layers " + std::to_string(c.layers) + " --heads " + std::to_string(c.heads) +
         " --min-time " + std::to_string(c.min_time) + " --min-reps " + std::to_string(c.min_reps);
}

json run_case(const VitCase& c) {
  const models::ViTConfig cfg = config_of(c);
  Generator gen(0);
  models::ViTForImageClassification model(cfg, gen);
  json r = case_json(c);
  r["params"] = model.num_parameters();
  Tensor images = Tensor::randn({c.B, 1, cfg.image_size, cfg.image_size}, gen);
  std::vector<int64_t> labels;
  for (int64_t b = 0; b < c.B; ++b) labels.push_back(gen.randint(10));
  const IndexTensor y(labels);
  double s = 0;
  if (c.kind == "train") {
    std::vector<Tensor> decay, no_decay;  // as attn train vit: decay on the weight matrices only
    trainers::split_weight_matrices(model.named_parameters(), &decay, &no_decay);
    trainers::TwoGroupAdamW opt(decay, no_decay, 1e-3f, 0.9f, 0.999f, 0.05f);
    const std::vector<Tensor> params = model.parameters();
    s = median_time(
        [&] {
          opt.zero_grad();
          model.loss(images, y, 0.1f).backward();
          nn::clip_grad_norm_(params, 1.f);
          opt.step();
        },
        c.min_time, 50, c.min_reps);
  } else {
    model.eval();
    NoGradGuard ng;
    s = median_time([&] { model.forward(images); }, c.min_time, 50, c.min_reps);
  }
  r["ms"] = s * 1e3;
  r["images_per_s"] = static_cast<double>(c.B) / s;
  r["peak_rss_mb"] = peak_rss_mb();
  return r;
}

struct Opts : BenchRunOptions {
  VitCase shape;  // sizes (impl/kind/B set per case)
  std::string kinds = "train,infer", impls = "ours,torch";
  int64_t train_batch = 128, infer_batch = 500;
};

int run_bench(const Opts& o) {
  for (const auto& x : split_list(o.kinds))
    if (x != "train" && x != "infer") {
      std::cerr << "attn bench vit: unknown kind '" << x << "' (train, infer)\n";
      return 2;
    }
  for (const auto& x : split_list(o.impls))
    if (x != "ours" && x != "torch") {
      std::cerr << "attn bench vit: unknown impl '" << x << "' (ours, torch)\n";
      return 2;
    }
  config_of(o.shape).validate();
  const BenchSetup setup = bench_setup(o.threads, o.blas);
  BenchRows out{o.json_out, {}};
  const std::vector<json>& rows = out.rows;
  const Roofs roofs = emit_roofs(setup, o.timeout, out);
  const std::string torch_script = cli::data_root() + "/bench/torch_vit.py";
  for (const auto& kind : split_list(o.kinds))
    for (const auto& impl : split_list(o.impls)) {
      VitCase c = o.shape;
      c.impl = impl, c.kind = kind, c.min_time = o.min_time;
      c.B = kind == "train" ? o.train_batch : o.infer_batch;
      if (!o.json_out) std::cerr << "  " << impl << " " << kind << " B=" << c.B << "...\n";
      const std::string cmd = impl == "torch" ? "env -u OPENBLAS_NUM_THREADS " + setup.blas_env + "/usr/bin/python3 " +
                                                    torch_script + " " + case_args(c) + " --threads " +
                                                    std::to_string(setup.threads)
                                              : setup.ours + "'" + setup.self + "' bench vit-case " + case_args(c);
      out.emit(run_child(cmd, o.timeout, case_json(c)));
    }
  if (o.json_out) return 0;

  const models::ViTConfig cfg = config_of(o.shape);
  const double T = static_cast<double>(cfg.seq_len()), D = static_cast<double>(cfg.hidden_size);
  const double linear = cfg.num_hidden_layers * (4 * D * D + 2 * D * cfg.intermediate_size) +
                        D * cfg.num_channels * cfg.patch_size * cfg.patch_size * (T - 1) / T +
                        D * cfg.num_labels / T;                                       // N patches, 1 CLS
  const double fwd_flops = 2 * T * linear + 4.0 * cfg.num_hidden_layers * T * T * D;  // per image
  std::printf("\nmachine:  %s\n", machine_line(roofs.kernel).c_str());
  std::printf("ceilings: sgemm %.1f GFLOP/s (OpenBLAS %s kernels) on %d threads\n", roofs.sgemm_gflops,
              roofs.kernel.c_str(), setup.threads);
  std::printf(
      "model: ViT %lld layers, %lld heads, %lld wide, patches %lldx%lld (%lld tokens); %.1f MFLOP per image "
      "forward\n\n",
      static_cast<long long>(cfg.num_hidden_layers), static_cast<long long>(cfg.num_attention_heads),
      static_cast<long long>(cfg.hidden_size), static_cast<long long>(cfg.patch_size),
      static_cast<long long>(cfg.patch_size), static_cast<long long>(cfg.seq_len()), fwd_flops / 1e6);
  std::printf("%-6s %5s %10s %10s %12s %12s %10s %9s %8s\n", "kind", "B", "ours ms", "torch ms", "ours img/s",
              "torch img/s", "ours/torch", "GFLOP/s", "%sgemm");
  for (const auto& kind : split_list(o.kinds)) {
    const json *a = nullptr, *t = nullptr;
    for (const auto& r : rows)
      if (r.value("kind", "") == kind) (r.value("impl", "") == "ours" ? a : t) = &r;
    auto ms = [](const json* r) { return r && r->contains("ms") ? (*r)["ms"].get<double>() : 0.0; };
    const double oms = ms(a), tms = ms(t), B = static_cast<double>(kind == "train" ? o.train_batch : o.infer_batch);
    char ratio[32] = "-", gf[32] = "-", pct[32] = "-";
    if (oms > 0 && tms > 0) std::snprintf(ratio, sizeof ratio, "%.2fx", tms / oms);
    if (oms > 0) {
      const double g = (kind == "train" ? 3 : 1) * fwd_flops * B / (oms * 1e-3) * 1e-9;
      std::snprintf(gf, sizeof gf, "%.1f", g);
      std::snprintf(pct, sizeof pct, "%.1f%%", 100.0 * g / roofs.sgemm_gflops);
    }
    std::printf("%-6s %5.0f %10.1f %10.1f %12.0f %12.0f %10s %9s %8s\n", kind.c_str(), B, oms, tms,
                oms > 0 ? B / (oms * 1e-3) : 0.0, tms > 0 ? B / (tms * 1e-3) : 0.0, ratio, gf, pct);
    for (const json* r : {a, t})
      if (r && r->contains("error"))
        std::printf("       %s: %s\n", (*r)["impl"].get<std::string>().c_str(),
                    (*r)["error"].get<std::string>().c_str());
  }
  return 0;
}

void add_shape_options(CLI::App* app, VitCase& c) {
  app->add_option("--patch", c.patch, "Patch size (28 must be a multiple)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app->add_option("--embd", c.embd, "Width")->capture_default_str()->check(CLI::PositiveNumber);
  app->add_option("--layers", c.layers, "Layers")->capture_default_str()->check(CLI::PositiveNumber);
  app->add_option("--heads", c.heads, "Heads")->capture_default_str()->check(CLI::PositiveNumber);
}

}  // namespace

BenchVit add_bench_vit(CLI::App& bench) {
  BenchVit b;
  auto o = std::make_shared<Opts>();
  b.vit = bench.add_subcommand("vit", "ViT training and inference images/s vs PyTorch, with the sgemm roof");
  add_shape_options(b.vit, o->shape);
  b.vit->add_option("--kinds", o->kinds, "train, infer")->capture_default_str();
  b.vit->add_option("--impl", o->impls, "ours, torch")->capture_default_str();
  b.vit->add_option("--batch", o->train_batch, "Training batch")->capture_default_str()->check(CLI::PositiveNumber);
  b.vit->add_option("--infer-batch", o->infer_batch, "Inference batch")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_bench_run_options(b.vit, *o);

  auto c = std::make_shared<VitCase>();
  b.vit_case = bench.add_subcommand("vit-case", "(internal) run one ViT case in this process, print one JSON line");
  add_shape_options(b.vit_case, *c);
  b.vit_case->add_option("--kind", c->kind)->check(CLI::IsMember({"train", "infer"}));
  b.vit_case->add_option("--B", c->B)->check(CLI::PositiveNumber);
  b.vit_case->add_option("--min-time", c->min_time);
  b.vit_case->add_option("--min-reps", c->min_reps);
  b.vit_case->group("");

  CLI::App* case_app = b.vit_case;
  b.action = [o, c, case_app]() -> int {
    if (case_app->parsed()) {
      std::cout << run_case(*c).dump() << std::endl;
      return 0;
    }
    return run_bench(*o);
  };
  return b;
}

}  // namespace attn::cli
