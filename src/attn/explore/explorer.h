// The Attention Explorer's engine: the JSON API of docs/explorer_api.md over one loaded GPT, with no
// HTTP in it (apps/attn/cmd_explore.cpp puts it behind cpp-httplib; the tests call handle() directly).
//
//   POST /api/analyze        run the model over a text once, keep every layer's (H, T, T) attention
//   GET  /api/attention      one head, the mean of heads, attention rollout, or a whole layer
//   GET  /api/neuron         q, k, q⊙k, scores and weights behind one query's attention row
//   GET  /api/head_types     previous-token, first-token ("sink") and induction scores per head
//   POST /api/generate/...   token-by-token generation with a KV cache per session
//   POST /api/relevance      which tokens of a text made the model predict its next token: every attribution
//                            method's scores (explain/relevance.h) and its perturbation curves on that text
//   POST /api/translate      (with a translation model) translate a sentence; its encoder self-, decoder
//                            self- and cross-attention, per layer and head (BertViz's encoder-decoder view)
//   GET  /api/audio/recordings, POST /api/audio/analyze  (with a speech model) a recording's spectrogram, the
//                            KWT's words and CLS attention, the LAS spelling and its alignment (audio_view.h)
//   GET  /api/image/gallery  (with a ViT) test pictures;  POST /api/image/explain  one picture's prediction,
//                            CLS attention per layer and head, every attribution method's patch map and its
//                            perturbation curves (image_view.h)
//   GET  /api/multimodal/search, POST /api/multimodal/explain  (with a CLIP-style model) emoji found by words, and
//                            the patches and tokens that made one match (multimodal_view.h)
//
// The analysis maths lives in attn/explain (rollout.h, head_types.h, neuron_view.h, topk.h); handle() routes
// each path through a table to one short function per endpoint that checks its input, calls that layer
// and shapes the JSON. Attention rollout (Abnar & Zuidema 2020, explain/rollout.h) treats each layer's
// head-averaged attention plus the residual path as a mixing matrix, Â_l = ½·mean_h A_l + ½·I (rows
// renormalised), and composes them: R_l = Â_l · Â_{l-1} ··· Â_0 — how much each input token flows into each
// position after layer l.
//
// Thread safety: handle() may be called from many threads; the model and the stored analyses and sessions
// are behind one mutex (the model runs one request at a time, as it uses both cores itself).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "attn/models/gpt_loader.h"
#include "attn/models/translation_model.h"

namespace attn::explore {

class ImageExplorer;  // image_view.h
class AudioExplorer;  // audio_view.h
class MultimodalExplorer;  // multimodal_view.h

struct Limits {
  int64_t max_body_bytes = 65536;        // request bodies
  int64_t max_text_bytes = 20000;        // text / prompt fields
  int64_t max_new_tokens = 512;          // per generation session
  int64_t max_sessions = 8;              // live generation sessions (least recently used evicted)
  int64_t max_analyses = 64;             // stored analyses (least recently used evicted) ...
  int64_t max_analysis_bytes = 1 << 30;  // ... and at most this much attention kept (the newest always stays)
  int64_t max_floats_per_response = 4 << 20;
  double max_intervention_flops = 2e12;    // an ablation grid or a patching sweep costing more is refused (413)
  int64_t max_image_bytes = 8 << 20;       // an uploaded PNG (the body of /api/image/explain)
  int64_t max_image_pixels = 4096 * 4096;  // ... and its size, read from its header before decoding
  int64_t max_audio_bytes = 16 << 20;      // an uploaded recording (the body of /api/audio/analyze)
  double max_audio_seconds = 30;           // ... and its length, read from its header before decoding
};

struct ApiResponse {
  int status = 200;
  std::string body;  // JSON
};

class Explorer {
 public:
  // `name` labels the model in /api/info (e.g. the folder's name).
  Explorer(models::LoadedGPT model, std::string name, Limits limits = Limits());
  ~Explorer();

  // method "GET" or "POST"; path "/api/..."; query = the URL's parameters; body = the request body (POST).
  // Never throws: bad input gives a 4xx with {"error": "..."}, a bug a 500.
  ApiResponse handle(const std::string& method, const std::string& path,
                     const std::map<std::string, std::string>& query, const std::string& body);

  // Adds a translation model (attn train translate's folder) for /api/translate; `name` labels it.
  void set_translation(std::unique_ptr<models::TranslationModel> model, std::string name, std::string path);
  // Adds a Vision Transformer (with its test pictures) for the Image tab's /api/image/... routes.
  void set_image(std::unique_ptr<ImageExplorer> image);
  // Adds the speech models for the Audio tab's /api/audio/... routes.
  void set_audio(std::unique_ptr<AudioExplorer> audio);
  // Adds an image+text dual encoder (with the emoji it searches) for the Multimodal tab's /api/multimodal/... routes.
  void set_multimodal(std::unique_ptr<MultimodalExplorer> multimodal);

  const Limits& limits() const { return limits_; }
  const models::GPTConfig& config() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
  Limits limits_;
  std::mutex mu_;
};

// Base64 (RFC 4648, with padding) of raw bytes; float arrays go out as little-endian float32.
std::string base64_encode(const void* data, size_t bytes);

}  // namespace attn::explore
