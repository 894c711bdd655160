// The nn layer in one include: Module and StateDict, layers, recurrent layers, initialisers,
// optimizers and learning-rate schedules (namespace attn::nn, mirroring torch.nn and torch.optim).
#pragma once
#include "attn/nn/checkpoint.h"
#include "attn/nn/init.h"
#include "attn/nn/layers.h"
#include "attn/nn/module.h"
#include "attn/nn/optim.h"
#include "attn/nn/rnn.h"
#include "attn/nn/schedule.h"
#include "attn/nn/state_dict.h"
