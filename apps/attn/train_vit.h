// `attn train vit` (cmd_train_vit.cpp), registered under `attn train` by cmd_train.cpp.
#pragma once
#include "commands.h"

namespace attn::cli {

struct TrainViT {
  CLI::App* app = nullptr;
  Action action;
};

TrainViT add_train_vit(CLI::App& train);

}  // namespace attn::cli
