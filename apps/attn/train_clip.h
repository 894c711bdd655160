// `attn train clip` (cmd_train_clip.cpp), registered under `attn train` by cmd_train.cpp.
#pragma once
#include "commands.h"

namespace attn::cli {

struct TrainClip {
  CLI::App* app = nullptr;
  Action action;
};

TrainClip add_train_clip(CLI::App& train);

}  // namespace attn::cli
