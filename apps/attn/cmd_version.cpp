// attn version — the toolkit's version.
#include <iostream>

#include "commands.h"

ATTN_COMMAND(version, "Print the version of explore-attention") {
  (void)sub;
  return [] {
    std::cout << "explore-attention " << ATTN_VERSION << "\n";
    return 0;
  };
}
