// models::TranslationModel's folder: save/load in float32 and in 16-bit storage, the tied embedding written
// once, older files that list it under all three names, and beam search's length penalty reaching the search.
#include <gtest/gtest.h>

#include <filesystem>

#include "attn/core/error.h"
#include "attn/io/safetensors.h"
#include "attn/models/translation_model.h"
#include "test_util.h"
#include "translation_fixtures.h"

using namespace attn;
namespace fs = std::filesystem;

namespace {

void expect_same_weights(models::TranslationModel& a, models::TranslationModel& b, io::StoreDtype stored) {
  const auto pa = a.module().named_parameters(), pb = b.module().named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    ASSERT_EQ(pa[i].first, pb[i].first);
    const float* x = pa[i].second.data();
    const float* y = pb[i].second.data();
    for (int64_t j = 0; j < pa[i].second.numel(); ++j) {
      const float want = stored == io::StoreDtype::F16    ? io::f16_to_float(io::float_to_f16(x[j]))
                         : stored == io::StoreDtype::BF16 ? io::bf16_to_float(io::float_to_bf16(x[j]))
                                                          : x[j];
      ASSERT_EQ(y[j], want) << pa[i].first << "[" << j << "]";
    }
  }
}

}  // namespace

TEST(TranslationModel, SavesAndLoadsInEveryStorageDtype) {
  for (const std::string arch : {"transformer", "bahdanau"}) {
    models::TranslationModel m(attn::testing::tiny_translation(arch), attn::testing::tiny_subwords());
    for (io::StoreDtype dt : {io::StoreDtype::F32, io::StoreDtype::F16, io::StoreDtype::BF16}) {
      const std::string dir =
          attn::testing::fresh_dir("translation_model_" + arch + std::to_string(static_cast<int>(dt)));
      m.save(dir, R"({"note": "test"})", dt);
      models::TranslationModel back = models::TranslationModel::load(dir);
      expect_same_weights(m, back, dt);
      if (dt == io::StoreDtype::F32)
        EXPECT_EQ(back.translate({"Der Hund bellt laut."}, 1, 3), m.translate({"Der Hund bellt laut."}, 1, 3));
    }
  }
}

TEST(TranslationModel, TiedEmbeddingIsStoredOnceAndOldFilesStillLoad) {
  models::TranslationModel m(attn::testing::tiny_translation("transformer"), attn::testing::tiny_subwords());
  const std::string dir = attn::testing::fresh_dir("translation_model_tied");
  m.save(dir);
  const io::SafeTensors file = io::load_safetensors(dir + "/model.safetensors");
  EXPECT_TRUE(file.tensors.count("src_embed.weight"));
  EXPECT_FALSE(file.tensors.count("tgt_embed.weight"));
  EXPECT_FALSE(file.tensors.count("generator.weight"));
  // A file that lists the shared matrix under all three names (the state dict as is) loads the same.
  nn::StateDict sd = m.module().state_dict();
  io::save_safetensors(dir + "/model.safetensors", io::NamedTensors(sd.begin(), sd.end()));
  models::TranslationModel old = models::TranslationModel::load(dir);
  expect_same_weights(m, old, io::StoreDtype::F32);
  // A missing tensor is still an error naming it.
  sd.erase("encoder.norm.weight");
  io::save_safetensors(dir + "/model.safetensors", io::NamedTensors(sd.begin(), sd.end()));
  EXPECT_NE(attn::testing::error_of([&] { models::TranslationModel::load(dir); }).find("encoder.norm.weight"),
            std::string::npos);
}

TEST(TranslationModel, LengthPenaltyReachesTheBeamSearch) {
  // α = 0 ranks by raw log-probability, which favours short outputs; a large α favours long ones. On an
  // untrained model the two must not give the same translations for all of a few sentences.
  models::TranslationModel m(attn::testing::tiny_translation("transformer"), attn::testing::tiny_subwords());
  const std::vector<std::string> src = {"Der Hund bellt laut.", "Ich habe keine Zeit.", "Die Katze schläft.",
                                        "Wir arbeiten heute."};
  const auto raw = m.translate(src, 4, 4, 0.f), longer = m.translate(src, 4, 4, 3.f);
  size_t raw_len = 0, long_len = 0;
  for (size_t i = 0; i < src.size(); ++i) raw_len += raw[i].size(), long_len += longer[i].size();
  EXPECT_GT(long_len, raw_len);
}

TEST(TranslationModel, SetDropoutReachesEveryDropoutOfBothArchitectures) {
  // In training mode a network with dropout gives a different output each call; after set_dropout(0) it is
  // deterministic and equals the eval-mode output — so no dropout (embedding, residual, feed-forward,
  // attention weights, GRU output) was left behind.
  for (const std::string arch : {"transformer", "bahdanau"}) {
    models::TranslationModelOptions o = attn::testing::tiny_translation(arch);
    o.dropout = 0.5f;
    models::TranslationModel m(o, attn::testing::tiny_subwords());
    const IndexTensor src({5, 9, 12, 7, 3, 6, 11, 3}, {2, 4}), tgt({2, 8, 10, 4, 2, 13, 5, 9}, {2, 4});
    m.module().eval();
    const std::vector<float> ref = m.logits(src, tgt).to_vector();
    m.module().train();
    EXPECT_NE(m.logits(src, tgt).to_vector(), ref) << arch;
    m.set_dropout(0.f);
    EXPECT_EQ(m.options().dropout, 0.f);
    const std::vector<float> a = m.logits(src, tgt).to_vector();
    ASSERT_EQ(a.size(), ref.size());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], ref[i], 1e-5f) << arch << " [" << i << "]";
    EXPECT_THROW(m.set_dropout(1.f), attn::Error);
    EXPECT_THROW(m.set_dropout(-0.1f), attn::Error);
  }
}
