// Where `attn` finds the shipped models (models/), the corpora its commands default to (Moby-Dick and GPT-2's
// BPE files under third_party/npm) and the PyTorch scripts of its benchmarks (bench/*.py).
#pragma once
#include <string>

namespace attn::cli {

// The first of:
//   1. $ATTN_DATA_DIR, when set (a checkout, or any folder laid out like one);
//   2. <prefix>/share/explore-attention, when this binary is <prefix>/bin/attn from `cmake --install` or the
//      .deb (which install the models and those corpora there);
//   3. the source tree this binary was built from (a build-tree binary: build/release/bin/attn).
const std::string& data_root();

}  // namespace attn::cli
