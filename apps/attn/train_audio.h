// `attn train audio` (cmd_train_audio.cpp), registered under `attn train` by cmd_train.cpp.
#pragma once
#include "commands.h"

namespace attn::cli {

struct TrainAudio {
  CLI::App* app = nullptr;
  Action action;
};

TrainAudio add_train_audio(CLI::App& train);

}  // namespace attn::cli
