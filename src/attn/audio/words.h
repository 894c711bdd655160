// The spoken-word vocabulary of the audio models, and the real human recordings they are tested on.
//
// KTuberling ("potato guy", a KDE game for children) names each object the child places, in a human voice:
// Debian's ktuberling-data ships those recordings as OGG/Vorbis files, 72 English words (and the same objects
// in ~20 other languages) under /usr/share/ktuberling/sounds/en/<stem>.ogg, 44.1 kHz stereo, about a second
// each, one speaker per scene. The vocabulary is those 72 words; the file stems carry a scene prefix
// (egypt_, moon_, pizzeria_, tv_) and two spellings of the game's own ("broccolli", "sphynx"), so each word
// is listed with the text the synthesizers are asked to say.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "attn/audio/audio_io.h"

namespace attn::audio {

inline constexpr const char* kKtuberlingSounds = "/usr/share/ktuberling/sounds";

struct Word {
  std::string label;  // the class name: the file stem without its scene ("sphynx", "palmtree")
  std::string stem;   // the recording's file name without .ogg ("egypt_sphynx")
  std::string text;   // what the synthesizers say ("sphinx", "palm tree")
};

// The 72 words, in class-id order (sorted by label).
const std::vector<Word>& ktuberling_words();
// The class id of a label, or -1.
int64_t word_id(const std::string& label);

struct Recording {
  std::string path;
  int64_t label = -1;  // class id
  Waveform wave;       // mono, resampled to the requested rate
};
// Every English recording (`dir`/en/<stem>.ogg) of the vocabulary, resampled to `sample_rate`. attn::Error
// naming the file for a missing, unreadable or silent recording, and naming the package if the folder is absent.
std::vector<Recording> load_ktuberling_recordings(int64_t sample_rate, const std::string& dir = kKtuberlingSounds);

}  // namespace attn::audio
