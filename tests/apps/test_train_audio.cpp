// `attn train audio` and `attn listen`, run as a user runs them, with a tiny Keyword Transformer on 4 words:
// the folder it writes, exact --resume, what it hears in a real recording, its figure, and bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attn/audio/audio_io.h"
#include "attn/audio/speech_data.h"
#include "attn/audio/synth.h"
#include "attn/audio/words.h"
#include "attn/models/kwt.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using attn::testing::CmdResult;
using attn::testing::bytes_of;
using attn::testing::run_attn;

std::string tiny(const std::string& out, const std::string& extra = "") {
  return "train audio --out '" + out + "' --words 4 --espeak-per-word 6 --flite-per-word 1 --val-per-word 2 --batch 8" +
         " --epochs 2 --embd 16 --layers 1 --heads 2 --checkpoint-every 3 " + extra;
}

const std::string& trained() {
  static const std::string dir = [] {
    const std::string d = attn::testing::fresh_dir("train_audio") + "/model";
    const CmdResult r = run_attn(tiny(d));
    EXPECT_EQ(r.code, 0) << r.out;
    return d;
  }();
  return dir;
}

TEST(TrainAudio, WritesAFolderWithMetricsAndThreeTestSets) {
  const std::string& d = trained();
  for (const char* f :
       {"config.json", "model.safetensors", "optimizer.safetensors", "metrics.jsonl", "loss.svg", "eval.json"})
    EXPECT_TRUE(fs::exists(d + "/" + f)) << f;
  const auto cfg = nlohmann::json::parse(bytes_of(d + "/config.json"));
  EXPECT_EQ(cfg["architecture"], "kwt");
  EXPECT_EQ(cfg["id2label"].size(), 4u);
  EXPECT_EQ(cfg["features"]["sample_rate"], 16000);
  const int64_t steps = cfg["attn_train"]["steps"];
  EXPECT_EQ(cfg["attn_train"]["step"], steps);
  const auto eval = nlohmann::json::parse(bytes_of(d + "/eval.json"));
  EXPECT_EQ(eval["test_real_recordings"]["count"], 4);  // the recordings of the 4 words
  EXPECT_EQ(eval["val_espeak_heldout_variants"]["count"], 8);
  EXPECT_EQ(eval["test_flite_slt"]["count"], 20);  // 4 words x 5
  EXPECT_EQ(eval["real_recordings"].size(), 4u);
  for (const char* k : {"val_espeak_heldout_variants", "test_flite_slt", "test_real_recordings"}) {
    EXPECT_GE(eval[k]["top5"].get<double>(), eval[k]["accuracy"].get<double>()) << k;
    EXPECT_EQ(eval[k]["top5"].get<double>(), 1.0) << k;  // 4 words: the top 5 hold them all
  }
}

TEST(TrainAudio, ResumeContinuesExactlyAndBadOptionsAreRefused) {
  const std::string d = attn::testing::fresh_dir("train_audio_resume");
  CmdResult r = run_attn(tiny(d + "/a", "--stop-at 3"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("stopped at step 3 of"), std::string::npos) << r.out;
  r = run_attn("train audio --out '" + d + "/a' --resume");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("resuming"), std::string::npos) << r.out;
  EXPECT_EQ(bytes_of(d + "/a/model.safetensors"), bytes_of(trained() + "/model.safetensors"));
  EXPECT_EQ(run_attn("train audio --out '" + d + "/none' --resume").code, 1);
  EXPECT_EQ(run_attn("train audio --embd 0").code, 2);
  EXPECT_EQ(run_attn("train audio --arch wav2vec --out '" + d + "/c'").code, 2);
  const CmdResult kind = run_attn(tiny(d + "/a", "--arch las --resume"));  // a KWT folder resumed as LAS
  EXPECT_EQ(kind.code, 1);
  EXPECT_NE(kind.out.find("is not a las model"), std::string::npos) << kind.out;
  const CmdResult heads = run_attn("train audio --out '" + d + "/b' --embd 10 --heads 4");
  EXPECT_NE(heads.out.find("--embd 10 must be divisible by --heads 4"), std::string::npos) << heads.out;
}

TEST(Listen, TopWordsOfARealRecordingAndItsFigure) {
  const std::string& d = trained();
  const std::string ogg = "/usr/share/ktuberling/sounds/en/egypt_arch.ogg";  // "arch", word 1 of 72
  const std::string fig = attn::testing::scratch_dir("listen") + "/arch.png";
  fs::remove(fig);
  CmdResult r = run_attn("listen --model '" + d + "' '" + ogg + "' --top 3 --figure '" + fig + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("%  "), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(fig));
  EXPECT_EQ(bytes_of(fig).substr(1, 3), "PNG");
  r = run_attn("listen --model '" + d + "' '" + ogg + "' --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["top"].size(), 4u);  // --top 5 of a 4-word model
  double total = 0;
  for (const auto& t : j["top"]) total += t["probability"].get<double>();
  EXPECT_NEAR(total, 1.0, 1e-4);
  // A synthesized WAV at 22.05 kHz is read and resampled as well.
  const std::string wav = attn::testing::scratch_dir("listen") + "/ball.wav";
  attn::audio::save_wav(wav, attn::audio::synthesize("ball", {"espeak", "en-us"}));
  EXPECT_EQ(run_attn("listen --model '" + d + "' '" + wav + "'").code, 0);
}

// Listen, Attend and Spell through the same command: trained, resumed exactly, spelling a recording.
TEST(TrainAudio, ListenAttendAndSpellTrainsResumesAndSpells) {
  const std::string d = attn::testing::fresh_dir("train_las");
  const std::string las = tiny(d + "/full", "--arch las --listener-hidden 8 --speller-hidden 12");
  CmdResult r = run_attn(las);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("Listen, Attend and Spell"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("character error rate"), std::string::npos) << r.out;
  const auto eval = nlohmann::json::parse(bytes_of(d + "/full/eval.json"));
  EXPECT_EQ(eval["architecture"], "las");
  EXPECT_EQ(eval["test_real_recordings"]["count"], 4);
  EXPECT_GE(eval["test_real_recordings"]["cer"].get<double>(), 0.0);
  EXPECT_EQ(eval["real_recordings"][0]["reference"], "alien");
  r = run_attn(tiny(d + "/part", "--arch las --listener-hidden 8 --speller-hidden 12 --stop-at 2"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = run_attn("train audio --out '" + d + "/part' --resume");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(bytes_of(d + "/part/model.safetensors"), bytes_of(d + "/full/model.safetensors"));
  const std::string fig = d + "/alien.svg";
  r = run_attn("listen --model '" + d + "/full' /usr/share/ktuberling/sounds/en/moon_alien.ogg --figure '" + fig +
               "' --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out.substr(0, r.out.rfind("figure:")));
  EXPECT_EQ(j["architecture"], "las");
  EXPECT_TRUE(j["text"].is_string());
  const std::string svg = bytes_of(fig);
  EXPECT_NE(svg.find("&lt;eos&gt;"), std::string::npos);  // the last alignment row
}

TEST(Listen, BadRecordingsExitTwoNamingTheFile) {
  const std::string& d = trained();
  const std::string dir = attn::testing::scratch_dir("listen_bad");
  std::ofstream(dir + "/text.wav") << "not audio";
  std::ofstream(dir + "/empty.ogg");
  attn::audio::Waveform silent;
  silent.samples.assign(16000, 0.f);
  attn::audio::save_wav(dir + "/silent.wav", silent);
  for (const std::string& f : {dir + "/text.wav", dir + "/empty.ogg", dir + "/silent.wav", dir + "/missing.wav"}) {
    const CmdResult r = run_attn("listen --model '" + d + "' '" + f + "'");
    EXPECT_EQ(r.code, 2) << f << ": " << r.out;
    EXPECT_NE(r.out.find(f), std::string::npos) << r.out;
  }
  const CmdResult longer =
      run_attn("listen --model '" + d + "' /usr/share/ktuberling/sounds/en/ball.ogg --max-seconds 0.5");
  EXPECT_EQ(longer.code, 2);
  EXPECT_NE(longer.out.find("more than the 0.5 s allowed"), std::string::npos) << longer.out;
  EXPECT_EQ(run_attn("listen --model /nonexistent /usr/share/ktuberling/sounds/en/ball.ogg").code, 1);
}

}  // namespace

namespace {

// The shipped models/kwt-words hears the real recordings as its eval.json says (the feature pipeline has not
// drifted from the one it was trained with), and meets the bar on them.
TEST(ShippedKwt, HearsTheRealRecordingsAsItsEvalSays) {
  const std::string dir = std::string(ATTN_SOURCE_DIR) + "/models/kwt-words";
  attn::models::LoadedKWT kwt = attn::models::load_kwt(dir);
  const auto& c = kwt.model->config();
  const attn::audio::MelSpectrogram mel(c.features.mel);
  std::vector<attn::Tensor> feats;
  std::vector<int64_t> labels;
  for (const attn::audio::Recording& r : attn::audio::load_ktuberling_recordings(c.features.mel.sample_rate)) {
    feats.push_back(attn::audio::waveform_features(r.wave, c.features, mel));
    labels.push_back(r.label);
  }
  const attn::models::KWTEvaluation e = attn::models::evaluate_kwt(*kwt.model, feats, labels);
  const auto eval = nlohmann::json::parse(bytes_of(dir + "/eval.json"));
  EXPECT_NEAR(e.accuracy, eval["test_real_recordings"]["accuracy"].get<double>(), 1e-9);
  EXPECT_NEAR(e.top5, eval["test_real_recordings"]["top5"].get<double>(), 1e-9);
  EXPECT_GE(e.accuracy, 0.60);
  EXPECT_GE(e.top5, 0.85);
}

}  // namespace
