#include "train_runs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "attn/io/safetensors.h"

namespace attn::testing {

std::vector<double> logged_losses(const std::string& dir, const std::string& split) {
  std::ifstream in(dir + "/metrics.jsonl");
  EXPECT_TRUE(in.good()) << dir << "/metrics.jsonl";
  std::vector<double> out;
  std::string line;
  while (std::getline(in, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j["split"] == split) out.push_back(j["loss"].get<double>());
  }
  return out;
}

float max_weight_diff(const std::string& a, const std::string& b) {
  const io::SafeTensors x = io::load_safetensors(a + "/model.safetensors");
  const io::SafeTensors y = io::load_safetensors(b + "/model.safetensors");
  EXPECT_EQ(x.tensors.size(), y.tensors.size());
  float worst = 0;
  for (const auto& [name, t] : x.tensors) {
    const auto it = y.tensors.find(name);
    if (it == y.tensors.end()) {
      ADD_FAILURE() << name << " missing from " << b;
      continue;
    }
    for (int64_t i = 0; i < t.numel(); ++i) worst = std::max(worst, std::fabs(t.data()[i] - it->second.data()[i]));
  }
  return worst;
}

void expect_close(const std::vector<double>& a, const std::vector<double>& b, double tol, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << what << " at " << i;
}

void write_animal_dictionary(const std::string& path, int pairs) {
  std::ofstream out(path);
  const char* animals[][2] = {
      {"Hund", "dog"}, {"Katze", "cat"}, {"Vogel", "bird"}, {"Fisch", "fish"}, {"Pferd", "horse"}};
  const char* verbs[][2] = {{"schläft", "sleeps"}, {"läuft", "runs"}, {"frisst", "eats"}, {"spielt", "plays"}};
  for (int i = 0; i < pairs; ++i) {
    const auto& a = animals[i % 5];
    const auto& v = verbs[(i / 5) % 4];
    out << a[0] << " {m} | Der " << a[0] << " " << v[0] << " heute " << i << " Mal. :: " << a[1] << " | The " << a[1]
        << " " << v[1] << " " << i << " times today.\n";
  }
  EXPECT_TRUE(out.good()) << path;
}

}  // namespace attn::testing
