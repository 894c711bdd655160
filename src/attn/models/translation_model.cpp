#include "attn/models/translation_model.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "attn/attention/multihead.h"
#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/io/atomic_file.h"
#include "attn/nn/checkpoint.h"
#include "attn/ops/ops.h"

namespace attn::models {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Tok = data::SubwordTokenizer;

namespace {

constexpr const char* kOp = "TranslationModel";

Seq2SeqConfig rnn_config(const TranslationModelOptions& o, int64_t vocab) {
  Seq2SeqConfig c;
  c.src_vocab = c.tgt_vocab = vocab;
  c.embed_dim = o.embed;
  c.hidden_dim = o.hidden;
  c.attention = translation_attention(o.arch);
  c.pad_id = Tok::pad_id;
  c.bos_id = Tok::bos_id;
  c.eos_id = Tok::eos_id;
  c.dropout = o.dropout;
  c.dropout_seed = o.seed + 7;
  return c;
}

TransformerConfig tf_config(const TranslationModelOptions& o, int64_t vocab) {
  TransformerConfig c;
  c.src_vocab = c.tgt_vocab = vocab;
  c.share_embeddings = true;
  c.d_model = o.embed;
  c.nhead = o.heads;
  c.num_encoder_layers = c.num_decoder_layers = o.layers;
  c.dim_feedforward = o.ff;
  c.dropout = o.dropout;
  c.max_len = o.max_len;
  c.norm_first = o.norm_first;
  c.pad_id = Tok::pad_id;
  c.bos_id = Tok::bos_id;
  c.eos_id = Tok::eos_id;
  return c;
}

json options_json(const TranslationModelOptions& o, int64_t vocab) {
  json m = {{"vocab", vocab}, {"embed", o.embed}, {"dropout", o.dropout}, {"seed", o.seed}};
  if (o.arch == "transformer") {
    m["layers"] = o.layers, m["heads"] = o.heads, m["ff"] = o.ff, m["max_len"] = o.max_len,
    m["norm_first"] = o.norm_first;
  } else {
    m["hidden"] = o.hidden;
  }
  return m;
}

// Source ids (subwords + </s>) of one sentence.
std::vector<int64_t> encode_source(const Tok& tok, const std::string& s) {
  std::vector<int64_t> ids = tok.encode(s);
  ids.push_back(Tok::eos_id);
  return ids;
}

}  // namespace

const std::vector<std::string>& translation_archs() {
  static const std::vector<std::string> a = {"gru",           "bahdanau",     "luong-dot",
                                             "luong-general", "luong-concat", "transformer"};
  return a;
}

std::string translation_attention(const std::string& arch) {
  if (arch == "gru") return "none";
  if (arch == "bahdanau") return "additive";
  if (arch == "luong-dot" || arch == "luong-general" || arch == "luong-concat") return arch.substr(6);
  if (arch == "transformer") return "self+cross";
  ATTN_FAIL(kOp, "unknown architecture '" << arch
                                          << "' (gru, bahdanau, luong-dot, luong-general, luong-concat, transformer)");
}

TranslationModel::TranslationModel(const TranslationModelOptions& o, data::SubwordTokenizer tokenizer)
    : arch_(o.arch), tok_(std::move(tokenizer)), options_(o) {
  translation_attention(o.arch);  // validates the name
  Generator init(o.seed);
  if (arch_ == "transformer") tf_ = std::make_unique<Transformer>(tf_config(o, tok_.vocab_size()), init, o.seed + 7);
  else rnn_ = std::make_unique<Seq2Seq>(rnn_config(o, tok_.vocab_size()), init);
}

void TranslationModel::set_dropout(float p) {
  ATTN_CHECK(p >= 0.f && p < 1.f, "TranslationModel::set_dropout", "dropout " << p << " is not in [0, 1)");
  for (auto& [name, m] : module().named_modules()) {
    if (auto* d = dynamic_cast<nn::Dropout*>(m)) d->p = p;
    if (auto* a = dynamic_cast<nn::MultiheadAttention*>(m)) a->dropout_p = p;
  }
  options_.dropout = p;
}

nn::Module& TranslationModel::module() {
  return rnn_ ? static_cast<nn::Module&>(*rnn_) : static_cast<nn::Module&>(*tf_);
}

namespace {
// The Transformer's tied embedding (share_embeddings) is one matrix listed under three names; the file holds
// it once, as src_embed.weight (what torch's safetensors save_model does with shared tensors too).
const std::vector<std::string> kTiedAliases = {"tgt_embed.weight", "generator.weight"};
}  // namespace

void TranslationModel::save(const std::string& dir, const std::string& train_json, io::StoreDtype dtype) const {
  fs::create_directories(dir);
  const json train = json::parse(train_json, nullptr, false);
  ATTN_CHECK(!train.is_discarded() && train.is_object(), kOp, "train_json must be a JSON object");
  const json config = {{"arch", arch_}, {"model", options_json(options_, tok_.vocab_size())}, {"train", train}};
  tok_.save((fs::path(dir) / "spm.model").string());
  nn::StateDict sd = rnn_ ? rnn_->state_dict() : tf_->state_dict();
  if (tf_ && tf_->config().share_embeddings)
    for (const std::string& alias : kTiedAliases) sd.erase(alias);
  io::save_safetensors((fs::path(dir) / "model.safetensors").string(), io::NamedTensors(sd.begin(), sd.end()), {},
                       dtype);
  io::write_file_atomic((fs::path(dir) / "config.json").string(), config.dump(2) + "\n");
}

void TranslationModel::load_weights(const std::string& path) {
  io::SafeTensors file = io::load_safetensors(path);
  if (tf_ && tf_->config().share_embeddings && file.tensors.count("src_embed.weight"))
    for (const std::string& alias : kTiedAliases) file.tensors.try_emplace(alias, file.tensors.at("src_embed.weight"));
  nn::StateDict sd;
  for (const auto& [name, t] : file.tensors) sd.insert(name, t);
  module().load_state_dict(sd);
}

TranslationModel TranslationModel::load(const std::string& dir) {
  const fs::path cfg = fs::path(dir) / "config.json";
  std::ifstream in(cfg);
  ATTN_CHECK(in, kOp,
             "no translation model in " << dir << " (" << cfg.string()
                                        << " is missing; train one with: attn train translate --out DIR)");
  std::stringstream text;
  text << in.rdbuf();
  const json j = json::parse(text.str(), nullptr, false);
  ATTN_CHECK(!j.is_discarded() && j.is_object() && j.contains("arch") && j.contains("model"), kOp,
             cfg.string() << " is not a translation model's config (no \"arch\" and \"model\")");
  TranslationModelOptions o;
  int64_t vocab = 0;
  try {
    const json& m = j.at("model");
    o.arch = j.at("arch").get<std::string>();
    vocab = m.at("vocab").get<int64_t>();
    o.embed = m.at("embed").get<int64_t>();
    o.dropout = m.value("dropout", 0.f);
    o.seed = m.value("seed", uint64_t{1});
    if (o.arch == "transformer") {
      o.layers = m.at("layers").get<int64_t>();
      o.heads = m.at("heads").get<int64_t>();
      o.ff = m.at("ff").get<int64_t>();
      o.max_len = m.at("max_len").get<int64_t>();
      o.norm_first = m.value("norm_first", false);
    } else {
      o.hidden = m.at("hidden").get<int64_t>();
    }
  } catch (const json::exception& e) {
    ATTN_FAIL(kOp, cfg.string() << ": " << e.what());
  }
  Tok tok = Tok::load((fs::path(dir) / "spm.model").string());
  ATTN_CHECK(tok.vocab_size() == vocab, kOp,
             (fs::path(dir) / "spm.model").string()
                 << " has " << tok.vocab_size() << " pieces but " << cfg.string() << " says " << vocab);
  TranslationModel model(o, std::move(tok));
  model.load_weights((fs::path(dir) / "model.safetensors").string());
  model.module().eval();
  return model;
}

Tensor TranslationModel::logits(const IndexTensor& src, const IndexTensor& tgt_in) {
  return rnn_ ? rnn_->forward(src, tgt_in).logits : tf_->forward(src, tgt_in);
}

std::vector<std::vector<int64_t>> TranslationModel::translate_ids(const IndexTensor& src, int64_t max_len, int64_t beam,
                                                                  float length_penalty) {
  ATTN_CHECK(src.dim() == 2, kOp, "src must be (B, S) token ids, got " << shape_str(src.shape));
  ATTN_CHECK(beam >= 1, kOp, "beam = " << beam << " must be >= 1");
  if (tf_) max_len = std::min(max_len, tf_->config().max_len);  // the positional table's length
  std::vector<std::vector<int64_t>> out;
  if (beam == 1) {
    if (rnn_) return rnn_->greedy_decode(src, max_len).tokens;
    for (auto& h : tf_->greedy_decode(src, max_len)) out.push_back(std::move(h.tokens));
    return out;
  }
  const int64_t B = src.shape[0], S = src.shape[1];
  const BeamSearchOptions bo = BeamSearchOptions().beams(beam).max_length(max_len).alpha(length_penalty);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int64_t> row(src.data.begin() + b * S, src.data.begin() + (b + 1) * S);
    while (row.size() > 1 && row.back() == Tok::pad_id) row.pop_back();
    const IndexTensor one(row, {1, static_cast<int64_t>(row.size())});
    auto nbest = rnn_ ? rnn_->beam_search(one, bo) : tf_->beam_search(one, bo);
    out.push_back(nbest.empty() ? std::vector<int64_t>{} : std::move(nbest[0].tokens));
  }
  return out;
}

std::vector<std::string> TranslationModel::translate(const std::vector<std::string>& sources, int64_t batch,
                                                     int64_t beam, float length_penalty) {
  ATTN_CHECK(batch >= 1, kOp, "batch = " << batch << " must be >= 1");
  NoGradGuard ng;
  nn::ModeGuard mode(module());
  module().eval();
  std::vector<std::string> out(sources.size());
  std::vector<std::vector<int64_t>> enc(sources.size());
  std::vector<size_t> order(sources.size());
  for (size_t i = 0; i < sources.size(); ++i) {
    ATTN_CHECK(!sources[i].empty(), kOp, "sentence " << i << " is empty");
    enc[i] = encode_source(tok_, sources[i]);
    order[i] = i;
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return enc[a].size() < enc[b].size(); });
  for (size_t p = 0; p < order.size(); p += static_cast<size_t>(batch)) {
    const size_t n = std::min(order.size() - p, static_cast<size_t>(batch));
    int64_t S = 0;
    for (size_t k = 0; k < n; ++k) S = std::max<int64_t>(S, static_cast<int64_t>(enc[order[p + k]].size()));
    std::vector<int64_t> src(n * static_cast<size_t>(S), Tok::pad_id);
    for (size_t k = 0; k < n; ++k)
      std::copy(enc[order[p + k]].begin(), enc[order[p + k]].end(), src.begin() + static_cast<std::ptrdiff_t>(k * S));
    const auto ids = translate_ids(IndexTensor(src, {static_cast<int64_t>(n), S}), 2 * S + 10, beam, length_penalty);
    for (size_t k = 0; k < n; ++k) out[order[p + k]] = tok_.decode(ids[k]);
  }
  return out;
}

TranslationModel::Attention TranslationModel::attention(const std::string& source, int64_t beam, float length_penalty) {
  ATTN_CHECK(!source.empty(), kOp, "an empty sentence");
  NoGradGuard ng;
  nn::ModeGuard mode(module());
  module().eval();
  const std::vector<int64_t> src_ids = encode_source(tok_, source);
  const auto S = static_cast<int64_t>(src_ids.size());
  const IndexTensor src(src_ids, {1, S});
  const std::vector<int64_t> out = translate_ids(src, 2 * S + 10, beam, length_penalty)[0];
  Attention a;
  a.translation = tok_.decode(out);
  for (int64_t id : src_ids) a.source_tokens.push_back(tok_.piece(id));
  std::vector<int64_t> tgt_in = {Tok::bos_id};
  tgt_in.insert(tgt_in.end(), out.begin(), out.end());  // row t predicts out[t]; the last row predicts </s>
  if (tf_) tgt_in.resize(std::min<size_t>(tgt_in.size(), static_cast<size_t>(tf_->config().max_len)));
  for (size_t t = 0; t < tgt_in.size(); ++t)
    a.target_tokens.push_back(t < out.size() ? tok_.piece(out[t]) : tok_.piece(Tok::eos_id));
  const auto T = static_cast<int64_t>(tgt_in.size());
  const IndexTensor tin(tgt_in, {1, T});
  if (rnn_) {
    Seq2SeqOutput o = rnn_->forward(src, tin);
    if (o.attention.defined()) a.cross = reshape(o.attention, {1, 1, T, S});  // (1, T, S) -> (L=1, H=1, T, S)
  } else {
    TransformerOutput o = tf_->forward(src, tin, true);
    std::vector<Tensor> layers;
    for (const Tensor& w : o.cross_attentions) layers.push_back(squeeze(w, 0));  // (H, T, S)
    a.cross = stack(layers, 0);                                                  // (L, H, T, S)
    for (const Tensor& w : o.encoder_attentions) a.encoder_self.push_back(squeeze(w, 0));
    for (const Tensor& w : o.decoder_attentions) a.decoder_self.push_back(squeeze(w, 0));
  }
  return a;
}

}  // namespace attn::models
