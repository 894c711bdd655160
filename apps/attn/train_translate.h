// `attn train translate` (cmd_translate.cpp), registered under `attn train` by cmd_train.cpp.
#pragma once
#include "commands.h"

namespace attn::cli {

struct TrainTranslate {
  CLI::App* app = nullptr;
  Action action;
};

TrainTranslate add_train_translate(CLI::App& train);

}  // namespace attn::cli
