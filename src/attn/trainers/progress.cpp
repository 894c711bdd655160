#include "attn/trainers/progress.h"

namespace attn::trainers {

std::ostream& null_stream() {
  static std::ostream quiet(nullptr);  // no buffer: every write sets badbit and goes nowhere
  return quiet;
}

}  // namespace attn::trainers
