// Every lesson runs through `attn lesson run`, writes non-empty figures, and prints what it should.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using attn::testing::CmdResult;
CmdResult attn(const std::string& args) { return attn::testing::run_attn(args); }

// `attn lesson run all` — what the README's main command runs — once for the whole suite.
struct AllLessons {
  std::string dir;
  CmdResult run;
};
// With ATTN_LESSONS_OUT set (CTest sets it), the run goes to that folder and, when it succeeded, its output is
// kept there as run.log: the offline book (scripts/book.py --lessons-run) is made from this same run rather than
// running every lesson a second time.
const AllLessons& all_lessons() {
  static const AllLessons a = [] {
    AllLessons r;
    const char* keep = std::getenv("ATTN_LESSONS_OUT");
    if (keep != nullptr && *keep != '\0') {
      r.dir = keep;
      std::filesystem::remove_all(r.dir);
      std::filesystem::create_directories(r.dir);
    } else {
      r.dir = attn::testing::fresh_dir("lessons");
    }
    r.run = attn("lesson run all --out '" + r.dir + "'");
    if (keep != nullptr && *keep != '\0' && r.run.code == 0) std::ofstream(r.dir + "/run.log") << r.run.out;
    return r;
  }();
  return a;
}

// The output of one lesson (between its ==> and <== markers), after checking its figures.
std::string lesson_output(const std::string& id, int min_figures) {
  const AllLessons& a = all_lessons();
  EXPECT_EQ(a.run.code, 0) << a.run.out;
  const auto begin = a.run.out.find("==> lesson " + id + " ");
  const auto end = a.run.out.find("<== lesson " + id + " ");
  if (begin == std::string::npos || end == std::string::npos) {
    ADD_FAILURE() << "lesson " << id << " did not run:\n" << a.run.out;
    return "";
  }
  const std::string out = a.run.out.substr(begin, end - begin);
  EXPECT_NE(a.run.out.find("<== lesson " + id + " finished"), std::string::npos) << out;
  int figures = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(a.dir + "/" + id)) {
    if (!e.is_regular_file()) continue;
    ++figures;
    EXPECT_GT(e.file_size(), 500u) << e.path();
  }
  EXPECT_GE(figures, min_figures) << id;
  return out;
}

// The first number after `label` in `text` (-1 when absent).
double number_after(const std::string& text, const std::string& label) {
  const auto p = text.find(label);
  if (p == std::string::npos) return -1;
  return std::atof(text.c_str() + p + label.size());
}

TEST(Lessons, ListShowsEveryLessonWithItsTitle) {
  CmdResult r = attn("lesson list");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("00_prelude/01_tensors_and_autograd  Tensors and autograd"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("01_foundations/01_basic_attention"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("01_foundations/02_multiplicative_attention"), std::string::npos) << r.out;
  for (const char* line :
       {"02_types/01_self_attention  Self-attention: Q, K and V from one sequence",
        "02_types/02_multi_head_attention  Multi-head attention: heads as subspaces",
        "02_types/03_cross_attention  Cross-attention: one sequence querying another",
        "02_types/04_modern_variants  Modern variants: RoPE, ALiBi, GQA/MQA, sliding windows, "
        "linear attention, the KV cache",
        "04_applications/01_machine_translation  Machine translation with attention: data, models, BLEU, alignments",
        "05_bonus/01_building_transformer  Building a Transformer: from embeddings to a trained GPT",
        "05_bonus/02_attention_vs_rnn  Attention vs RNN: quality, speed and memory over distance",
        "04_applications/02_vision_transformers  Vision Transformers: patches as tokens, a ViT trained here, what its "
        "heads look at",
        "04_applications/03_audio_attention  Attention that listens: spectrograms as tokens, a keyword transformer, a "
        "speller's alignment",
        "04_applications/04_multimodal_attention  Multimodal attention: words querying pixels, a CLIP trained on emoji, "
        "zero-shot search",
        "05_bonus/03_attention_explainability  Attention explainability: six attribution methods and how faithful each "
        "one is",
        "05_bonus/04_flash_attention  Flash attention: exact attention without the T x T matrix",
        "05_bonus/05_attention_at_scale  Attention at scale: blockwise softmax, ring attention over machines, the "
        "zig-zag balance",
        "03_demos/01_attention_visualizer  An attention visualizer: head, model and neuron views of a sentence",
        "03_demos/02_gpt_attention  Looking inside a GPT: induction heads, the logit lens and activation patching"})
    EXPECT_NE(r.out.find(line), std::string::npos) << r.out;
}

TEST(Lessons, UnknownLessonIsAUsageError) {
  CmdResult r = attn("lesson run 99_nope/01_missing");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("00_prelude/01_tensors_and_autograd"), std::string::npos);  // lists what exists
  EXPECT_EQ(attn("lesson").code, 2);                                               // a subcommand is required
}

TEST(Lessons, TensorsAndAutograd) {
  const std::string out = lesson_output("00_prelude/01_tensors_and_autograd", 2);
  // Deterministic: autograd equals 2w, and the fitted line recovers y = 3x - 1.
  EXPECT_NE(out.find("dy/dw[1]: autograd -4.0000, finite difference -4.0000"), std::string::npos) << out;
  EXPECT_NE(out.find("step 59  loss 0.0108  a 3.0179  b -0.9802"), std::string::npos) << out;
}

TEST(Lessons, BasicAttention) {
  const std::string out = lesson_output("01_foundations/01_basic_attention", 5);
  EXPECT_GT(number_after(out, "step  99  loss 0.3309  w "), 2.0) << out;  // the kernel sharpened
  EXPECT_GE(number_after(out, "held-out accuracy: "), 95.0) << out;
  // The reversal alignment is the anti-diagonal.
  EXPECT_GE(number_after(out, "outputs whose strongest weight is on the mirrored input: "), 6) << out;  // of 7
  EXPECT_GE(number_after(out, "mean weight on the anti-diagonal: "), 0.5) << out;
}

TEST(Lessons, MultiplicativeAttention) {
  const std::string out = lesson_output("01_foundations/02_multiplicative_attention", 2);
  for (const char* score : {"additive ", "dot ", "general ", "concat "}) {
    std::smatch m;
    const std::regex row(std::string("  ") + score + R"(\s+([0-9.]+)%\s+([0-9.]+)%\s+([0-9.]+)\s+([0-9.]+)%)");
    ASSERT_TRUE(std::regex_search(out, m, row)) << score << "\n" << out;
    EXPECT_GE(std::stod(m[2]), 95.0) << score;  // token accuracy
    EXPECT_GE(std::stod(m[3]), 0.5) << score;   // weight on the anti-diagonal
    EXPECT_GE(std::stod(m[4]), 85.0) << score;  // outputs whose argmax is the mirrored input
  }
}

// A number printed after `label` that must be present, non-negative and below `tol` (a difference, a
// masked weight).
void expect_tiny(const std::string& out, const std::string& label, double tol) {
  const double v = number_after(out, label);
  EXPECT_GE(v, 0.0) << "missing: " << label << "\n" << out;
  EXPECT_LT(v, tol) << label;
}

TEST(Lessons, SelfAttention) {
  const std::string out = lesson_output("02_types/01_self_attention", 5);
  // Without 1/√d the softmax saturates as d grows; with it, it stays soft at every d.
  for (const char* d : {"4   ", "64  ", "1024"}) {
    std::smatch m;
    const std::regex row(std::string("d = ") + d + R"( .*without scaling: max weight ([0-9.]+), entropy ([0-9.]+))" +
                         R"( .*with 1/√d: max weight ([0-9.]+), entropy ([0-9.]+))");
    ASSERT_TRUE(std::regex_search(out, m, row)) << d << "\n" << out;
    EXPECT_LT(std::stod(m[2]), std::stod(m[4])) << d;  // unscaled is the sharper
    EXPECT_LT(std::stod(m[3]), 0.4) << d;              // scaled: no key takes it all
    EXPECT_GT(std::stod(m[4]), 2.0) << d;              // (uniform over 16 keys: ln 16 = 2.77)
    if (std::string(d) == "1024") {
      EXPECT_GT(std::stod(m[1]), 0.9);
      EXPECT_LT(std::stod(m[2]), 0.3);
    }
  }
  expect_tiny(out, "total weight on <pad> keys: ", 1e-6);
  expect_tiny(out, "total weight above the diagonal (future keys): ", 1e-6);  // the causal upper triangle
  expect_tiny(out, "max |sdpa - formula|, no mask:", 1e-5);
  expect_tiny(out, "max |sdpa - formula|, causal mask:", 1e-5);
  expect_tiny(out, "max |attn(shuffled X) - shuffled attn(X)|: ", 1e-5);    // permutation-equivariant
  expect_tiny(out, "max |output for 'cat' in the two sentences|: ", 1e-5);  // blind to word order
  EXPECT_GT(number_after(out, "with positions added: max |output for 'cat' in the two sentences|: "), 0.1) << out;
}

TEST(Lessons, MultiHeadAttention) {
  const std::string out = lesson_output("02_types/02_multi_head_attention", 3);
  EXPECT_NE(out.find("E = 32, H = 1 (Dh = 32): 4224 parameters"), std::string::npos) << out;
  EXPECT_NE(out.find("E = 32, H = 8 (Dh =  4): 4224 parameters"), std::string::npos) << out;
  expect_tiny(out, "head 1 is features 4..7 of x: max difference ", 1e-6);
  expect_tiny(out, "max |MultiheadAttention - by hand|: ", 1e-5);
  std::smatch m;
  const std::regex acc(R"(H = (\d): accuracy t-1 ([0-9.]+)%, t-2 ([0-9.]+)%, both ([0-9.]+)%)");
  std::map<int, double> both;
  for (auto it = std::sregex_iterator(out.begin(), out.end(), acc); it != std::sregex_iterator(); ++it)
    both[std::stoi((*it)[1])] = std::stod((*it)[4]);
  ASSERT_EQ(both.size(), 2u) << out;
  EXPECT_LT(both[1], 60.0) << out;  // one softmax cannot read two places apart
  EXPECT_GE(both[2], 95.0) << out;  // two heads can
  // The two heads split the work: one reads t-1, the other t-2.
  std::set<int> offsets;
  const std::regex head(R"(-> head \d looks at offset (\d))");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), head); it != std::sregex_iterator(); ++it)
    offsets.insert(std::stoi((*it)[1]));
  EXPECT_EQ(offsets, (std::set<int>{1, 2})) << out;
  // Averaging the heads blurs them into two half-weight diagonals.
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(mean on offset 1: ([0-9.]+), on offset 2: ([0-9.]+))"))) << out;
  EXPECT_NEAR(std::stod(m[1]), 0.5, 0.15);
  EXPECT_NEAR(std::stod(m[2]), 0.5, 0.15);
}

TEST(Lessons, CrossAttention) {
  const std::string out = lesson_output("02_types/03_cross_attention", 4);
  EXPECT_NE(out.find("weights (1, 3, 5): one row per target position"), std::string::npos) << out;  // L x S
  EXPECT_NE(out.find("weights (1, 3, 5) averaged over heads, (1, 2, 3, 5) per head"), std::string::npos) << out;
  expect_tiny(out, "weight on the short source's <pad> positions: ", 1e-6);
  EXPECT_GE(number_after(out, "held-out accuracy: "), 95.0) << out;
  EXPECT_GE(number_after(out, "attention argmax on the gold source position: "), 95.0) << out;
}

TEST(Lessons, ModernVariants) {
  const std::string out = lesson_output("02_types/04_modern_variants", 10);
  expect_tiny(out, "max |attn(shuffled X) - shuffled attn(X)|: ", 1e-5);
  EXPECT_GT(number_after(out, "with sinusoidal positions added: "), 0.1) << out;
  // RoPE: the score depends only on m - n, and rotations keep the norm.
  std::vector<double> rope;
  const std::regex score(R"(RoPE score at \(m, n\) = \(\d+, \d+\): (-?[0-9.]+))");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), score); it != std::sregex_iterator(); ++it)
    rope.push_back(std::stod((*it)[1]));
  ASSERT_GE(rope.size(), 3u) << out;
  for (double s : rope) EXPECT_NEAR(s, rope[0], 1e-4) << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(\|q\| = ([0-9.]+), \|RoPE\(q, m = 1000\)\| = ([0-9.]+))")))
      << out;
  EXPECT_NEAR(std::stod(m[1]), std::stod(m[2]), 1e-4);
  // ALiBi slopes for H = 8: 2^-1 .. 2^-8.
  EXPECT_DOUBLE_EQ(number_after(out, "head 1: slope "), 0.5) << out;
  EXPECT_NEAR(number_after(out, "head 8: slope "), 1.0 / 256, 1e-6) << out;
  // GQA: parameters and cache shrink with Hkv; Hkv = H is MHA; sharing = repeating.
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(\n  8 +1 +1048576 +192 MiB)"))) << out;
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(\n  1 +8 +589824 +24 MiB)"))) << out;
  expect_tiny(out, "max |GQA (Hkv = 2) - MHA on repeat_kv(k, v)|: ", 1e-5);
  expect_tiny(out, "max |GroupedQueryAttention (Hkv = H) - MultiheadAttention|: ", 1e-5);
  // Sliding window: the option equals the mask; the receptive field grows by W - 1 per layer.
  expect_tiny(out, "max |sdpa(window = 4) - sdpa(mask = sliding_window_mask)|: ", 1e-5);
  EXPECT_NE(out.find("W = 4, 4 layers: the last token depends on 13 tokens"), std::string::npos) << out;
  // Linear attention's two forms agree; the KV cache reproduces full causal attention.
  expect_tiny(out, "max |linear - quadratic|, non-causal: ", 1e-4);
  expect_tiny(out, "max |linear - quadratic|, causal: ", 1e-4);
  expect_tiny(out, "max |decoded with the KV cache - full causal attention|: ", 1e-4);
  EXPECT_NE(out.find("T = 1024 tokens: MHA (Hkv = 12) 72 MiB, GQA (Hkv = 4) 24 MiB, MQA (Hkv = 1) 6 MiB"),
            std::string::npos)
      << out;
}

TEST(Lessons, BuildingTransformer) {
  const std::string out = lesson_output("05_bonus/01_building_transformer", 5);
  EXPECT_NE(out.find("decode(...) = \"Call me Ishmael.\""), std::string::npos) << out;  // the tokenizer round-trips
  // Every piece by hand equals the library's.
  expect_tiny(out, "max |by hand - sdpa| = ", 1e-5);
  expect_tiny(out, "max |CausalSelfAttention - by hand| = ", 1e-5);
  expect_tiny(out, "max |GPTBlock - by hand| = ", 1e-5);
  // gpt.h's parameter formula counts what the modules hold, for one block and for the whole model.
  std::smatch m;
  const std::regex block_count(R"(= (\d+) by the formula, (\d+) from block\.num_parameters\(\))");
  ASSERT_TRUE(std::regex_search(out, m, block_count)) << out;
  EXPECT_EQ(m[1], m[2]);
  const std::regex model_count(R"(parameters by the formula: (\d+), num_parameters\(\): (\d+))");
  ASSERT_TRUE(std::regex_search(out, m, model_count)) << out;
  EXPECT_EQ(m[1], m[2]);
  // At initialisation the prediction is nearly uniform: the loss is ln V.
  const std::regex init_loss(R"(loss at initialisation: ([0-9.]+)   ln V = ln (\d+) = ([0-9.]+))");
  ASSERT_TRUE(std::regex_search(out, m, init_loss)) << out;
  const double initial = std::stod(m[1]);
  EXPECT_NEAR(std::stod(m[3]), std::log(std::stod(m[2])), 1e-3);
  EXPECT_NEAR(initial, std::log(std::stod(m[2])), 0.2);
  // Training: far below the start (1.87 measured), and below a model that knows only the previous character.
  const double final_val = number_after(out, "final validation loss: ");
  const double bigram = number_after(out, "bigram model: ");
  EXPECT_GT(final_val, 0.0) << out;
  EXPECT_LT(final_val, 2.2) << out;
  EXPECT_LT(final_val, initial - 2.0) << out;
  EXPECT_LT(final_val, bigram - 0.2) << out;  // 2.47 measured: the heads read further back than one character
  // The KV cache changes the cost, not the numbers; attention never looks ahead; a previous-character head forms.
  EXPECT_NE(out.find("greedy text identical with and without the KV cache: yes (200 characters)"), std::string::npos)
      << out;
  expect_tiny(out, "total weight above the diagonal, all heads: ", 1e-6);
  EXPECT_GT(number_after(out, "weight on the previous character "), 0.35) << out;  // 0.70 measured
}

TEST(Lessons, FlashAttention) {
  const std::string out = lesson_output("05_bonus/04_flash_attention", 3);
  // The online softmax by hand equals the one-pass sum: both print l = 1.578055 (Σ e^(x - 5)).
  EXPECT_NE(out.find("after block 2: running max m = 5.0, running sum l = 1.578055"), std::string::npos) << out;
  EXPECT_NE(out.find("one pass over all six: l = 1.578055"), std::string::npos) << out;
  expect_tiny(out, "max |composed - fused| = ", 1e-5);
  // The fused path is faster than the composed one at T = 2048 (robust: several times on any machine).
  const auto p = out.find("    2048 ");
  ASSERT_NE(p, std::string::npos) << out;
  EXPECT_GT(std::atof(out.c_str() + out.find('x', p) - 5), 1.0) << out.substr(p, 80);
}

TEST(Lessons, AttentionAtScale) {
  const std::string out = lesson_output("05_bonus/05_attention_at_scale", 4);
  expect_tiny(out, "max |merged O - O over all keys| = ", 1e-5);
  expect_tiny(out, "max |merged lse - lse| = ", 1e-5);
  expect_tiny(out, "contiguous  max |ring - fused| = ", 1e-5);
  expect_tiny(out, "zig-zag     max |ring - fused| = ", 1e-5);
  // The causal work per machine, counted: contiguous blocks pile it on the last machine, zig-zag splits it evenly.
  EXPECT_NE(out.find("contiguous  work per machine (in blocks of T/N x T/N): 0.5 1.5 2.5 3.5"), std::string::npos)
      << out;
  EXPECT_NE(out.find("zig-zag     work per machine (in blocks of T/2N x T/2N): 8.0 8.0 8.0 8.0"), std::string::npos)
      << out;
  // And timed (each machine's best of three): the contiguous layout's slowest/fastest ratio is the larger one.
  const double contiguous = number_after(out.substr(out.find("contiguous  max |ring")), "slowest / fastest = ");
  const double zigzag = number_after(out.substr(out.find("zig-zag     max |ring")), "slowest / fastest = ");
  EXPECT_GT(contiguous, zigzag) << out;
  EXPECT_NE(out.find("  K3,V3      K0,V0      K1,V1      K2,V2"), std::string::npos) << out;  // step 1 of the ring
}

TEST(Lessons, MachineTranslation) {
  const std::string out = lesson_output("04_applications/01_machine_translation", 8);
  EXPECT_NE(out.find("train / validation / test pairs  16026 / 870 / 912"), std::string::npos) << out;
  EXPECT_NE(out.find("▁Die ▁Grund"), std::string::npos) << out;  // subword pieces shown
  // Dates: every score translates the dates and aligns >= 90% of the digits with their gold characters.
  std::smatch m;
  for (const std::string score : {"additive", "dot", "general", "concat"}) {
    ASSERT_TRUE(std::regex_search(out, m, std::regex("\n  " + score + " +([0-9.]+)% +([0-9.]+)% "))) << score << "\n"
                                                                                                     << out;
    EXPECT_GE(std::stod(m[1]), 95.0) << score << " exact match";
    EXPECT_GE(std::stod(m[2]), 90.0) << score << " alignment accuracy";
  }
  // With years 1950-2049 the first digit of a four-digit year is predictable, and attention looks elsewhere.
  EXPECT_LT(number_after(out, "of which the first digit of a four-digit year: "), 70.0) << out;
  // Real sentences: attention's held-out loss is below no attention's after the same steps.
  ASSERT_TRUE(std::regex_search(
      out, m, std::regex(R"(\n  none +([0-9.]+) +[0-9.]+ +[0-9.]+\n  additive +([0-9.]+) +[0-9.]+ +[0-9.]+\n)")))
      << out;
  EXPECT_LT(std::stod(m[2]), std::stod(m[1])) << out;
  EXPECT_NE(out.find("Ich habe keine Zeit. -> "), std::string::npos) << out;
  // The full-size table comes from docs/results/translation.json (committed): one row per model.
  for (const char* arch : {"gru", "bahdanau", "luong-dot", "luong-general", "luong-concat", "transformer"})
    EXPECT_TRUE(std::regex_search(out, std::regex(std::string("\n  ") + arch + " +[0-9.]+ +[0-9.]+ +[0-9.]+ ")))
        << arch << "\n"
        << out;
}

TEST(Lessons, AttentionVsRnn) {
  const std::string out = lesson_output("05_bonus/02_attention_vs_rnn", 3);
  // The full-size BLEU by length: rows for models 1, 2 and 4.
  for (const char* arch : {"gru", "bahdanau", "transformer"})
    EXPECT_TRUE(std::regex_search(out, std::regex(std::string("\n  ") + arch + " +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+")))
        << arch;
  // Step times for five lengths.
  for (const char* n : {"8", "16", "32", "64", "128"})
    EXPECT_TRUE(std::regex_search(out, std::regex(std::string("\n +") + n + " +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+x")))
        << n;
  // The copy task: without attention accuracy collapses with distance; with attention it holds.
  auto row = [&](const std::string& name) {
    std::vector<double> v;
    const auto p = out.find("\n  " + name + " ");
    if (p == std::string::npos) return v;
    std::istringstream in(out.substr(p + 3 + name.size(), 80));
    double x;
    while (v.size() < 7 && in >> x) v.push_back(x);
    return v;
  };
  const auto none = row("GRU, no attention"), att = row("GRU + Bahdanau attention"), tf = row("Transformer");
  ASSERT_EQ(none.size(), 7u) << out;
  ASSERT_EQ(att.size(), 7u) << out;
  ASSERT_EQ(tf.size(), 7u) << out;
  EXPECT_GT(none[0], 80.0) << "short sequences are copied without attention too";
  EXPECT_LT(none[6], 40.0) << "n = 28 is beyond the bottleneck";
  EXPECT_GT(att[6], none[6] + 30.0);
  EXPECT_GT(tf[3], 90.0) << "the transformer copies n = 16";
}

TEST(Lessons, RunAllRunsEveryLesson) {
  CmdResult list = attn("lesson list");
  const auto n = std::count(list.out.begin(), list.out.end(), '\n');
  const AllLessons& a = all_lessons();
  ASSERT_EQ(a.run.code, 0) << a.run.out;
  EXPECT_NE(a.run.out.find(std::to_string(n) + " of " + std::to_string(n) + " lessons ran"), std::string::npos)
      << a.run.out;
}

}  // namespace

TEST(Lessons, VisionTransformers) {
  const std::string out = lesson_output("04_applications/02_vision_transformers", 2);
  EXPECT_NE(out.find("test image 0: Ankle boot, tensor (1, 1, 28, 28) -> patches (1, 16, 49)"), std::string::npos)
      << out;
  // Twenty seconds of training: far above chance (10%) on 2000 held-out images.
  EXPECT_GT(number_after(out, "accuracy on 2000 test images: "), 60.0) << out;
  EXPECT_NE(out.find("models/vit-fashion-mnist: "), std::string::npos) << out;
  // One mean attention distance per layer of the shipped model, each between 0 and the grid's diagonal.
  const std::string table = out.substr(out.find("mean distance per head"));
  const std::regex row(R"(\n +([0-9]+)  (?: +[0-9.]+)+    ([0-9.]+))");
  int layers = 0;
  for (std::sregex_iterator it(table.begin(), table.end(), row), end; it != end; ++it) {
    ++layers;
    EXPECT_GT(std::stod((*it)[2]), 0.3) << (*it)[0];
    EXPECT_LT(std::stod((*it)[2]), 9.0) << (*it)[0];  // a 7x7 grid's diagonal is 8.5 patches
  }
  EXPECT_GE(layers, 2) << out;
}

TEST(Lessons, AudioAttention) {
  const std::string out = lesson_output("04_applications/03_audio_attention", 4);
  // 44.1 kHz stereo OGG -> 16 kHz mono -> (40 mels, frames) -> the model's (1, 121, 40) -> 60 tokens + CLS.
  EXPECT_NE(out.find(" samples at 44100 Hz ("), std::string::npos) << out;
  EXPECT_NE(out.find("(batch, frames, mels)"), std::string::npos) << out;
  EXPECT_NE(out.find("(1, 121, 40)"), std::string::npos) << out;
  EXPECT_NE(out.find("-> 60 tokens + CLS = 61 tokens"), std::string::npos) << out;
  // Twenty seconds on synthesized voices: above chance (10%) on held-out voices and on the human recordings.
  EXPECT_GT(number_after(out, "accuracy on held-out eSpeak NG voices: "), 30.0) << out;
  EXPECT_GT(number_after(out, "accuracy on the 10 human recordings:   "), 10.0) << out;
  // The shipped model: each layer's peak inside the 1.2 s clip, and the live real-recording score as shipped.
  for (int l = 0; l < 4; ++l) {
    const double t = number_after(out, "layer " + std::to_string(l) + ": the CLS token listens most at t = ");
    EXPECT_GE(t, 0.0) << out;
    EXPECT_LT(t, 1.2) << out;
  }
  EXPECT_GE(number_after(out, "real recordings: top-1 "), 60.0) << out;
  EXPECT_NE(out.find("pizzeria_pineapple.ogg spelled: \""), std::string::npos) << out;
  EXPECT_NE(out.find("<eos>@"), std::string::npos) << out;
}

TEST(Lessons, MultimodalAttention) {
  const std::string out = lesson_output("04_applications/04_multimodal_attention", 3);
  // By hand: colour words find the French flag's bands.
  EXPECT_NE(out.find("flag: France, keys (1, 1, 64, 3), queries (1, 1, 3, 3) -> weights (1, 1, 3, 64)"),
            std::string::npos)
      << out;
  EXPECT_GT(number_after(out, "'blue' puts "), 90.0) << out;  // % on the left band
  const auto red = out.find("'red' puts ");
  ASSERT_NE(red, std::string::npos) << out;
  double left = 0, middle = 0, right = 0;
  ASSERT_EQ(std::sscanf(out.c_str() + red, "'red' puts %lf%% / %lf%% / %lf%%", &left, &middle, &right), 3) << out;
  EXPECT_GT(right, 90.0) << out;
  // Half a minute of contrastive training: the loss leaves ln 64, more pictures pick their own name, and held-out
  // emoji are found above chance.
  const double before = number_after(out, "the row's best name is its own for ");
  const double after = number_after(out, " of 8 before training, ");
  EXPECT_GT(after, before) << out;
  const auto held = out.find(" held-out emoji: image->name recall@1 ");
  ASSERT_NE(held, std::string::npos) << out;
  double r1 = 0, r10 = 0, c1 = 0, c10 = 0;
  ASSERT_EQ(std::sscanf(out.c_str() + held, " held-out emoji: image->name recall@1 %lf%%, @10 %lf%% (chance %lf%%, %lf%%)",
                        &r1, &r10, &c1, &c10),
            4)
      << out;
  EXPECT_GT(r10, 1.5 * c10) << out;
  EXPECT_NE(out.find("\"red heart\": cosine "), std::string::npos) << out;
}

TEST(Lessons, AttentionExplainability) {
  const std::string out = lesson_output("05_bonus/03_attention_explainability", 2);
  for (const char* method : {"raw_attention", "rollout", "flow", "grad_x_input", "grad_cam", "relevance"})
    EXPECT_TRUE(
        std::regex_search(out, std::regex(std::string("\n  ") + method + " +top patch: row [0-9], column [0-9]\n")))
        << method << "\n"
        << out;
  // The faithfulness table: a row per method and the random baseline, areas in range.
  std::smatch m;
  for (const char* method : {"raw_attention", "rollout", "flow", "grad_x_input", "grad_cam", "relevance", "random"}) {
    ASSERT_TRUE(std::regex_search(
        out, m, std::regex(std::string("\n  ") + method + R"( +([0-9.]+) +([0-9.]+) +([0-9.]+) +([0-9.]+)\n)")))
        << method << "\n"
        << out;
    for (int k = 1; k <= 2; ++k) EXPECT_LE(std::stod(m[k]), 100.0);
    for (int k = 3; k <= 4; ++k) EXPECT_LE(std::stod(m[k]), 1.0);
  }
  // The gradient-weighted relevance removes the model's evidence faster than a random ranking does.
  const double rel = number_after(out, "relevance beats raw attention on the positive test (");
  const double rel2 = number_after(out, "relevance does not beat raw attention on the positive test (");
  EXPECT_TRUE(rel > 0 || rel2 > 0) << out;
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(\n  relevance +([0-9.]+) )"))) << out;
  const double relevance_positive = std::stod(m[1]);
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(\n  random +([0-9.]+) )"))) << out;
  EXPECT_LT(relevance_positive, std::stod(m[1])) << out;
  // The sentence: the GPT's prediction, each method's five top context characters, and the GPT's table.
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(-> predicted next: '.+')"))) << out;
  for (const char* method : {"raw_attention", "rollout", "flow", "grad_x_input", "grad_cam", "relevance"})
    EXPECT_TRUE(std::regex_search(out, std::regex(std::string("\n  ") + method + R"(( +[0-9]+:'[^']*'){5}\n)")))
        << method;
  for (const char* method : {"raw_attention", "rollout", "flow", "grad_x_input", "grad_cam", "relevance", "random"}) {
    ASSERT_TRUE(std::regex_search(
        out, m, std::regex(std::string("\n  gpt ") + method + R"( +([0-9.]+) +([0-9.]+) +([0-9.]+) +([0-9.]+)\n)")))
        << method << "\n"
        << out;
    for (int k = 1; k <= 2; ++k) EXPECT_LE(std::stod(m[k]), 100.0);
    for (int k = 3; k <= 4; ++k) EXPECT_LE(std::stod(m[k]), 1.0);
  }
}

TEST(Lessons, AttentionVisualizer) {
  const std::string out = lesson_output("03_demos/01_attention_visualizer", 4);
  // The neuron view's softmax(q·k/√Dh) is the recorded row; rows sum to 1; the standalone page is written.
  EXPECT_NE(out.find("reproduces the recorded row (largest difference"), std::string::npos) << out;
  const double diff = number_after(out, "reproduces the recorded row (largest difference ");
  EXPECT_GE(diff, 0.0);
  EXPECT_LT(diff, 1e-5) << out;
  EXPECT_LT(number_after(out, "every row sums to 1 (largest deviation "), 1e-5) << out;
  EXPECT_NE(out.find("attention_visualizer.html"), std::string::npos) << out;
  EXPECT_GT(number_after(out, "attention_visualizer.html ("), 100) << out;  // KiB
}

TEST(Lessons, GptAttention) {
  const std::string out = lesson_output("03_demos/02_gpt_attention", 5);
  // The shipped word-level model has a previous-token head (score >= 0.4) and a head that copies on a
  // repeated random sequence (its induction score well above the others' ~0.02).
  EXPECT_GE(number_after(out, "(previous-token score "), 0.4) << out;
  EXPECT_GE(number_after(out, "(induction score "), 0.2) << out;
  // The second copy of the repeated sequence is predicted in context; ablating the induction head undoes
  // much of that.
  const double first = number_after(out, "loss on the first copy:"),
               second = number_after(out, "loss on the second copy:");
  const double ablated = number_after(out, "induction head(s) ablated:");
  EXPECT_LT(second, first - 1.0) << out;
  EXPECT_GT(ablated, second + 0.3) << out;
  // The logit lens's last row is the model; the patching checks of the header hold on a trained model.
  EXPECT_NE(out.find("equals the model's argmax at every position: yes"), std::string::npos) << out;
  const auto at = out.find("at the name (position ");
  ASSERT_NE(at, std::string::npos) << out;
  EXPECT_NEAR(std::atof(out.c_str() + out.find("): ", at) + 3), 1.0, 1e-3) << out;
  EXPECT_NEAR(number_after(out, "the last position before ln_f: "), 1.0, 1e-3) << out;
  // The clean answer is more likely than the corrupted one, and the head that carries it is the copying one.
  EXPECT_GT(number_after(out, "': p_clean "), number_after(out, ", p_corrupt ") + 0.1) << out;
  const auto most = out.find("recovers most: ");
  ASSERT_NE(most, std::string::npos) << out;
  const std::string tail = out.substr(most);
  EXPECT_GE(std::atof(tail.c_str() + tail.find("(") + 1), 0.5) << tail;
  EXPECT_GE(number_after(tail, "its induction score "), 0.2) << tail;
}
