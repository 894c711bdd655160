// libsndfile reads and writes, libsamplerate resamples (attn/audio/audio_io.h).
#include "attn/audio/audio_io.h"

#include <samplerate.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <sstream>

#include "attn/core/error.h"
#include "attn/io/atomic_file.h"

namespace attn::audio {

namespace {

constexpr const char* kOp = "audio";

// libsndfile's virtual I/O over a string: reading an upload, or writing a WAV into memory.
struct MemoryFile {
  std::string* data;
  sf_count_t pos = 0;
};
sf_count_t mem_length(void* user) { return static_cast<sf_count_t>(static_cast<MemoryFile*>(user)->data->size()); }
sf_count_t mem_seek(sf_count_t offset, int whence, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  const sf_count_t size = static_cast<sf_count_t>(f->data->size());
  sf_count_t to = whence == SEEK_SET ? offset : whence == SEEK_CUR ? f->pos + offset : size + offset;
  f->pos = std::clamp<sf_count_t>(to, 0, std::max<sf_count_t>(size, to));
  return f->pos;
}
sf_count_t mem_read(void* ptr, sf_count_t count, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  const sf_count_t size = static_cast<sf_count_t>(f->data->size());
  const sf_count_t n = std::max<sf_count_t>(0, std::min(count, size - f->pos));
  if (n > 0) std::memcpy(ptr, f->data->data() + f->pos, static_cast<size_t>(n));
  f->pos += n;
  return n;
}
sf_count_t mem_write(const void* ptr, sf_count_t count, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  const size_t end = static_cast<size_t>(f->pos + count);
  if (f->data->size() < end) f->data->resize(end);
  std::memcpy(f->data->data() + f->pos, ptr, static_cast<size_t>(count));
  f->pos += count;
  return count;
}
sf_count_t mem_tell(void* user) { return static_cast<MemoryFile*>(user)->pos; }

// Reads every frame of an open file and mixes the channels down.
Waveform read_all(SNDFILE* sf, const SF_INFO& info, const std::string& name, const LoadOptions& options) {
  struct Closer {
    SNDFILE* f;
    ~Closer() { sf_close(f); }
  } closer{sf};
  ATTN_CHECK(info.channels > 0 && info.samplerate > 0, kOp, name << ": no channels or no sample rate in the file");
  ATTN_CHECK(info.samplerate >= 1000 && info.samplerate <= 384000, kOp,
             name << ": sample rate " << info.samplerate << " Hz outside 1000..384000");
  ATTN_CHECK(info.frames > 0, kOp, name << ": the file holds no samples");
  const double seconds = static_cast<double>(info.frames) / info.samplerate;
  ATTN_CHECK(options.max_seconds <= 0 || seconds <= options.max_seconds, kOp,
             name << ": " << std::fixed << std::setprecision(1) << seconds << " s long, more than the "
                  << options.max_seconds << " s allowed");
  Waveform w;
  w.sample_rate = info.samplerate;
  w.samples.reserve(static_cast<size_t>(info.frames));
  const int64_t channels = info.channels;
  std::vector<float> block(static_cast<size_t>(4096 * channels));
  for (;;) {
    const sf_count_t got = sf_readf_float(sf, block.data(), 4096);
    if (got <= 0) break;
    for (sf_count_t i = 0; i < got; ++i) {
      float s = 0;
      for (int64_t c = 0; c < channels; ++c) s += block[static_cast<size_t>(i * channels + c)];
      w.samples.push_back(s / static_cast<float>(channels));
    }
  }
  // A truncated file reports more frames in its header than it holds: what could be read is kept, unless
  // nothing could (libsndfile's own error then says why).
  ATTN_CHECK(!w.samples.empty(), kOp, name << ": no samples could be read (" << sf_strerror(sf) << ")");
  for (float& s : w.samples)
    if (!std::isfinite(s)) s = 0.f;
  // Integer formats arrive in [-1, 1]; a float file may hold anything. One louder than full scale is scaled down
  // to it (its shape kept), so every waveform this layer returns is in [-1, 1].
  if (const float loud = peak(w); loud > 1.f)
    for (float& s : w.samples) s /= loud;
  const float p = peak(w);
  ATTN_CHECK(options.allow_silent || p >= 1e-4f, kOp,
             name << ": the recording is silent (peak " << p << ", below -80 dBFS)");
  return w;
}

}  // namespace

float peak(const Waveform& wave) {
  float p = 0;
  for (float s : wave.samples) p = std::max(p, std::fabs(s));
  return p;
}

Waveform load_audio(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
  ATTN_CHECK(std::filesystem::exists(path, ec), kOp, path << ": no such file");
  ATTN_CHECK(!std::filesystem::is_directory(path, ec), kOp, path << ": is a folder, not a sound file");
  SF_INFO info{};
  SNDFILE* sf = sf_open(path.c_str(), SFM_READ, &info);
  ATTN_CHECK(sf != nullptr, kOp, path << ": not a sound file libsndfile can read (" << sf_strerror(nullptr) << ")");
  return read_all(sf, info, path, options);
}

Waveform load_audio_bytes(const std::string& bytes, const std::string& name, const LoadOptions& options) {
  ATTN_CHECK(!bytes.empty(), kOp, name << ": empty (0 bytes)");
  std::string copy = bytes;
  MemoryFile mf{&copy};
  SF_VIRTUAL_IO io{mem_length, mem_seek, mem_read, mem_write, mem_tell};
  SF_INFO info{};
  SNDFILE* sf = sf_open_virtual(&io, SFM_READ, &info, &mf);
  ATTN_CHECK(sf != nullptr, kOp, name << ": not a sound file libsndfile can read (" << sf_strerror(nullptr) << ")");
  return read_all(sf, info, name, options);
}

Waveform resample(const Waveform& wave, int64_t sample_rate) {
  ATTN_CHECK(sample_rate >= 1000 && sample_rate <= 384000, kOp,
             "resample: rate " << sample_rate << " Hz outside 1000..384000");
  ATTN_CHECK(wave.sample_rate > 0, kOp, "resample: the waveform has no sample rate");
  if (wave.sample_rate == sample_rate || wave.samples.empty()) {
    Waveform w = wave;
    w.sample_rate = sample_rate;
    return w;
  }
  const double ratio = static_cast<double>(sample_rate) / static_cast<double>(wave.sample_rate);
  Waveform out;
  out.sample_rate = sample_rate;
  out.samples.resize(static_cast<size_t>(std::ceil(static_cast<double>(wave.samples.size()) * ratio)) + 16);
  SRC_DATA d{};
  d.data_in = wave.samples.data();
  d.input_frames = static_cast<long>(wave.samples.size());
  d.data_out = out.samples.data();
  d.output_frames = static_cast<long>(out.samples.size());
  d.src_ratio = ratio;
  d.end_of_input = 1;
  const int err = src_simple(&d, SRC_SINC_MEDIUM_QUALITY, 1);
  ATTN_CHECK(err == 0, kOp, "resample " << wave.sample_rate << " -> " << sample_rate << " Hz: " << src_strerror(err));
  out.samples.resize(static_cast<size_t>(d.output_frames_gen));
  return out;
}

std::string wav_bytes(const Waveform& wave) {
  ATTN_CHECK(wave.sample_rate >= 1000, kOp, "wav: sample rate " << wave.sample_rate << " Hz");
  std::string data;
  MemoryFile mf{&data};
  SF_VIRTUAL_IO io{mem_length, mem_seek, mem_read, mem_write, mem_tell};
  SF_INFO info{};
  info.samplerate = static_cast<int>(wave.sample_rate);
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* sf = sf_open_virtual(&io, SFM_WRITE, &info, &mf);
  ATTN_CHECK(sf != nullptr, kOp, "wav: " << sf_strerror(nullptr));
  std::vector<float> clipped(wave.samples.size());
  for (size_t i = 0; i < clipped.size(); ++i) clipped[i] = std::clamp(wave.samples[i], -1.f, 1.f);
  sf_writef_float(sf, clipped.data(), static_cast<sf_count_t>(clipped.size()));
  sf_close(sf);
  return data;
}

void save_wav(const std::string& path, const Waveform& wave) {
  io::write_file_atomic(path, wav_bytes(wave), "save_wav");
}

}  // namespace attn::audio
