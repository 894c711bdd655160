// Speech synthesized on this machine: the training voices of the audio models (attn/audio/speech_data.h).
//
// Two synthesizers from Debian's packages, both driven through their C libraries:
//   - eSpeak NG (libespeak-ng-dev): formant synthesis, 8 English accents (en, en-us, en-gb-scotland, ...)
//     times ~100 voice variants (m1..m8, f1..f5, klatt, whisper, ...), with rate, pitch, pitch range
//     and the gap between words as parameters;
//   - Flite (flite1-dev), CMU's small Festival: 5 US English voices (awb, kal, kal16, rms, slt), diphone,
//     unit-selection and statistical-parametric voices; speed and pitch as parameters.
// The two sound different from each other and from people: the models are tested on Flite voices they never
// heard and on real recordings (attn/audio/words.h) to see how far synthetic training carries.
//
// eSpeak NG keeps global state and Flite's voices are shared objects: every call here takes one lock, so
// synthesis runs one utterance at a time (fast enough: hundreds of words a second).
#pragma once
#include <string>
#include <vector>

#include "attn/audio/audio_io.h"

namespace attn::audio {

struct SynthVoice {
  std::string engine = "espeak";  // "espeak" or "flite"
  std::string name = "en-us";     // espeak: accent, "+variant" optional ("en-us+f3"); flite: awb, kal, kal16, rms, slt
  int rate = 175;                 // espeak: words per minute (80..450); flite: 175 = its normal speed
  int pitch = 50;                 // espeak: 0..100 (50 normal); flite: 50 = its own, each step ±1% of its f0
  int range = 50;                 // espeak: pitch range 0..100; flite: ignored
  int word_gap = 0;               // espeak: pause between words, in units of 10 ms; flite: ignored
  std::string describe() const;   // "espeak en-us+f3 rate 175 pitch 50 range 50"
};

// `text` spoken by `voice`, mono at the synthesizer's own rate (eSpeak 22050 Hz; Flite 16000, kal 8000).
// attn::Error naming the voice if the synthesizer does not know it or produces nothing.
Waveform synthesize(const std::string& text, const SynthVoice& voice);

// Many utterances, synthesized in `workers` child processes (fork): eSpeak NG crashes on a few rare
// combinations of text, variant and speed (seen: "cyclist", en-us+Demonic, 118 words a minute, pitch range 92),
// and a child that dies takes only its current utterance with it — that one comes back empty, the child is
// restarted after it, and the rest are kept. Results are in the order of `jobs`; an empty Waveform (no
// samples) is an utterance that crashed or failed.
std::vector<Waveform> synthesize_all(const std::vector<std::pair<std::string, SynthVoice>>& jobs, int workers = 2);

// What is installed: eSpeak NG's English accents and voice variants (from its data folder), Flite's voices.
std::vector<std::string> espeak_english_accents();
std::vector<std::string> espeak_variants();
std::vector<std::string> flite_voices();

}  // namespace attn::audio
