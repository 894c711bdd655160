// eSpeak NG and Flite through their C APIs (attn/audio/synth.h).
#include "attn/audio/synth.h"

#include <espeak-ng/speak_lib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <sstream>

#include "attn/core/error.h"

extern "C" {
#include <flite/flite.h>
cst_voice* register_cmu_us_awb(const char* voxdir);
cst_voice* register_cmu_us_kal(const char* voxdir);
cst_voice* register_cmu_us_kal16(const char* voxdir);
cst_voice* register_cmu_us_rms(const char* voxdir);
cst_voice* register_cmu_us_slt(const char* voxdir);
}

namespace attn::audio {

namespace {

constexpr const char* kOp = "synthesize";

std::mutex& synth_mutex() {
  static std::mutex m;
  return m;
}

// eSpeak NG: initialized once, synchronous output collected by the callback.
std::vector<short>* g_espeak_out = nullptr;
int espeak_collect(short* wav, int n, espeak_EVENT*) {
  if (wav && n > 0 && g_espeak_out) g_espeak_out->insert(g_espeak_out->end(), wav, wav + n);
  return 0;
}
int espeak_rate_hz() {  // under the lock
  static int rate = [] {
    const int r = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nullptr, 0);
    if (r > 0) espeak_SetSynthCallback(espeak_collect);
    return r;
  }();
  ATTN_CHECK(rate > 0, kOp, "eSpeak NG could not start (is espeak-ng-data installed?)");
  return rate;
}

std::string espeak_data_dir() {  // under the lock
  espeak_rate_hz();
  const char* path = nullptr;
  espeak_Info(&path);
  return path ? std::string(path) : std::string("/usr/lib/x86_64-linux-gnu/espeak-ng-data");
}

cst_voice* flite_voice(const std::string& name) {  // under the lock
  static bool started = [] {
    flite_init();
    return true;
  }();
  (void)started;
  static std::vector<std::pair<std::string, cst_voice*>> voices;
  for (auto& [n, v] : voices)
    if (n == name) return v;
  cst_voice* v = nullptr;
  if (name == "awb") v = register_cmu_us_awb(nullptr);
  else if (name == "kal") v = register_cmu_us_kal(nullptr);
  else if (name == "kal16") v = register_cmu_us_kal16(nullptr);
  else if (name == "rms") v = register_cmu_us_rms(nullptr);
  else if (name == "slt") v = register_cmu_us_slt(nullptr);
  else ATTN_FAIL(kOp, "no Flite voice '" << name << "' (there are awb, kal, kal16, rms, slt)");
  ATTN_CHECK(v != nullptr, kOp, "Flite could not load its voice '" << name << "'");
  voices.emplace_back(name, v);
  return v;
}

Waveform from_shorts(const short* s, size_t n, int64_t rate) {
  Waveform w;
  w.sample_rate = rate;
  w.samples.resize(n);
  for (size_t i = 0; i < n; ++i) w.samples[i] = static_cast<float>(s[i]) / 32768.f;
  return w;
}

}  // namespace

std::string SynthVoice::describe() const {
  std::ostringstream os;
  os << engine << " " << name << " rate " << rate << " pitch " << pitch;
  if (engine == "espeak") os << " range " << range << (word_gap ? " gap " + std::to_string(word_gap) : "");
  return os.str();
}

Waveform synthesize(const std::string& text, const SynthVoice& voice) {
  ATTN_CHECK(!text.empty(), kOp, "no text to speak");
  std::lock_guard<std::mutex> lock(synth_mutex());
  Waveform w;
  if (voice.engine == "espeak") {
    const int rate = espeak_rate_hz();
    ATTN_CHECK(espeak_SetVoiceByName(voice.name.c_str()) == EE_OK, kOp, "eSpeak NG has no voice '" << voice.name << "'");
    espeak_SetParameter(espeakRATE, std::clamp(voice.rate, 80, 450), 0);
    espeak_SetParameter(espeakPITCH, std::clamp(voice.pitch, 0, 100), 0);
    espeak_SetParameter(espeakRANGE, std::clamp(voice.range, 0, 100), 0);
    espeak_SetParameter(espeakWORDGAP, std::max(voice.word_gap, 0), 0);
    std::vector<short> out;
    g_espeak_out = &out;
    const espeak_ERROR e = espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, nullptr, nullptr);
    espeak_Synchronize();
    g_espeak_out = nullptr;
    ATTN_CHECK(e == EE_OK, kOp, voice.describe() << ": eSpeak NG failed on '" << text << "'");
    w = from_shorts(out.data(), out.size(), rate);
  } else if (voice.engine == "flite") {
    cst_voice* v = flite_voice(voice.name);
    // Speed: duration_stretch > 1 is slower; pitch: the mean f0 scaled around the voice's own.
    feat_set_float(v->features, "duration_stretch", 175.f / static_cast<float>(std::clamp(voice.rate, 80, 450)));
    static std::vector<std::pair<std::string, float>> base_f0;
    float f0 = 0;
    for (auto& [n, f] : base_f0)
      if (n == voice.name) f0 = f;
    if (f0 == 0) {
      f0 = feat_present(v->features, "int_f0_target_mean") ? feat_float(v->features, "int_f0_target_mean") : 100.f;
      base_f0.emplace_back(voice.name, f0);
    }
    feat_set_float(v->features, "int_f0_target_mean", f0 * (1.f + 0.01f * static_cast<float>(voice.pitch - 50)));
    cst_wave* cw = flite_text_to_wave(text.c_str(), v);
    ATTN_CHECK(cw != nullptr && cw->num_samples > 0, kOp, voice.describe() << ": Flite produced no sound for '" << text << "'");
    w = from_shorts(cw->samples, static_cast<size_t>(cw->num_samples) * static_cast<size_t>(std::max(cw->num_channels, 1)),
                    cw->sample_rate);
    delete_wave(cw);
  } else {
    ATTN_FAIL(kOp, "no synthesizer '" << voice.engine << "' (espeak or flite)");
  }
  ATTN_CHECK(!w.samples.empty(), kOp, voice.describe() << " produced no sound for '" << text << "'");
  return w;
}

std::vector<std::string> espeak_english_accents() {
  std::string dir;
  {
    std::lock_guard<std::mutex> lock(synth_mutex());
    dir = espeak_data_dir();
  }
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(dir) / "lang" / "gmw", ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("en", 0) == 0) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> espeak_variants() {
  std::string dir;
  {
    std::lock_guard<std::mutex> lock(synth_mutex());
    dir = espeak_data_dir();
  }
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(dir) / "voices" / "!v", ec))
    if (e.is_regular_file()) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> flite_voices() { return {"awb", "kal", "kal16", "rms", "slt"}; }

}  // namespace attn::audio
