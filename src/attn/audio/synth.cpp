// eSpeak NG and Flite through their C APIs (attn/audio/synth.h).
#include "attn/audio/synth.h"

#include <espeak-ng/speak_lib.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
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
    ATTN_CHECK(espeak_SetVoiceByName(voice.name.c_str()) == EE_OK, kOp,
               "eSpeak NG has no voice '" << voice.name << "'");
    espeak_SetParameter(espeakRATE, std::clamp(voice.rate, 80, 450), 0);
    espeak_SetParameter(espeakPITCH, std::clamp(voice.pitch, 0, 100), 0);
    espeak_SetParameter(espeakRANGE, std::clamp(voice.range, 0, 100), 0);
    espeak_SetParameter(espeakWORDGAP, std::max(voice.word_gap, 0), 0);
    std::vector<short> out;
    g_espeak_out = &out;
    const espeak_ERROR e =
        espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, nullptr, nullptr);
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
    ATTN_CHECK(cw != nullptr && cw->num_samples > 0, kOp,
               voice.describe() << ": Flite produced no sound for '" << text << "'");
    w = from_shorts(cw->samples,
                    static_cast<size_t>(cw->num_samples) * static_cast<size_t>(std::max(cw->num_channels, 1)),
                    cw->sample_rate);
    delete_wave(cw);
  } else {
    ATTN_FAIL(kOp, "no synthesizer '" << voice.engine << "' (espeak or flite)");
  }
  ATTN_CHECK(!w.samples.empty(), kOp, voice.describe() << " produced no sound for '" << text << "'");
  return w;
}

namespace {

bool write_all(int fd, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t w = ::write(fd, c, n);
    if (w <= 0) return false;
    c += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// A child process that synthesizes jobs[first], jobs[first + stride], ... and writes each result to its pipe:
// int64 index, int64 rate, int64 n (-1: failed), then n int16 samples. Forked from the calling thread only (a
// fork while another thread of ours holds an allocator lock would leave the child deadlocked — seen under
// AddressSanitizer), so the parent reads every child's pipe from this one thread with poll().
struct Child {
  pid_t pid = -1;
  int fd = -1;
  size_t next = 0;      // the first job this child was started at
  size_t expected = 0;  // the next job it owes
  std::string buf;      // bytes read but not yet a whole record
};

void start_child(const std::vector<std::pair<std::string, SynthVoice>>& jobs, size_t first, size_t stride, Child* c) {
  int fds[2];
  ATTN_CHECK(::pipe(fds) == 0, kOp, "pipe() failed");
  const pid_t pid = ::fork();
  ATTN_CHECK(pid >= 0, kOp, "fork() failed");
  if (pid == 0) {
    ::close(fds[0]);
    for (size_t i = first; i < jobs.size(); i += stride) {
      int64_t head[3] = {static_cast<int64_t>(i), 0, -1};
      std::vector<int16_t> pcm;
      try {
        const Waveform w = synthesize(jobs[i].first, jobs[i].second);
        head[1] = w.sample_rate;
        head[2] = static_cast<int64_t>(w.samples.size());
        pcm.resize(w.samples.size());
        for (size_t k = 0; k < pcm.size(); ++k)
          pcm[k] = static_cast<int16_t>(std::lround(std::clamp(w.samples[k], -1.f, 1.f) * 32767.f));
      } catch (...) {
      }
      if (!write_all(fds[1], head, sizeof head) || !write_all(fds[1], pcm.data(), pcm.size() * sizeof(int16_t)))
        ::_exit(1);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  c->pid = pid;
  c->fd = fds[0];
  c->next = c->expected = first;
  c->buf.clear();
}

// Takes the whole records out of c->buf into `out`.
void take_records(Child* c, size_t stride, std::vector<Waveform>* out) {
  size_t at = 0;
  for (;;) {
    if (c->buf.size() - at < 3 * sizeof(int64_t)) break;
    int64_t head[3];
    std::memcpy(head, c->buf.data() + at, sizeof head);
    const size_t n = static_cast<size_t>(std::max<int64_t>(head[2], 0));
    if (c->buf.size() - at - sizeof head < n * sizeof(int16_t)) break;
    Waveform& w = (*out)[static_cast<size_t>(head[0])];
    w.sample_rate = head[1];
    w.samples.resize(n);
    const char* p = c->buf.data() + at + sizeof head;
    for (size_t k = 0; k < n; ++k) {
      int16_t v;
      std::memcpy(&v, p + k * sizeof(int16_t), sizeof v);
      w.samples[k] = static_cast<float>(v) / 32768.f;
    }
    c->expected = static_cast<size_t>(head[0]) + stride;
    at += sizeof head + n * sizeof(int16_t);
  }
  c->buf.erase(0, at);
}

}  // namespace

std::vector<Waveform> synthesize_all(const std::vector<std::pair<std::string, SynthVoice>>& jobs, int workers) {
  std::vector<Waveform> out(jobs.size());
  const size_t stride = static_cast<size_t>(std::clamp(workers, 1, 16));
  std::vector<Child> children(stride);
  size_t running = 0;
  for (size_t k = 0; k < stride && k < jobs.size(); ++k) {
    start_child(jobs, k, stride, &children[k]);
    ++running;
  }
  std::vector<char> chunk(1 << 16);
  while (running > 0) {
    std::vector<pollfd> fds;
    std::vector<size_t> who;
    for (size_t k = 0; k < children.size(); ++k)
      if (children[k].fd >= 0) {
        fds.push_back({children[k].fd, POLLIN, 0});
        who.push_back(k);
      }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      ATTN_FAIL(kOp, "poll() failed");
    }
    for (size_t f = 0; f < fds.size(); ++f) {
      if (!(fds[f].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Child& c = children[who[f]];
      const ssize_t r = ::read(c.fd, chunk.data(), chunk.size());
      if (r > 0) {
        c.buf.append(chunk.data(), static_cast<size_t>(r));
        take_records(&c, stride, &out);
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      // The child closed its pipe: finished, or crashed taking jobs[expected] with it (left empty).
      ::close(c.fd);
      c.fd = -1;
      int status = 0;
      ::waitpid(c.pid, &status, 0);
      --running;
      const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!clean && c.expected + stride < jobs.size()) {
        start_child(jobs, c.expected + stride, stride, &c);
        ++running;
      }
    }
  }
  return out;
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
