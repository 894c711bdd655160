#include "attn/trainers/common.h"

#include <numeric>

#include <signal.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <fstream>
#include <sstream>

#include "attn/core/error.h"
#include "attn/io/atomic_file.h"
#include "attn/io/safetensors.h"
#include "attn/nn/state_dict.h"

namespace attn::trainers {

using nlohmann::json;

std::string read_text_file(const std::filesystem::path& p, const char* op) {
  std::ifstream in(p, std::ios::binary);
  ATTN_CHECK(in, op, "cannot read " << p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TwoGroupAdamW::TwoGroupAdamW(const std::vector<Tensor>& decay_params, const std::vector<Tensor>& no_decay_params,
                             float lr, float beta1, float beta2, float weight_decay, float eps)
    : decay(std::make_unique<nn::AdamW>(decay_params,
                                        nn::AdamWOptions(lr).betas(beta1, beta2).eps(eps).weight_decay(weight_decay))),
      no_decay(std::make_unique<nn::AdamW>(no_decay_params,
                                           nn::AdamWOptions(lr).betas(beta1, beta2).eps(eps).weight_decay(0.f))) {}

void TwoGroupAdamW::save(const std::string& path, int64_t step, const std::map<std::string, std::string>& extra) const {
  io::NamedTensors all;
  for (const auto& [k, t] : decay->state_dict()) all.emplace_back("decay." + k, t);
  for (const auto& [k, t] : no_decay->state_dict()) all.emplace_back("no_decay." + k, t);
  std::map<std::string, std::string> metadata = extra;
  metadata["step"] = std::to_string(step);
  io::save_safetensors(path, all, metadata);
}

int64_t checkpoint_step(const std::string& path) {
  try {
    const std::map<std::string, std::string> metadata = io::load_safetensors_metadata(path);
    const auto it = metadata.find("step");
    return it == metadata.end() ? -1 : std::stoll(it->second);
  } catch (const std::exception&) {  // missing, cut short, or a step that is not a number
    return -1;
  }
}

int64_t TwoGroupAdamW::load(const std::string& path, const char* op, std::map<std::string, std::string>* metadata) {
  io::SafeTensors st = io::load_safetensors(path);
  if (metadata) *metadata = st.metadata;
  nn::StateDict d, n;
  for (const auto& [k, t] : st.tensors) {
    if (k.rfind("decay.", 0) == 0) d.insert(k.substr(6), t);
    else if (k.rfind("no_decay.", 0) == 0) n.insert(k.substr(9), t);
    else ATTN_FAIL(op, path << ": unexpected tensor " << k);
  }
  decay->load_state_dict(d);
  no_decay->load_state_dict(n);
  auto it = st.metadata.find("step");
  ATTN_CHECK(it != st.metadata.end(), op, path << " has no step in its metadata");
  return std::stoll(it->second);
}

void split_weight_matrices(const nn::NamedTensors& named, std::vector<Tensor>* decay, std::vector<Tensor>* no_decay) {
  for (const auto& [name, p] : named) {
    const bool is_weight = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
    (is_weight && p.dim() >= 2 ? decay : no_decay)->push_back(p);
  }
}

void keep_previous_optimizer(const std::filesystem::path& dir) {
  const std::filesystem::path optimizer = dir / "optimizer.safetensors";
  if (std::filesystem::exists(optimizer)) std::filesystem::rename(optimizer, dir / "optimizer.prev.safetensors");
}

std::string optimizer_for_step(const std::filesystem::path& dir, int64_t step) {
  for (const char* f : {"optimizer.safetensors", "optimizer.prev.safetensors"})
    if (checkpoint_step((dir / f).string()) == step) return (dir / f).string();
  return "";
}

int remove_stale_temporaries(const std::filesystem::path& dir) {
  std::error_code ec;
  int removed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const size_t at = name.rfind(".tmp.");
    if (at == std::string::npos || at + 5 >= name.size()) continue;
    const std::string pid_text = name.substr(at + 5);
    if (pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // its writer may still be at work
    if (std::filesystem::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

json rng_json(const Generator& g) {
  const Generator::State s = g.get_state();
  return {
      {"state", s.state}, {"inc", s.inc}, {"has_spare", s.has_spare}, {"spare_bits", std::bit_cast<uint32_t>(s.spare)}};
}

Generator::State rng_state_from(const json& j) {
  return {j.at("state").get<uint64_t>(), j.at("inc").get<uint64_t>(), j.at("has_spare").get<bool>(),
          std::bit_cast<float>(j.at("spare_bits").get<uint32_t>())};
}

void read_metrics(const std::filesystem::path& path, int64_t keep_until_step, std::vector<double>* tx,
                  std::vector<double>* ty, std::vector<double>* vx, std::vector<double>* vy) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    // A line cut short by a killed run, or not one of ours: skipped.
    if (j.is_discarded() || !j.is_object() || !j.contains("step") || !j["step"].is_number_integer()) continue;
    const int64_t step = j["step"].get<int64_t>();
    if (keep_until_step >= 0 && step > keep_until_step) continue;
    kept += line + "\n";
    if (!j.contains("loss") || !j["loss"].is_number()) continue;
    const bool val = j.contains("split") && j["split"] == "val";
    (val ? vx : tx)->push_back(static_cast<double>(step));
    (val ? vy : ty)->push_back(j["loss"].get<double>());
  }
  if (keep_until_step >= 0) io::write_file_atomic(path.string(), kept);
}

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  Generator gen(seed + 1, static_cast<uint64_t>(epoch));
  gen.shuffle(order);
  return order;
}

nlohmann::json read_train_state(const std::filesystem::path& dir, const char* op, const char* what) {
  const std::filesystem::path cfg_path = dir / "config.json";
  ATTN_CHECK(std::filesystem::exists(cfg_path), op,
             "--resume: no checkpoint in " << dir.string() << " (config.json missing)");
  const nlohmann::json saved = nlohmann::json::parse(read_text_file(cfg_path, op), nullptr, false);
  ATTN_CHECK(!saved.is_discarded() && saved.contains("attn_train") && saved["attn_train"].is_object(), op,
             cfg_path.string() << " is not an " << what << " checkpoint (no \"attn_train\")");
  return saved["attn_train"];
}

int64_t resume_optimizer(const std::filesystem::path& dir, int64_t config_step, Update& opt, const char* op,
                         std::ostream& log, std::vector<double>* tx, std::vector<double>* ty, std::vector<double>* vx,
                         std::vector<double>* vy) {
  // The optimizer file of the weights' step (the newest, or the previous one after a kill between the two).
  const int64_t model_step = checkpoint_step((dir / "model.safetensors").string());
  const int64_t at = model_step >= 0 ? model_step : config_step;  // folders from before the weights named their step
  const std::string optimizer = optimizer_for_step(dir, at);
  ATTN_CHECK(!optimizer.empty(), op,
             "checkpoint files in " << dir.string() << " are from different steps (weights " << at << ", config.json "
                                    << config_step << ") and no optimizer file matches the weights");
  opt.load(optimizer, op);
  if (at != config_step)
    log << "the last save was interrupted after the weights of step " << at << ": resuming there\n";
  if (tx) read_metrics(dir / "metrics.jsonl", at, tx, ty, vx, vy);
  log << "resuming " << dir.string() << " at step " << at << "\n";
  return at;
}

}  // namespace attn::trainers
