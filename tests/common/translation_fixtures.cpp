#include "translation_fixtures.h"

#include <vector>

namespace attn::testing {

data::SubwordTokenizer tiny_subwords() {
  std::vector<std::string> texts;
  for (int i = 0; i < 4; ++i)
    for (const char* s : {"Der Hund bellt laut.", "Ich habe keine Zeit.", "The dog barks loudly.", "I have no time.",
                          "Die Katze schläft.", "The cat sleeps.", "Wir arbeiten heute.", "We work today."})
      texts.emplace_back(s);
  data::SubwordOptions o;
  o.vocab_size = 60;
  return data::SubwordTokenizer::train(texts, o);
}

models::TranslationModelOptions tiny_translation(const std::string& arch) {
  models::TranslationModelOptions o;
  o.arch = arch;
  o.embed = 16;
  o.hidden = 16;
  o.layers = 2;
  o.heads = 2;
  o.ff = 32;
  o.max_len = 48;
  o.dropout = 0.f;
  o.seed = 5;
  return o;
}

}  // namespace attn::testing
