// Recurrent layers: cells against a hand-written step, torch's names and layouts, outputs and gradients
// against values from torch.nn.GRU / LSTM, shapes, and a GRU that learns to reverse sequences.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "attn/core/error.h"
#include "attn/nn/layers.h"
#include "attn/nn/optim.h"
#include "attn/nn/rnn.h"
#include "attn/ops/ops.h"
#include "gradcheck.h"

namespace attn::nn {
namespace {

double sigmoid_d(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// (W v)_row + b_row in double, W (rows, n) row-major.
double affine_row(const Tensor& W, const Tensor& b, const std::vector<float>& v, int64_t row) {
  const int64_t n = W.size(1);
  double acc = b.defined() ? b.data()[row] : 0.0;
  for (int64_t k = 0; k < n; ++k) acc += double(W.data()[row * n + k]) * v[k];
  return acc;
}

void expect_near(const std::vector<float>& got, const std::vector<float>& want, float tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

TEST(NnRnn, GRUCellMatchesHandWrittenStep) {
  Generator gen(1);
  const int64_t I = 3, H = 4, B = 2;
  GRUCell cell(I, H, gen);
  EXPECT_EQ(cell.weight_ih.shape(), (Shape{3 * H, I}));
  EXPECT_EQ(cell.weight_hh.shape(), (Shape{3 * H, H}));
  EXPECT_EQ(cell.bias_ih.shape(), (Shape{3 * H}));
  Tensor x = Tensor::randn({B, I}, gen), h = Tensor::randn({B, H}, gen);
  Tensor out = cell.forward(x, h);
  ASSERT_EQ(out.shape(), (Shape{B, H}));
  for (int64_t b = 0; b < B; ++b) {
    const std::vector<float> xb(x.data() + b * I, x.data() + (b + 1) * I);
    const std::vector<float> hb(h.data() + b * H, h.data() + (b + 1) * H);
    for (int64_t j = 0; j < H; ++j) {
      // Rows j, H + j, 2H + j of the stacked weights are gates r, z, n.
      auto gi = [&](int64_t g) { return affine_row(cell.weight_ih, cell.bias_ih, xb, g * H + j); };
      auto gh = [&](int64_t g) { return affine_row(cell.weight_hh, cell.bias_hh, hb, g * H + j); };
      const double r = sigmoid_d(gi(0) + gh(0));
      const double z = sigmoid_d(gi(1) + gh(1));
      const double n = std::tanh(gi(2) + r * gh(2));
      const double want = (1 - z) * n + z * hb[j];
      EXPECT_NEAR(out.at({b, j}), want, 1e-5) << "b=" << b << " j=" << j;
    }
  }
  // Unbatched input and a missing state (zeros) work too.
  Tensor x0 = reshape(slice(x, 0, 0, 1), {I});
  Tensor zero_state = cell.forward(x0);
  EXPECT_EQ(zero_state.shape(), (Shape{H}));
  expect_near(zero_state.to_vector(), cell.forward(slice(x, 0, 0, 1), Tensor::zeros({1, H})).to_vector(), 0.f);
}

TEST(NnRnn, LSTMCellMatchesHandWrittenStep) {
  Generator gen(2);
  const int64_t I = 3, H = 2, B = 2;
  LSTMCell cell(I, H, gen);
  EXPECT_EQ(cell.weight_ih.shape(), (Shape{4 * H, I}));
  EXPECT_EQ(cell.bias_hh.shape(), (Shape{4 * H}));
  Tensor x = Tensor::randn({B, I}, gen), h = Tensor::randn({B, H}, gen), c = Tensor::randn({B, H}, gen);
  LSTMState s = cell.forward(x, h, c);
  for (int64_t b = 0; b < B; ++b) {
    const std::vector<float> xb(x.data() + b * I, x.data() + (b + 1) * I);
    const std::vector<float> hb(h.data() + b * H, h.data() + (b + 1) * H);
    for (int64_t j = 0; j < H; ++j) {
      // Gate order i, f, g, o.
      auto pre = [&](int64_t g) {
        return affine_row(cell.weight_ih, cell.bias_ih, xb, g * H + j) +
               affine_row(cell.weight_hh, cell.bias_hh, hb, g * H + j);
      };
      const double i = sigmoid_d(pre(0)), f = sigmoid_d(pre(1)), g = std::tanh(pre(2)), o = sigmoid_d(pre(3));
      const double c1 = f * c.at({b, j}) + i * g;
      EXPECT_NEAR(s.c.at({b, j}), c1, 1e-5);
      EXPECT_NEAR(s.h.at({b, j}), o * std::tanh(c1), 1e-5);
    }
  }
}

TEST(NnRnn, CellsPassFiniteDifferenceCheck) {
  Generator gen(10);
  const int64_t B = 2, I = 3, H = 2;
  auto r = [&](const Shape& s) { return Tensor::randn(s, gen); };
  std::vector<Tensor> gru_in{r({B, I}), r({B, H}), r({3 * H, I}), r({3 * H, H}), r({3 * H}), r({3 * H})};
  testing::GradCheckResult g = testing::gradcheck(
      [](const std::vector<Tensor>& in) { return gru_cell(in[0], in[1], in[2], in[3], in[4], in[5]); }, gru_in,
      std::vector<bool>(6, true));
  EXPECT_TRUE(g.ok) << g.report;
  std::vector<Tensor> lstm_in{r({B, I}), r({B, H}), r({B, H}), r({4 * H, I}), r({4 * H, H}), r({4 * H}), r({4 * H})};
  testing::GradCheckResult l = testing::gradcheck(
      [](const std::vector<Tensor>& in) {
        LSTMState s = lstm_cell(in[0], {in[1], in[2]}, in[3], in[4], in[5], in[6]);
        return concat({s.h, s.c}, 1);  // (B, 2H): both outputs checked at once
      },
      lstm_in, std::vector<bool>(7, true));
  EXPECT_TRUE(l.ok) << l.report;
}

TEST(NnRnn, ParameterNamesAndShapesMatchTorch) {
  Generator gen(3);
  GRU gru(3, 4, gen, RNNOptions().num_layers(2).bidirectional(true));
  std::vector<std::string> names;
  std::vector<Shape> shapes;
  for (auto& [name, p] : gru.named_parameters()) {
    names.push_back(name);
    shapes.push_back(p.shape());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                             "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
                                             "bias_hh_l0_reverse", "weight_ih_l1", "weight_hh_l1", "bias_ih_l1",
                                             "bias_hh_l1", "weight_ih_l1_reverse", "weight_hh_l1_reverse",
                                             "bias_ih_l1_reverse", "bias_hh_l1_reverse"}));
  // Layer 1 reads the concatenated directions of layer 0: (3H, D·H) = (12, 8).
  EXPECT_EQ(shapes[0], (Shape{12, 3}));
  EXPECT_EQ(shapes[1], (Shape{12, 4}));
  EXPECT_EQ(shapes[8], (Shape{12, 8}));
  EXPECT_EQ(shapes[12], (Shape{12, 8}));
  LSTM lstm(3, 4, gen, RNNOptions().bias(false));
  EXPECT_EQ(lstm.state_dict().keys(), (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0"}));
  EXPECT_EQ(lstm.weights(0, 0).weight_hh.shape(), (Shape{16, 4}));
  EXPECT_EQ(gru.to_string(), "GRU(3, 4, num_layers=2, bidirectional=True)");
}

// ---- against torch.nn.GRU / LSTM -------------------------------------------------------------------
// Reference values from PyTorch 1.13 (python3-torch), for GRU/LSTM(3, 4, num_layers=2, bidirectional=True)
// with every state-dict tensor j filled as 0.4 sin(0.7 k + 1.3 j + 0.1) (k the flat index), input
// x (T=3, B=2, 3) = cos(0.37 k + 0.2), h0 (4, 2, 4) = 0.5 cos(0.23 k + 0.5), c0 = 0.5 cos(0.31 k + 0.9),
// and loss = Σ output ⊙ cos(0.11 k + 0.3).  The script:
//   m = torch.nn.GRU(3, 4, num_layers=2, bidirectional=True); fill(m.state_dict()); x.requires_grad_()
//   out, hn = m(x, h0); (out * w).sum().backward(); print(out, hn, m.weight_ih_l0.grad, x.grad)
//   (LSTM: out, (hn, cn) = m(x, (h0, c0)); print(..., m.weight_hh_l1_reverse.grad, x.grad))
const std::vector<float> kGruOutput = {
    0.03116968f,  0.2666771f, 0.1984764f, 0.1988612f, -0.3305794f,   -0.06537116f, 0.2215991f, 0.3384254f,
    0.1361991f,   0.545714f,  0.5375907f, 0.434378f,  -0.1707798f,   0.1062194f,   0.3683406f, 0.3015947f,
    0.1324458f,   0.3874836f, 0.2839394f, 0.1769432f, -0.2213592f,   -0.06879884f, 0.2758465f, 0.2607208f,
    0.007167753f, 0.6017944f, 0.5273719f, 0.4109091f, -0.1541426f,   0.04221149f,  0.4135918f, 0.3511101f,
    0.03577996f,  0.3452879f, 0.2655475f, 0.1528157f, -0.01202491f,  0.06983367f,  0.4452434f, 0.2698535f,
    -0.2088609f,  0.4834862f, 0.3557732f, 0.3811387f, -0.001327395f, 0.002493933f, 0.4636763f, 0.3985506f};
const std::vector<float> kGruHN = {
    0.1915029f,  0.3427605f,   -0.2607232f, -0.1113081f,  -0.0616858f, 0.3417897f, -0.2521156f, -0.302511f,
    0.2875252f,  0.2078855f,   0.3808892f,  -0.06402743f, 0.5435221f,  0.2478062f, 0.05547071f, 0.003735021f,
    0.03577996f, 0.3452879f,   0.2655475f,  0.1528157f,   -0.2088609f, 0.4834862f, 0.3557732f,  0.3811387f,
    -0.3305794f, -0.06537116f, 0.2215991f,  0.3384254f,   -0.1707798f, 0.1062194f, 0.3683406f,  0.3015947f};
const std::vector<float> kGruWeightGrad = {
    0.00993947f, 0.004153841f, -0.002193992f, 0.005787126f, 0.00810303f, 0.009322227f, 0.07817965f, 0.08355381f,
    0.07761935f, 0.009669457f, 0.01089713f,   0.01064993f,  0.04616116f, 0.07282701f,  0.08963607f, -0.1360333f,
    -0.1728464f, -0.1862655f,  -0.2282684f,   -0.2360422f,  -0.2118687f, 0.09580378f,  0.09715877f, 0.08536377f,
    -0.1851241f, -0.08901357f, 0.01914452f,   -0.2838199f,  -0.2808522f, -0.2398725f,  -0.5843658f, -0.6316338f,
    -0.5934129f, -0.2606161f,  -0.2949201f,   -0.289308f};
const std::vector<float> kGruInputGrad = {0.02719919f,    0.04642992f,  0.04382394f,   0.02472093f,   0.01553929f,
                                          -0.0009507043f, -0.05915788f, -0.03682871f,  0.002821583f,  0.01876273f,
                                          0.0619291f,     0.07596925f,  -0.005553624f, -0.004974148f, -0.002055252f,
                                          -0.05002684f,   -0.03788008f, -0.007917725f};
const std::vector<float> kLstmOutput = {
    0.1538996f,  0.2035411f, 0.1398989f, 0.1515788f,  -0.2102739f, 0.04205853f,  0.16831f,   0.1440787f,
    0.0624823f,  0.1608463f, 0.1432825f, 0.0477698f,  -0.1260449f, 0.1133884f,   0.1841541f, 0.1356079f,
    0.1313625f,  0.179904f,  0.1703312f, 0.1090517f,  -0.15963f,   -0.02467152f, 0.1460107f, 0.1092039f,
    0.1034425f,  0.1938355f, 0.1630776f, 0.09098052f, -0.1361508f, 0.06907515f,  0.1640004f, 0.1237156f,
    0.09399205f, 0.1913947f, 0.1753801f, 0.1067488f,  -0.1061749f, -0.1370681f,  0.1346969f, -0.0169425f,
    0.07288085f, 0.2047238f, 0.184403f,  0.1101188f,  -0.1413431f, -0.0685725f,  0.1302192f, 0.06112409f};
const std::vector<float> kLstmHN = {
    0.03981035f, 0.02716042f, -0.2179072f, -0.3243155f, -0.1503358f, 0.01668629f, -0.1550263f,  -0.5250012f,
    0.1149499f,  0.07700059f, 0.02176309f, -0.1273732f, 0.1710943f,  0.08221631f, -0.00776403f, -0.01328534f,
    0.09399205f, 0.1913947f,  0.1753801f,  0.1067488f,  0.07288085f, 0.2047238f,  0.184403f,    0.1101188f,
    -0.2102739f, 0.04205853f, 0.16831f,    0.1440787f,  -0.1260449f, 0.1133884f,  0.1841541f,   0.1356079f};
const std::vector<float> kLstmCN = {
    0.0801411f,  0.0654501f,  -0.4014644f, -0.5071189f, -0.2464829f, 0.0365039f, -0.3841788f,  -0.8419698f,
    0.3754679f,  0.1483462f,  0.06746696f, -0.2932597f, 0.5732563f,  0.2552802f, -0.01564964f, -0.02831893f,
    0.1810628f,  0.6005371f,  0.4912269f,  0.3403416f,  0.133303f,   0.6520867f, 0.5684111f,   0.3971336f,
    -0.3457008f, 0.08361459f, 0.3957559f,  0.4737935f,  -0.2106015f, 0.2606758f, 0.4796821f,   0.4607057f};
const std::vector<float> kLstmWeightGrad = {
    0.005536927f,  0.002238782f,  0.006990817f, 0.002833996f,  0.01035727f,  0.00915648f,  0.0003902293f, 0.004030183f,
    -0.003483143f, -0.007175092f, -0.02052003f, -0.01551335f,  0.01053376f,  0.007966271f, -0.008093327f, -0.00151948f,
    0.01345281f,   0.01198673f,   0.01473478f,  0.0110165f,    0.005549232f, 0.005585143f, 0.01501357f,   0.009720509f,
    0.008947087f,  0.009378763f,  0.00251292f,  0.006982341f,  0.005212592f, 0.00433457f,  0.004062512f,  0.004620562f,
    -0.07462127f,  -0.07307738f,  -0.1282261f,  -0.08840151f,  -0.04980921f, -0.04844748f, -0.1147003f,   -0.07292964f,
    0.01768807f,   0.01585947f,   -0.04412977f, -0.01407964f,  0.007959587f, -0.00515916f, -0.05694097f,  -0.03757552f,
    -0.004039638f, -0.007348271f, 0.008076971f, 0.0004491424f, 0.008587686f, 0.007558747f, 0.006448089f,  0.008265696f,
    0.02905625f,   0.02217681f,   -0.01452603f, -0.002504485f, 0.02786468f,  0.02163791f,  -0.01002131f,  0.001765283f};
const std::vector<float> kLstmInputGrad = {0.001502928f,  0.004130917f, 0.004816073f,   0.001626433f,   9.562296e-05f,
                                           -0.00148016f,  0.006875153f, -0.0006983532f, -0.007943411f,  -0.001617012f,
                                           -0.003138937f, -0.00318457f, -0.001967352f,  -0.0005343548f, 0.001149957f,
                                           0.006068352f,  0.005293176f, 0.002028536f};

Tensor cosine_tensor(const Shape& shape, double a, double b, double scale = 1.0) {
  Tensor t = Tensor::empty(shape);
  for (int64_t k = 0; k < t.numel(); ++k) t.data()[k] = static_cast<float>(scale * std::cos(a * k + b));
  return t;
}

// A state dict as torch's fill() above makes it, in the module's own key order (the same as torch's).
StateDict torch_filled_state(const Module& m) {
  StateDict sd;
  int64_t j = 0;
  for (const auto& [name, t] : m.state_dict()) {
    Tensor v = Tensor::empty(t.shape());
    for (int64_t k = 0; k < v.numel(); ++k) v.data()[k] = static_cast<float>(0.4 * std::sin(0.7 * k + 1.3 * j + 0.1));
    sd.insert(name, v);
    ++j;
  }
  return sd;
}

TEST(NnRnn, GRUMatchesTorchOutputsAndGradients) {
  Generator gen(4);
  GRU gru(3, 4, gen, RNNOptions().num_layers(2).bidirectional(true));
  gru.load_state_dict(torch_filled_state(gru));
  Tensor x = cosine_tensor({3, 2, 3}, 0.37, 0.2).requires_grad_();
  Tensor h0 = cosine_tensor({4, 2, 4}, 0.23, 0.5, 0.5);
  GRUOutput r = gru.forward(x, h0);
  ASSERT_EQ(r.output.shape(), (Shape{3, 2, 8}));
  ASSERT_EQ(r.h_n.shape(), (Shape{4, 2, 4}));
  expect_near(r.output.to_vector(), kGruOutput, 2e-6f);
  expect_near(r.h_n.to_vector(), kGruHN, 2e-6f);
  sum(r.output * cosine_tensor(r.output.shape(), 0.11, 0.3)).backward();
  expect_near(gru.weights(0, 0).weight_ih.grad().to_vector(), kGruWeightGrad, 1e-5f);
  expect_near(x.grad().to_vector(), kGruInputGrad, 1e-5f);
}

TEST(NnRnn, LSTMMatchesTorchOutputsAndGradients) {
  Generator gen(5);
  LSTM lstm(3, 4, gen, RNNOptions().num_layers(2).bidirectional(true));
  lstm.load_state_dict(torch_filled_state(lstm));
  Tensor x = cosine_tensor({3, 2, 3}, 0.37, 0.2).requires_grad_();
  LSTMOutput r = lstm.forward(x, cosine_tensor({4, 2, 4}, 0.23, 0.5, 0.5), cosine_tensor({4, 2, 4}, 0.31, 0.9, 0.5));
  expect_near(r.output.to_vector(), kLstmOutput, 2e-6f);
  expect_near(r.h_n.to_vector(), kLstmHN, 2e-6f);
  expect_near(r.c_n.to_vector(), kLstmCN, 2e-6f);
  sum(r.output * cosine_tensor(r.output.shape(), 0.11, 0.3)).backward();
  expect_near(lstm.weights(1, 1).weight_hh.grad().to_vector(), kLstmWeightGrad, 1e-5f);
  expect_near(x.grad().to_vector(), kLstmInputGrad, 1e-5f);
}

// ---- shapes and layouts -----------------------------------------------------------------------------

TEST(NnRnn, BidirectionalShapesAndFinalStates) {
  Generator gen(6);
  const int64_t T = 5, B = 3, I = 2, H = 4;
  GRU gru(I, H, gen, RNNOptions().num_layers(3).bidirectional(true));
  Tensor x = Tensor::randn({T, B, I}, gen);
  GRUOutput r = gru.forward(x);
  EXPECT_EQ(r.output.shape(), (Shape{T, B, 2 * H}));
  EXPECT_EQ(r.h_n.shape(), (Shape{3 * 2, B, H}));
  // The last layer's forward direction ends at t = T-1, its reverse direction at t = 0.
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < H; ++j) {
      EXPECT_EQ(r.h_n.at({4, b, j}), r.output.at({T - 1, b, j}));
      EXPECT_EQ(r.h_n.at({5, b, j}), r.output.at({0, b, H + j}));
    }

  LSTM lstm(I, H, gen, RNNOptions().bidirectional(true).batch_first(true));
  LSTMOutput l = lstm.forward(transpose(x, 0, 1));  // (B, T, I)
  EXPECT_EQ(l.output.shape(), (Shape{B, T, 2 * H}));
  EXPECT_EQ(l.h_n.shape(), (Shape{2, B, H}));  // h_n is never batch-first
  EXPECT_EQ(l.c_n.shape(), (Shape{2, B, H}));

  // Unbatched (T, I) input gives (T, D·H) and (L·D, H), equal to batch element 0.
  LSTM one(I, H, gen, RNNOptions().bidirectional(true));
  LSTMOutput u = one.forward(slice(x, 1, 0, 1).reshape({T, I}));
  LSTMOutput batched = one.forward(x);
  EXPECT_EQ(u.output.shape(), (Shape{T, 2 * H}));
  EXPECT_EQ(u.h_n.shape(), (Shape{2, H}));
  expect_near(u.output.to_vector(), slice(batched.output, 1, 0, 1).to_vector(), 1e-6f);

  EXPECT_THROW(gru.forward(Tensor::randn({T, B, I + 1}, gen)), Error);
  EXPECT_THROW(gru.forward(x, Tensor::zeros({2, B, H})), Error);
}

TEST(NnRnn, ReverseDirectionIsForwardOnFlippedSequence) {
  // A one-direction GRU holding the reverse weights, run on the time-flipped input, gives the reverse half.
  Generator gen(7);
  const int64_t T = 4, B = 2, I = 3, H = 5;
  GRU bi(I, H, gen, RNNOptions().bidirectional(true));
  GRU fwd(I, H, gen);
  const auto& w = bi.weights(0, 1);
  fwd.load_state_dict({{"weight_ih_l0", w.weight_ih},
                       {"weight_hh_l0", w.weight_hh},
                       {"bias_ih_l0", w.bias_ih},
                       {"bias_hh_l0", w.bias_hh}});
  Tensor x = Tensor::randn({T, B, I}, gen);
  std::vector<Tensor> steps;
  for (int64_t t = T - 1; t >= 0; --t) steps.push_back(slice(x, 0, t, t + 1));
  Tensor flipped = concat(steps, 0);
  Tensor out_bi = bi.forward(x).output;           // (T, B, 2H)
  Tensor out_flip = fwd.forward(flipped).output;  // (T, B, H)
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j) EXPECT_NEAR(out_bi.at({t, b, H + j}), out_flip.at({T - 1 - t, b, j}), 1e-6);
}

TEST(NnRnn, DropoutBetweenLayersOnlyInTraining) {
  Generator gen(8);
  GRU gru(3, 4, gen, RNNOptions().num_layers(2).dropout(0.5f));
  Tensor x = Tensor::randn({3, 2, 3}, gen);
  gru.generator() = Generator(1);
  Tensor a = gru.forward(x).output;
  gru.generator() = Generator(1);
  EXPECT_EQ(gru.forward(x).output.to_vector(), a.to_vector());  // same seed, same masks
  gru.eval();
  Tensor e1 = gru.forward(x).output, e2 = gru.forward(x).output;
  EXPECT_EQ(e1.to_vector(), e2.to_vector());
  EXPECT_NE(e1.to_vector(), a.to_vector());
}

// ---- learning ---------------------------------------------------------------------------------------

// Reverse a sequence of T = 5 tokens over a vocabulary of 6: target[t] = input[T-1-t]. A bidirectional
// GRU sees the whole sequence at every position, so a linear head on its output can read the token
// that sits at the mirrored position.
struct Reverser : Module {
  static constexpr int64_t V = 6, E = 16, H = 32;
  std::shared_ptr<Embedding> embed;
  std::shared_ptr<GRU> gru;
  std::shared_ptr<Linear> head;
  explicit Reverser(Generator& gen) {
    embed = register_module("embed", std::make_shared<Embedding>(V, E, gen));
    gru = register_module("gru", std::make_shared<GRU>(E, H, gen, RNNOptions().bidirectional(true)));
    head = register_module("head", std::make_shared<Linear>(2 * H, V, gen));
  }
  Tensor forward(const IndexTensor& ids) {  // ids (T, B) -> logits (T·B, V)
    Tensor x = embed->forward(ids);         // (T, B, E)
    Tensor h = gru->forward(x).output;      // (T, B, 2H)
    return reshape(head->forward(h), {-1, V});
  }
};

struct ReverseBatch {
  IndexTensor input, target;  // (T, B) and (T·B)
};

ReverseBatch reverse_batch(Generator& gen, int64_t T, int64_t B) {
  std::vector<int64_t> in(T * B), tgt(T * B);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) in[t * B + b] = gen.randint(Reverser::V);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) tgt[t * B + b] = in[(T - 1 - t) * B + b];
  return {IndexTensor(in, {T, B}), IndexTensor(tgt, {T * B})};
}

struct TrainResult {
  float final_loss;  // training loss of the last step
  float eval_loss;   // on held-out sequences
  float accuracy;    // token accuracy on held-out sequences
};

TrainResult train_reverser(uint64_t seed, int steps) {
  const int64_t T = 5, B = 32;
  Generator init_gen(seed), data_gen(seed, 1);
  Reverser model(init_gen);
  Adam opt(model.parameters(), AdamOptions(1e-2f));
  float loss_value = 0.f;
  for (int s = 0; s < steps; ++s) {
    ReverseBatch batch = reverse_batch(data_gen, T, B);
    Tensor loss = cross_entropy(model.forward(batch.input), batch.target);
    opt.zero_grad();
    loss.backward();
    clip_grad_norm_(model.parameters(), 1.f);
    opt.step();
    loss_value = loss.item();
  }
  NoGradGuard no_grad;
  model.eval();
  Generator eval_gen(seed + 1000, 2);
  ReverseBatch test = reverse_batch(eval_gen, T, 256);
  Tensor logits = model.forward(test.input);  // (T·256, V)
  IndexTensor pred;
  max(logits, 1, false, &pred);
  int correct = 0;
  for (int64_t i = 0; i < test.target.numel(); ++i) correct += pred[i] == test.target[i];
  return {loss_value, cross_entropy(logits, test.target).item(), float(correct) / float(test.target.numel())};
}

TEST(NnRnn, BidirectionalGRULearnsToReverseSequences) {
  const auto t0 = std::chrono::steady_clock::now();
  const TrainResult a = train_reverser(/*seed=*/1, /*steps=*/600);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(a.accuracy, 0.99f);
  EXPECT_LT(a.eval_loss, 0.05f);
  // Deterministic for a fixed seed: a second run gives the very same loss.
  const TrainResult b = train_reverser(1, 600);
  EXPECT_EQ(a.final_loss, b.final_loss);
  EXPECT_EQ(a.accuracy, b.accuracy);
  RecordProperty("train_seconds", std::to_string(seconds));  // about 1 s per run in Release
}

}  // namespace
}  // namespace attn::nn
