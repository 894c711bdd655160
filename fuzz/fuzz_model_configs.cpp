// config.json of each model kind, as the loaders read it from a folder: an `attn train gpt` GPT, a Hugging
// Face GPT-2, a Hugging Face ViT, a translation model, an `attn train clip` dual encoder. The folder holds only the fuzzed config.json, so a
// config that parses goes on to a clear "missing file" error: what matters is that no field's value
// (a wrong type, a negative or huge size, NaN, a missing key) gets past the checks.
#include <string>

#include "attn/models/clip.h"
#include "attn/models/gpt2_hf.h"
#include "attn/models/gpt_loader.h"
#include "attn/models/translation_model.h"
#include "attn/models/vit.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attn;
  const std::string path = fuzz::put_file("config/config.json", fuzz::view(data, size));
  const std::string dir = path.substr(0, path.size() - std::string("/config.json").size());
  fuzz::expect_clean([&] { models::read_attn_gpt_config(dir); });
  fuzz::expect_clean([&] { models::read_hf_gpt2_config(dir); });
  fuzz::expect_clean([&] { models::load_vit(dir); });
  fuzz::expect_clean([&] { models::TranslationModel::load(dir); });
  fuzz::expect_clean([&] { models::load_clip(dir); });
  return 0;
}
