#include "attn/explain/clip_explain.h"

#include <sstream>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/explain/relevance.h"
#include "attn/ops/ops.h"

namespace attn::explain {
namespace {

constexpr const char* kOp = "explain_clip";

std::vector<float> values(const Tensor& t) { return std::vector<float>(t.data(), t.data() + t.numel()); }

// The image side: relevance and raw attention over the patches for y = ĩ(x) · t̃, t̃ fixed (E).
void image_side(models::ClipModel& model, const Tensor& x, const Tensor& text_embed, std::vector<float>* relevance,
                std::vector<float>* attention, float* similarity) {
  models::ClipVisionOutput v = model.vision_forward(x, true, /*attention_grad=*/true);
  const Tensor y = sum(model.project_image(v.pooler_output) * text_embed);  // ()
  if (similarity) *similarity = y.item();
  const Trace t = trace_from_graph(y, v.attentions, v.embeddings, v.last_block, /*query=*/0);
  *relevance = values(patch_scores(relevance_scores(t)));
  if (attention) *attention = values(patch_scores(raw_attention(t)));
}

}  // namespace

ClipExplanation explain_clip(models::ClipModel& model, const data::SubwordTokenizer& tok, const Tensor& image,
                             const std::string& text) {
  const models::ClipConfig& c = model.config();
  const Tensor x = (image.defined() && image.dim() == 3 ? unsqueeze(image, 0) : image).detach();
  ATTN_CHECK(x.defined() && x.dim() == 4 && x.size(0) == 1, kOp,
             "explain one picture at a time: (1, C, H, W), got " << (x.defined() ? shape_str(x.shape()) : "undefined"));
  nn::ModeGuard mode(model);
  model.eval();
  EnableGradGuard grad_on;
  ClipExplanation e;
  e.grid = c.image_size / c.patch_size;

  const IndexTensor ids = models::clip_tokenize(tok, {text}, c.max_position_embeddings);
  Tensor text_embed, image_embed;
  {
    NoGradGuard ng;
    text_embed = reshape(model.get_text_features(ids), {c.projection_dim});
    image_embed = reshape(model.get_image_features(x), {c.projection_dim});
  }
  image_side(model, x, text_embed, &e.image_relevance, &e.image_attention, &e.similarity);

  // The text side: y = ĩ · t̃(w), ĩ fixed, explained at the </s> token.
  models::ClipTextOutput o = model.text_model->forward(ids, true, /*attention_grad=*/true);
  const Tensor y = sum(model.project_text(o.pooler_output) * image_embed);
  const Trace t = trace_from_graph(y, o.attentions, o.embeddings, o.last_block, /*query=*/o.eos[0]);
  e.text_relevance = values(relevance_scores(t));
  e.text_attention = values(raw_attention(t));
  for (int64_t id : ids.data)
    e.tokens.push_back(id == data::SubwordTokenizer::bos_id   ? "<s>"
                       : id == data::SubwordTokenizer::eos_id ? "</s>"
                                                              : tok.piece(id));

  // Each word alone.
  std::istringstream words(models::clip_normalize(text));
  for (std::string w; words >> w;) {
    Tensor w_embed;
    {
      NoGradGuard ng;
      w_embed = reshape(model.get_text_features(models::clip_tokenize(tok, {w}, c.max_position_embeddings)),
                        {c.projection_dim});
    }
    std::vector<float> r;
    float s = 0;
    image_side(model, x, w_embed, &r, nullptr, &s);
    e.words.push_back(w);
    e.word_similarity.push_back(s);
    e.word_relevance.push_back(std::move(r));
  }
  return e;
}

}  // namespace attn::explain
