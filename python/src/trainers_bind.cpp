// The library's training loops from Python, with a callback per step (live plots in a notebook):
// train_translation (attn/trainers/translation.h) and train_vit (attn/trainers/vit.h). The GPT's loop is
// written in Python over the bindings (explore_attention/train.py).
//
// The loop runs with the GIL released; the callback, and a check for Ctrl-C / the notebook's interrupt
// button, take it back once a step. An exception raised in the callback (KeyboardInterrupt included) stops
// the run as a time limit does — the best checkpoint so far is kept — and is then raised to the caller.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <exception>
#include <iostream>

#include "attn/trainers/clip.h"
#include "attn/trainers/translation.h"
#include "attn/trainers/vit.h"
#include "convert.h"

namespace attn::python {

namespace {

py::object optional_float(const std::optional<double>& v) { return v ? py::object(py::float_(*v)) : py::none(); }

// A StepCallback that calls `on_step` (None: none) with a dict and polls for interrupts; the first Python
// error is kept in `error` and ends the run.
trainers::StepCallback python_callback(py::object on_step, std::exception_ptr* error) {
  return [on_step, error](const trainers::StepInfo& s) -> bool {
    py::gil_scoped_acquire gil;
    try {
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      if (on_step.is_none()) return true;
      py::dict d;
      d["step"] = s.step;
      d["total_steps"] = s.total_steps ? py::object(py::int_(s.total_steps)) : py::none();
      d["epoch"] = s.epoch;
      d["loss"] = s.loss;
      d["lr"] = s.lr;
      d["seconds"] = s.seconds;
      d["val_loss"] = optional_float(s.val_loss);
      d["val_accuracy"] = optional_float(s.val_accuracy);
      const py::object r = on_step(d);
      return !(r.is(py::bool_(false)));
    } catch (...) {
      *error = std::current_exception();
      return false;
    }
  };
}

template <class Options, class Train>
py::dict run_trainer(Options o, py::object on_step, bool verbose, Train train) {
  if (!on_step.is_none() && !PyCallable_Check(on_step.ptr()))
    throw py::type_error("on_step must be callable (it is called with a dict after every step) or None");
  if (verbose) o.log = o.progress = o.results = &std::cerr;
  std::exception_ptr error;
  const trainers::StepCallback cb = python_callback(on_step, &error);
  nlohmann::json eval;
  {
    py::gil_scoped_release nogil;
    eval = train(o, cb);
  }
  if (error) std::rethrow_exception(error);
  return py::module_::import("json").attr("loads")(eval.dump());
}

}  // namespace

void bind_trainers(py::module_& m) {
  m.def(
      "train_translation",
      [](const std::string& out, const std::string& arch, double time_limit_min, int64_t epochs, int64_t vocab,
         int64_t embed, int64_t hidden, int64_t layers, int64_t heads, int64_t ff, std::optional<float> dropout,
         int64_t batch, int64_t batch_tokens, int64_t max_tokens, std::optional<float> lr, float label_smoothing,
         int64_t warmup, const std::string& schedule, int64_t phrases, int64_t average_last, float bpe_dropout,
         int64_t beam, float length_penalty, int64_t eval_sentences, const std::string& init, const std::string& data, uint64_t seed,
         py::object on_step, bool verbose) {
        trainers::TranslationTrainOptions o;
        o.out = out;
        o.model.arch = arch;
        o.time_limit_min = time_limit_min;
        o.epochs = epochs;
        o.vocab = vocab;
        o.model.embed = embed;
        o.model.hidden = hidden;
        o.model.layers = layers;
        o.model.heads = heads;
        o.model.ff = ff;
        if (dropout) o.dropout = *dropout, o.model.dropout = *dropout;
        o.batch = batch;
        o.batch_tokens = batch_tokens;
        o.max_tokens = max_tokens;
        o.lr = lr.value_or(0.f);
        if (lr && !(*lr > 0)) throw py::value_error("lr must be positive, got " + std::to_string(*lr));
        o.label_smoothing = label_smoothing;
        o.warmup = warmup;
        o.schedule = schedule;
        o.phrases = phrases;
        o.average_last = average_last;
        o.bpe_dropout = bpe_dropout;
        o.beam = beam;
        o.length_penalty = length_penalty;
        o.eval_sentences = eval_sentences;
        o.init = init;
        o.data = data;
        o.model.seed = seed;
        return run_trainer(o, on_step, verbose,
                           [](const auto& opts, const auto& cb) { return trainers::train_translation(opts, cb); });
      },
      py::arg("out"), py::arg("arch") = "transformer", py::arg("time_limit_min") = trainers::kDefaultTranslationMinutes,
      py::arg("epochs") = 0, py::arg("vocab") = 4000, py::arg("embed") = 256, py::arg("hidden") = 256,
      py::arg("layers") = 2, py::arg("heads") = 4, py::arg("ff") = 512, py::arg("dropout") = py::none(),
      py::arg("batch") = 256, py::arg("batch_tokens") = 1536, py::arg("max_tokens") = 64, py::arg("lr") = py::none(),
      py::arg("label_smoothing") = 0.1f, py::arg("warmup") = 300, py::arg("schedule") = "noam", py::arg("phrases") = 0,
      py::arg("average_last") = 0, py::arg("bpe_dropout") = 0.f, py::arg("beam") = 5, py::arg("length_penalty") = models::kDefaultLengthPenalty,
      py::arg("eval_sentences") = 0, py::arg("init") = "", py::arg("data") = data::kTransDeEnPath, py::arg("seed") = 1,
      py::arg("on_step") = py::none(), py::arg("verbose") = false,
      R"doc(Trains a German->English model on Debian's trans-de-en, as `attn train translate` does (the same options,
with '_' for '-'), and scores it on the test split. The best checkpoint is written to `out` (open it with
TranslationModel.load). on_step(info) is called after every step with a dict: step, total_steps (None),
epoch, loss, lr, seconds, and val_loss on an epoch's last step (None otherwise); returning False stops the run
early (the best epoch so far is kept and scored). Returns eval.json as a dict (greedy and beam BLEU/chrF).)doc");

  m.def(
      "train_vit",
      [](const std::string& out, int64_t epochs, int64_t patch, int64_t embd, int64_t layers, int64_t heads,
         int64_t mlp, float dropout, int64_t batch, float lr, float min_lr, float warmup_epochs, float weight_decay,
         float label_smoothing, float clip, int64_t pad, bool hflip, int64_t val, int64_t train_images,
         int64_t test_images, double time_limit_min, bool resume, const std::string& data, uint64_t seed,
         py::object on_step, bool verbose) {
        trainers::ViTTrainOptions o;
        o.out = out;
        o.epochs = epochs;
        o.epochs_given = true;
        o.patch = patch;
        o.embd = embd;
        o.layers = layers;
        o.heads = heads;
        o.mlp = mlp;
        o.dropout = dropout;
        o.batch = batch;
        o.lr = lr;
        o.min_lr = min_lr;
        o.warmup_epochs = warmup_epochs;
        o.weight_decay = weight_decay;
        o.label_smoothing = label_smoothing;
        o.clip = clip;
        o.pad = pad;
        o.hflip = hflip;
        o.val = val;
        o.train_images = train_images;
        o.test_images = test_images;
        o.time_limit_min = time_limit_min;
        o.resume = resume;
        o.data = data;
        o.seed = seed;
        return run_trainer(o, on_step, verbose,
                           [](const auto& opts, const auto& cb) { return trainers::train_vit(opts, cb); });
      },
      py::arg("out"), py::arg("epochs") = 22, py::arg("patch") = 7, py::arg("embd") = 64, py::arg("layers") = 4,
      py::arg("heads") = 4, py::arg("mlp") = 0, py::arg("dropout") = 0.f, py::arg("batch") = 128, py::arg("lr") = 2e-3f,
      py::arg("min_lr") = 1e-5f, py::arg("warmup_epochs") = 0.3f, py::arg("weight_decay") = 0.05f,
      py::arg("label_smoothing") = 0.1f, py::arg("clip") = 1.f, py::arg("pad") = 0, py::arg("hflip") = true,
      py::arg("val") = 5000, py::arg("train_images") = 0, py::arg("test_images") = 0, py::arg("time_limit_min") = 0.0,
      py::arg("resume") = false, py::arg("data") = data::kFashionMnistDir, py::arg("seed") = 1,
      py::arg("on_step") = py::none(), py::arg("verbose") = false,
      R"doc(Trains a Vision Transformer on Fashion-MNIST, as `attn train vit` does (the same options, with '_' for
'-'; the defaults are the shipped models/vit-fashion-mnist's), checkpointing into `out` (a Hugging Face ViT
folder: open it with ViT.load). on_step(info) is called after every step with a dict: step, total_steps,
epoch, loss, lr, seconds, and val_loss / val_accuracy at the end of each epoch (None otherwise); returning
False stops the run (checkpointed; resume=True continues it). Returns eval.json as a dict: the test accuracy
(on the first test_images test pictures; 0 = all 10,000), per class, the confusion matrix; {"stopped_at": step}
when the run was stopped before its end.)doc");

  m.def(
      "train_clip",
      [](const std::string& out, int64_t epochs, int64_t image_size, int64_t patch, int64_t embd, int64_t layers,
         int64_t heads, int64_t text_embd, int64_t text_layers, int64_t vocab, int64_t proj, float dropout,
         int64_t batch, float lr, float min_lr, float warmup_epochs, float weight_decay, float clip, int64_t shift,
         float image_mean, int64_t limit, double time_limit_min, bool resume, uint64_t seed, py::object on_step,
         bool verbose) {
        trainers::ClipTrainOptions o;
        o.out = out;
        o.epochs = epochs;
        o.epochs_given = true;
        o.image_size = image_size;
        o.patch = patch;
        o.embd = embd;
        o.layers = layers;
        o.heads = heads;
        o.text_embd = text_embd;
        o.text_layers = text_layers;
        o.vocab = vocab;
        o.proj = proj;
        o.dropout = dropout;
        o.batch = batch;
        o.lr = lr;
        o.min_lr = min_lr;
        o.warmup_epochs = warmup_epochs;
        o.weight_decay = weight_decay;
        o.clip = clip;
        o.shift = shift;
        o.image_mean = image_mean;
        o.limit = limit;
        o.time_limit_min = time_limit_min;
        o.resume = resume;
        o.seed = seed;
        return run_trainer(o, on_step, verbose,
                           [](const auto& opts, const auto& cb) { return trainers::train_clip(opts, cb); });
      },
      py::arg("out"), py::arg("epochs") = 60, py::arg("image_size") = 32, py::arg("patch") = 4, py::arg("embd") = 128,
      py::arg("layers") = 4, py::arg("heads") = 4, py::arg("text_embd") = 128, py::arg("text_layers") = 3,
      py::arg("vocab") = 1000, py::arg("proj") = 128, py::arg("dropout") = 0.f, py::arg("batch") = 128,
      py::arg("lr") = 1e-3f, py::arg("min_lr") = 1e-5f, py::arg("warmup_epochs") = 2.f, py::arg("weight_decay") = 0.1f,
      py::arg("clip") = 1.f, py::arg("shift") = 2, py::arg("image_mean") = 0.5f, py::arg("limit") = 0,
      py::arg("time_limit_min") = 0.0, py::arg("resume") = false, py::arg("seed") = 1, py::arg("on_step") = py::none(),
      py::arg("verbose") = false,
      R"doc(Trains a CLIP-style image+text model on emoji and their English names, as `attn train clip` does (the same
options, with '_' for '-'; the defaults are the shipped models/clip-emoji's), checkpointing into `out` (open it
with CLIP.load). on_step(info) is called after every step with a dict: step, total_steps, epoch, loss, lr,
seconds, and val_loss / val_accuracy (image->name recall@1 on the held-out emoji) at the end of each epoch;
returning False stops the run (checkpointed; resume=True continues it). Returns eval.json as a dict: recall@1/5/10
both ways on the test emoji beside the random baseline; {"stopped_at": step} when stopped early.)doc");
}

}  // namespace attn::python
