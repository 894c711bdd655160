#include "attn/data/subword_tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <fstream>
#include <sstream>

#include "attn/core/error.h"
#include "attn/io/atomic_file.h"

namespace attn::data {

struct SubwordTokenizer::Impl {
  sentencepiece::SentencePieceProcessor sp;
  std::string serialized;  // the model proto, for save()
};

namespace {

class VectorIterator : public sentencepiece::SentenceIterator {
 public:
  explicit VectorIterator(const std::vector<std::string>& v) : v_(v) {}
  bool done() const override { return i_ >= v_.size(); }
  void Next() override { ++i_; }
  const std::string& value() const override { return v_[i_]; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

 private:
  const std::vector<std::string>& v_;
  size_t i_ = 0;
};

}  // namespace

SubwordTokenizer SubwordTokenizer::train(const std::vector<std::string>& texts, const SubwordOptions& o) {
  constexpr const char* op = "SubwordTokenizer::train";
  ATTN_CHECK(!texts.empty(), op, "no training text");
  ATTN_CHECK(o.vocab_size > 4, op, "vocab_size must exceed the 4 special tokens, got " << o.vocab_size);
  ATTN_CHECK(o.model_type == "bpe" || o.model_type == "unigram", op,
             "model_type must be bpe or unigram, got '" << o.model_type << "'");
  std::ostringstream args;
  args << "--model_type=" << o.model_type << " --vocab_size=" << o.vocab_size
       << " --character_coverage=" << o.character_coverage << " --pad_id=0 --unk_id=1 --bos_id=2 --eos_id=3"
       << " --input_sentence_size=0 --shuffle_input_sentence=false --num_threads=1"
       << " --hard_vocab_limit=true --minloglevel=2";
  VectorIterator it(texts);
  auto impl = std::make_shared<Impl>();
  const auto status = sentencepiece::SentencePieceTrainer::Train(args.str(), &it, &impl->serialized);
  ATTN_CHECK(status.ok(), op, "SentencePiece: " << status.ToString());
  const auto loaded = impl->sp.LoadFromSerializedProto(impl->serialized);
  ATTN_CHECK(loaded.ok(), op, "SentencePiece: " << loaded.ToString());
  SubwordTokenizer t;
  t.impl_ = impl;
  return t;
}

SubwordTokenizer SubwordTokenizer::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ATTN_CHECK(in, "SubwordTokenizer::load", "cannot read " << path);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  auto impl = std::make_shared<Impl>();
  impl->serialized = bytes.str();
  sentencepiece::util::Status status;
  try {
    status = impl->sp.LoadFromSerializedProto(impl->serialized);
  } catch (const std::exception& e) {  // SentencePiece's trie builder throws on some malformed vocabularies
    ATTN_FAIL("SubwordTokenizer::load", path << " is not a usable SentencePiece model: " << e.what());
  }
  ATTN_CHECK(status.ok(), "SubwordTokenizer::load", path << " is not a SentencePiece model: " << status.ToString());
  SubwordTokenizer t;
  t.impl_ = impl;
  return t;
}

void SubwordTokenizer::save(const std::string& path) const { io::write_file_atomic(path, impl_->serialized); }

std::vector<int64_t> SubwordTokenizer::encode(std::string_view text) const {
  std::vector<int> ids;
  const auto status = impl_->sp.Encode(text, &ids);
  ATTN_CHECK(status.ok(), "SubwordTokenizer::encode", status.ToString());
  return std::vector<int64_t>(ids.begin(), ids.end());
}

std::vector<int64_t> SubwordTokenizer::sample_encode(std::string_view text, float p) const {
  ATTN_CHECK(p >= 0.f && p < 1.f, "SubwordTokenizer::sample_encode", "the dropout probability must be in [0, 1), got " << p);
  if (p == 0.f) return encode(text);
  std::vector<int> ids;
  const auto status = impl_->sp.SampleEncode(text, /*nbest_size (ignored for BPE)=*/-1, p, &ids);
  ATTN_CHECK(status.ok(), "SubwordTokenizer::sample_encode", status.ToString());
  return std::vector<int64_t>(ids.begin(), ids.end());
}

void SubwordTokenizer::seed_sampling(uint32_t seed) { sentencepiece::SetRandomGeneratorSeed(seed); }

std::string SubwordTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::vector<int> v;
  for (int64_t id : ids) {
    ATTN_CHECK(id >= 0 && id < vocab_size(), "SubwordTokenizer::decode",
               "id " << id << " is out of range [0, " << vocab_size() << ")");
    if (id != pad_id && id != bos_id && id != eos_id) v.push_back(static_cast<int>(id));
  }
  std::string out;
  const auto status = impl_->sp.Decode(v, &out);
  ATTN_CHECK(status.ok(), "SubwordTokenizer::decode", status.ToString());
  return out;
}

std::vector<std::string> SubwordTokenizer::pieces(std::string_view text) const {
  std::vector<std::string> p;
  const auto status = impl_->sp.Encode(text, &p);
  ATTN_CHECK(status.ok(), "SubwordTokenizer::pieces", status.ToString());
  return p;
}

std::string SubwordTokenizer::piece(int64_t id) const {
  ATTN_CHECK(id >= 0 && id < vocab_size(), "SubwordTokenizer::piece",
             "id " << id << " is out of range [0, " << vocab_size() << ")");
  return impl_->sp.IdToPiece(static_cast<int>(id));
}

int64_t SubwordTokenizer::vocab_size() const { return impl_->sp.GetPieceSize(); }

}  // namespace attn::data
