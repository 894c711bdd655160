// The explorer's Audio tab (/api/audio/..., src/attn/explore/audio_view.h), called through Explorer::handle with
// the shipped speech models and KTuberling's recordings: what it sends is checked against the models called
// directly, and every kind of bad request gets its 4xx and a message.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "attn/audio/audio_io.h"
#include "attn/audio/speech_data.h"
#include "attn/audio/synth.h"
#include "attn/autograd/autograd.h"
#include "attn/explore/audio_view.h"
#include "attn/explore/explorer.h"
#include "attn/models/gpt_loader.h"
#include "attn/ops/ops.h"
#include "gpt_fixtures.h"
#include "test_util.h"

using namespace attn;
using json = nlohmann::json;
using attn::testing::base64_decode;
using attn::testing::decode_floats;

namespace {

const std::string kKwt = std::string(ATTN_SOURCE_DIR) + "/models/kwt-words";
const std::string kLas = std::string(ATTN_SOURCE_DIR) + "/models/las-words";

struct Fixture {
  std::unique_ptr<explore::Explorer> ex;
  explicit Fixture(bool kwt = true, bool las = true, explore::Limits limits = explore::Limits()) {
    ex = std::make_unique<explore::Explorer>(
        models::load_gpt(attn::testing::tiny_char_gpt_folder("audio_view_gpt"), ATTN_SOURCE_DIR), "gpt", limits);
    if (kwt || las)
      ex->set_audio(std::make_unique<explore::AudioExplorer>(kwt ? models::load_kwt(kKwt) : models::LoadedKWT(),
                                                             las ? models::load_las(kLas) : models::LoadedLAS()));
  }
  json call(const std::string& method, const std::string& path, const std::map<std::string, std::string>& q = {},
            const std::string& body = "", int expect = 200) {
    explore::ApiResponse r = ex->handle(method, path, q, body);
    EXPECT_EQ(r.status, expect) << method << " " << path << " -> " << r.body.substr(0, 300);
    json j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }
  std::string error(const std::string& path, const std::map<std::string, std::string>& q, const std::string& body,
                    int expect, const std::string& method = "POST") {
    json j = call(method, path, q, body, expect);
    return j.contains("error") ? j["error"].get<std::string>() : "(no error)";
  }
};

TEST(AudioView, InfoRecordingsAndAnAnalysisAsTheModelsComputeIt) {
  Fixture f;
  const json info = f.call("GET", "/api/info");
  const json& a = info["audio"];
  ASSERT_TRUE(a.is_object()) << info.dump().substr(0, 500);
  EXPECT_EQ(a["recordings"], 72);
  EXPECT_EQ(a["kwt"]["n_layer"], 4);
  EXPECT_EQ(a["kwt"]["tokens"], 60);
  EXPECT_EQ(a["las"]["keys"], 30);
  EXPECT_EQ(info["limits"]["max_audio_bytes"], 16 << 20);
  const json list = f.call("GET", "/api/audio/recordings");
  ASSERT_EQ(list["recordings"].size(), 72u);
  EXPECT_EQ(list["recordings"][5]["word"], "ball");
  EXPECT_EQ(list["recordings"][5]["file"], "ball.ogg");

  const json r = f.call("POST", "/api/audio/analyze", {{"index", "5"}});
  EXPECT_EQ(r["label"], "ball");
  EXPECT_EQ(r["source"], "ball.ogg");
  const std::string wav = base64_decode(r["wav"].get<std::string>());
  ASSERT_GT(wav.size(), 44u);
  EXPECT_EQ(wav.substr(0, 4), "RIFF");
  EXPECT_EQ(wav.substr(8, 4), "WAVE");
  const std::vector<float> spec = decode_floats(r["spectrogram"]["values"]);
  ASSERT_EQ(spec.size(), 40u * 121u);
  // The same recording through the models directly.
  const audio::Recording rec = audio::load_ktuberling_recordings(16000)[5];
  models::LoadedKWT kwt = models::load_kwt(kKwt);
  const audio::MelSpectrogram mel(kwt.model->config().features.mel);
  const Tensor x = audio::waveform_features(rec.wave, kwt.model->config().features, mel);
  for (int64_t t = 0; t < 121; t += 7)
    for (int64_t m = 0; m < 40; m += 3) ASSERT_NEAR(spec[static_cast<size_t>(m * 121 + t)], x.data()[t * 40 + m], 1e-5);
  NoGradGuard ng;
  const models::KWTOutput o = kwt.model->forward(x, true);
  const Tensor p = softmax(o.logits, -1);
  const int64_t best = std::max_element(p.data(), p.data() + 72) - p.data();
  EXPECT_EQ(r["kwt"]["top"][0]["word"], kwt.model->config().label(best));
  EXPECT_NEAR(r["kwt"]["top"][0]["probability"].get<double>(), p.data()[best], 1e-6);
  const std::vector<float> cls = decode_floats(r["kwt"]["cls_attention"]);
  ASSERT_EQ(cls.size(), 4u * 4u * 60u);
  for (int64_t l = 0; l < 4; ++l)
    for (int64_t h = 0; h < 4; ++h) {
      double s = 0;
      for (int64_t k = 0; k < 60; ++k) {
        const float v = cls[static_cast<size_t>((l * 4 + h) * 60 + k)];
        ASSERT_NEAR(v, o.attentions[static_cast<size_t>(l)].data()[h * 61 * 61 + 1 + k], 1e-6);
        s += v;
      }
      EXPECT_LE(s, 1.0 + 1e-5);  // what is left went to the CLS token itself
    }
  models::LoadedLAS las = models::load_las(kLas);
  const models::LASDecoded d = las.model->greedy_decode(x);
  EXPECT_EQ(r["las"]["text"], d.text[0]);
  EXPECT_EQ(r["las"]["reference"], "ball");
  const std::vector<float> align = decode_floats(r["las"]["alignment"]);
  ASSERT_EQ(align.size(), (d.text[0].size() + 1) * 30);
  for (size_t row = 0; row < align.size() / 30; ++row) {
    double s = 0;
    for (size_t k = 0; k < 30; ++k) s += align[row * 30 + k];
    EXPECT_NEAR(s, 1.0, 1e-4) << row;
  }
}

TEST(AudioView, UploadsAnyRateAndChannelCount) {
  Fixture f(true, false);
  audio::Waveform w = audio::synthesize("pepperoni", {"espeak", "en-us"});  // 22.05 kHz
  const json r = f.call("POST", "/api/audio/analyze", {}, audio::wav_bytes(w));
  EXPECT_TRUE(r["label"].is_null());
  EXPECT_EQ(r["source"], "uploaded recording");
  EXPECT_EQ(r["sample_rate"], 16000);
  EXPECT_NEAR(r["seconds"].get<double>(), w.seconds(), 0.01);
  EXPECT_FALSE(r.contains("las"));
  EXPECT_EQ(r["kwt"]["top"].size(), 5u);
}

TEST(AudioView, BadRequestsAreNamed) {
  explore::Limits small;
  small.max_audio_bytes = 20000;
  small.max_audio_seconds = 0.5;
  Fixture f(true, true, small);
  EXPECT_NE(f.error("/api/audio/analyze", {{"index", "72"}}, "", 400).find("outside 0..71"), std::string::npos);
  EXPECT_NE(f.error("/api/audio/analyze", {}, "", 400).find("either ?index=N"), std::string::npos);
  EXPECT_NE(f.error("/api/audio/analyze", {{"index", "1"}}, "RIFF", 400).find("not both"), std::string::npos);
  EXPECT_NE(f.error("/api/audio/analyze", {}, "this is not sound", 400).find("not a sound file"), std::string::npos);
  audio::Waveform silent;
  silent.samples.assign(4000, 0.f);
  EXPECT_NE(f.error("/api/audio/analyze", {}, audio::wav_bytes(silent), 400).find("silent"), std::string::npos);
  audio::Waveform second;
  second.samples.assign(9000, 0.1f);  // 0.56 s at 16 kHz: under 20,000 bytes, over 0.5 s
  EXPECT_NE(f.error("/api/audio/analyze", {}, audio::wav_bytes(second), 400).find("more than the 0.5 s allowed"),
            std::string::npos);
  audio::Waveform big;
  big.samples.assign(12000, 0.1f);  // 24 kB
  EXPECT_NE(f.error("/api/audio/analyze", {}, audio::wav_bytes(big), 413).find("the limit is 20000"),
            std::string::npos);
  EXPECT_NE(f.error("/api/audio/analyze", {{"index", "1"}}, "", 405, "GET").find("takes POST"), std::string::npos);
  Fixture none(false, false);
  EXPECT_NE(none.error("/api/audio/recordings", {}, "", 404, "GET").find("models/kwt-words"), std::string::npos);
  EXPECT_TRUE(none.call("GET", "/api/info")["audio"].is_null());
}

}  // namespace
