#include "attn/dist/ring_attention.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/kernels/elementwise.h"
#include "attn/kernels/flash_attention.h"

namespace attn::dist {

namespace {
constexpr const char* kOp = "ring_attention";
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Chunk c of `parts` nearly equal chunks of T positions: [c·T/parts, (c+1)·T/parts).
SequenceShard::Chunk chunk(int64_t T, int64_t parts, int64_t c) {
  const int64_t a = c * T / parts, b = (c + 1) * T / parts;
  return {c, a, b - a};
}

// `len` positions of every row of a (rows, src_T, X) buffer, from position src_pos, to a (rows, dst_T, X) buffer at
// position dst_pos.
void copy_positions(const float* src, int64_t src_T, int64_t src_pos, float* dst, int64_t dst_T, int64_t dst_pos,
                    int64_t rows, int64_t X, int64_t len) {
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(dst + (r * dst_T + dst_pos) * X, src + (r * src_T + src_pos) * X,
                static_cast<size_t>(len * X) * sizeof(float));
}
// Positions [pos, pos + len) of a (rows, T, X) buffer out to a (rows, len, X) one, and back in.
void copy_out(const float* src, int64_t rows, int64_t T, int64_t X, int64_t pos, int64_t len, float* dst) {
  copy_positions(src, T, pos, dst, len, 0, rows, X, len);
}
void copy_in(const float* src, int64_t rows, int64_t T, int64_t X, int64_t pos, int64_t len, float* dst) {
  copy_positions(src, len, 0, dst, T, pos, rows, X, len);
}

struct Dims {
  int64_t B, H, Hkv, D, Dv;
  float scale;
  bool causal;
};

// A rank's keys and values as one message: per chunk, k (B, Hkv, len, D) then v (B, Hkv, len, Dv).
int64_t block_floats(const Dims& d, const SequenceShard& s) { return d.B * d.Hkv * s.length() * (d.D + d.Dv); }

std::vector<float> pack_block(const Dims& d, const SequenceShard& s, const Tensor& k, const Tensor& v) {
  std::vector<float> buf(static_cast<size_t>(block_floats(d, s)));
  float* at = buf.data();
  int64_t pos = 0;
  for (const auto& c : s.chunks) {
    copy_out(k.data(), d.B * d.Hkv, s.length(), d.D, pos, c.length, at);
    at += d.B * d.Hkv * c.length * d.D;
    copy_out(v.data(), d.B * d.Hkv, s.length(), d.Dv, pos, c.length, at);
    at += d.B * d.Hkv * c.length * d.Dv;
    pos += c.length;
  }
  return buf;
}

// The inverse: a block message back into k (B, Hkv, T_r, D) and v (B, Hkv, T_r, Dv) (the gradients dk, dv).
void unpack_block(const Dims& d, const SequenceShard& s, const float* block, Tensor* k, Tensor* v) {
  *k = Tensor::empty({d.B, d.Hkv, s.length(), d.D});
  *v = Tensor::empty({d.B, d.Hkv, s.length(), d.Dv});
  int64_t pos = 0;
  for (const auto& c : s.chunks) {
    copy_in(block, d.B * d.Hkv, s.length(), d.D, pos, c.length, k->data());
    block += d.B * d.Hkv * c.length * d.D;
    copy_in(block, d.B * d.Hkv, s.length(), d.Dv, pos, c.length, v->data());
    block += d.B * d.Hkv * c.length * d.Dv;
    pos += c.length;
  }
}

// The query side of one rank: per chunk, q (B, H, len, D), and the running out (B, H, len, Dv), lse (B, H, len).
struct QueryChunk {
  SequenceShard::Chunk c;
  std::vector<float> q, out, lse, dout, dq;
};

std::vector<QueryChunk> query_chunks(const Dims& d, const SequenceShard& s, const Tensor& q) {
  std::vector<QueryChunk> out;
  int64_t pos = 0;
  for (const auto& c : s.chunks) {
    QueryChunk qc;
    qc.c = c;
    qc.q.resize(static_cast<size_t>(d.B * d.H * c.length * d.D));
    copy_out(q.data(), d.B * d.H, s.length(), d.D, pos, c.length, qc.q.data());
    qc.out.assign(static_cast<size_t>(d.B * d.H * c.length * d.Dv), 0.f);
    qc.lse.assign(static_cast<size_t>(d.B * d.H * c.length), kNegInf);
    out.push_back(std::move(qc));
    pos += c.length;
  }
  return out;
}

kernels::FlashParams pair_params(const Dims& d, int64_t L, int64_t S, bool diagonal) {
  kernels::FlashParams p;
  p.B = d.B, p.H = d.H, p.Hkv = d.Hkv, p.L = L, p.S = S, p.D = d.D, p.Dv = d.Dv;
  p.scale = d.scale;
  p.causal = diagonal;
  return p;
}

// Whether query chunk a sees key chunk b at all, and whether through the causal diagonal.
bool visible(const Dims& d, int64_t a, int64_t b, bool* diagonal) {
  *diagonal = d.causal && a == b;
  return !d.causal || b <= a;
}

// out, lse ← the log-sum-exp merge of (out, lse) and (o, l): rows of Dv floats.
void merge(float* out, float* lse, const float* o, const float* l, int64_t rows, int64_t Dv) {
  for (int64_t i = 0; i < rows; ++i) {
    if (l[i] == kNegInf) continue;  // the new block sees none of this row's keys
    float* oi = out + i * Dv;
    const float* ni = o + i * Dv;
    if (lse[i] == kNegInf) {
      std::memcpy(oi, ni, static_cast<size_t>(Dv) * sizeof(float));
      lse[i] = l[i];
      continue;
    }
    const float m = std::max(lse[i], l[i]);
    const float w1 = std::exp(lse[i] - m), w2 = std::exp(l[i] - m), sum = w1 + w2;
    const float a = w1 / sum, b = w2 / sum;
    for (int64_t j = 0; j < Dv; ++j) oi[j] = a * oi[j] + b * ni[j];
    lse[i] = m + std::log(sum);
  }
}

// Forward: every (query chunk, key chunk) pair of this rank's queries with one visiting block. Returns the pairs done.
int64_t forward_pairs(const Dims& d, std::vector<QueryChunk>& qs, const SequenceShard& kv_shard, const float* block) {
  int64_t pairs = 0;
  std::vector<float> o, l;
  for (QueryChunk& qc : qs) {
    const float* at = block;
    for (const auto& kc : kv_shard.chunks) {
      const float* k = at;
      const float* v = at + d.B * d.Hkv * kc.length * d.D;
      at = v + d.B * d.Hkv * kc.length * d.Dv;
      bool diagonal = false;
      if (!visible(d, qc.c.index, kc.index, &diagonal)) continue;
      const kernels::FlashParams p = pair_params(d, qc.c.length, kc.length, diagonal);
      o.resize(static_cast<size_t>(d.B * d.H * qc.c.length * d.Dv));
      l.resize(static_cast<size_t>(d.B * d.H * qc.c.length));
      kernels::flash_attention_forward(p, qc.q.data(), k, v, o.data(), l.data());
      merge(qc.out.data(), qc.lse.data(), o.data(), l.data(), d.B * d.H * qc.c.length, d.Dv);
      ++pairs;
    }
  }
  return pairs;
}

// Backward: the same pairs; dq into the query chunks, dk/dv into the visiting block's gradient buffer (same layout).
void backward_pairs(const Dims& d, std::vector<QueryChunk>& qs, const SequenceShard& kv_shard, const float* block,
                    float* dblock) {
  for (QueryChunk& qc : qs) {
    const float* at = block;
    float* dat = dblock;
    for (const auto& kc : kv_shard.chunks) {
      const int64_t nk = d.B * d.Hkv * kc.length * d.D, nv = d.B * d.Hkv * kc.length * d.Dv;
      const float* k = at;
      const float* v = at + nk;
      float* dk = dat;
      float* dv = dat + nk;
      at += nk + nv;
      dat += nk + nv;
      bool diagonal = false;
      if (!visible(d, qc.c.index, kc.index, &diagonal)) continue;
      const kernels::FlashParams p = pair_params(d, qc.c.length, kc.length, diagonal);
      kernels::flash_attention_backward(p, qc.q.data(), k, v, qc.out.data(), qc.lse.data(), qc.dout.data(),
                                        qc.dq.data(), dk, dv);
    }
  }
}

Dims check_inputs(Communicator& comm, const Tensor& q, const Tensor& k, const Tensor& v, int64_t T,
                  const RingAttentionOptions& o, SequenceShard* mine) {
  ATTN_CHECK(q.defined() && k.defined() && v.defined() && q.dim() == 4 && k.dim() == 4 && v.dim() == 4, kOp,
             "expected q (B, H, T_r, D), k (B, Hkv, T_r, D), v (B, Hkv, T_r, Dv)");
  Dims d{q.size(0), q.size(1), k.size(1), q.size(3), v.size(3), 0.f, o.causal};
  d.scale = o.scale.value_or(1.f / std::sqrt(static_cast<float>(d.D)));
  // Every rank checks the same things in the same order, so a mismatch is reported by all of them.
  comm.check_same("the sequence length T", T);
  comm.check_same("causal", o.causal ? 1 : 0);
  comm.check_same("the zig-zag layout", o.uses_zigzag() ? 1 : 0);
  comm.check_same("the batch size B", d.B);
  comm.check_same("the query heads H", d.H);
  comm.check_same("the key/value heads Hkv", d.Hkv);
  comm.check_same("the head dim D", d.D);
  comm.check_same("the value head dim Dv", d.Dv);
  *mine = ring_shard(T, comm.size(), comm.rank(), o.uses_zigzag());
  ATTN_CHECK(k.size(0) == d.B && v.size(0) == d.B && v.size(1) == d.Hkv && k.size(3) == d.D, kOp,
             "q " << shape_str(q.shape()) << ", k " << shape_str(k.shape()) << ", v " << shape_str(v.shape())
                  << " do not match");
  ATTN_CHECK(d.Hkv > 0 && d.H % d.Hkv == 0, kOp,
             "the key/value heads (" << d.Hkv << ") must divide the query heads (" << d.H << ")");
  ATTN_CHECK(q.size(2) == mine->length() && k.size(2) == mine->length() && v.size(2) == mine->length(), kOp,
             "rank " << comm.rank() << " of " << comm.size() << " holds " << mine->length() << " of the " << T
                     << " positions, but q, k, v have " << q.size(2) << ", " << k.size(2) << ", " << v.size(2));
  return d;
}

void write_back(const Dims& d, const SequenceShard& s, std::vector<QueryChunk>& qs, Tensor* out, Tensor* lse) {
  const int64_t Tr = s.length();
  *out = Tensor::empty({d.B, d.H, Tr, d.Dv});
  *lse = Tensor::empty({d.B, d.H, Tr});
  int64_t pos = 0;
  for (QueryChunk& qc : qs) {
    copy_in(qc.out.data(), d.B * d.H, Tr, d.Dv, pos, qc.c.length, out->data());
    copy_in(qc.lse.data(), d.B * d.H, Tr, 1, pos, qc.c.length, lse->data());
    pos += qc.c.length;
  }
}

}  // namespace

int64_t SequenceShard::length() const {
  int64_t n = 0;
  for (const Chunk& c : chunks) n += c.length;
  return n;
}

SequenceShard ring_shard(int64_t T, int world, int rank, bool zigzag) {
  ATTN_CHECK(world >= 1 && rank >= 0 && rank < world, kOp, "rank " << rank << " is not in a world of " << world);
  const int64_t parts = zigzag ? 2 * int64_t{world} : world;
  ATTN_CHECK(
      T >= parts, kOp,
      "a sequence of " << T << " positions cannot be split over " << world << " ranks"
                       << (zigzag ? " in zig-zag order (causal: 2 chunks per rank, T >= 2 x ranks)" : " (T >= ranks)"));
  SequenceShard s;
  s.chunks.push_back(chunk(T, parts, rank));
  if (zigzag) s.chunks.push_back(chunk(T, parts, parts - 1 - rank));
  return s;
}

Tensor take_shard(const Tensor& x, const SequenceShard& shard) {
  ATTN_CHECK(x.defined() && x.dim() >= 3, kOp, "take_shard expects (B, H, T, …)");
  const int64_t rows = x.size(0) * x.size(1), T = x.size(2), X = x.numel() / std::max<int64_t>(1, rows * T);
  Shape shape = x.shape();
  shape[2] = shard.length();
  Tensor out = Tensor::empty(shape);
  int64_t pos = 0;
  for (const auto& c : shard.chunks) {
    ATTN_CHECK(c.start + c.length <= T, kOp, "shard positions past the sequence's " << T);
    copy_positions(x.data(), T, c.start, out.data(), shard.length(), pos, rows, X, c.length);
    pos += c.length;
  }
  return out;
}

Tensor join_shards(const std::vector<Tensor>& parts, const std::vector<SequenceShard>& shards, int64_t T) {
  ATTN_CHECK(!parts.empty() && parts.size() == shards.size(), kOp, "join_shards: one shard description per part");
  Shape shape = parts[0].shape();
  shape[2] = T;
  Tensor out = Tensor::zeros(shape);
  const int64_t rows = shape[0] * shape[1], X = out.numel() / std::max<int64_t>(1, rows * T);
  for (size_t i = 0; i < parts.size(); ++i) {
    int64_t pos = 0;
    for (const auto& c : shards[i].chunks) {
      copy_positions(parts[i].data(), shards[i].length(), pos, out.data(), T, c.start, rows, X, c.length);
      pos += c.length;
    }
  }
  return out;
}

RingForward ring_attention_forward(Communicator& comm, const Tensor& q, const Tensor& k, const Tensor& v, int64_t T,
                                   const RingAttentionOptions& options) {
  SequenceShard mine;
  const Dims d = check_inputs(comm, q, k, v, T, options, &mine);
  const int N = comm.size(), r = comm.rank();
  std::vector<QueryChunk> qs = query_chunks(d, mine, q);
  std::vector<float> cur = pack_block(d, mine, k, v), next;
  RingForward result;
  for (int s = 0; s < N; ++s) {
    const int origin = ((r - s) % N + N) % N, coming = ((r - s - 1) % N + N) % N;
    const SequenceShard held = ring_shard(T, N, origin, options.uses_zigzag());
    std::vector<Communicator::Request> msgs;
    if (s + 1 < N) {  // the next block comes in while this one is computed
      next.resize(static_cast<size_t>(block_floats(d, ring_shard(T, N, coming, options.uses_zigzag()))));
      msgs.push_back(comm.irecv(next.data(), static_cast<int64_t>(next.size()), (r - 1 + N) % N, s,
                                "ring attention: receive keys/values"));
      msgs.push_back(
          comm.isend(cur.data(), static_cast<int64_t>(cur.size()), (r + 1) % N, s, "ring attention: send keys/values"));
    }
    const double t0 = now_s();
    forward_pairs(d, qs, held, cur.data());
    const double t1 = now_s();
    comm.wait_all(msgs);
    result.compute_seconds += t1 - t0;
    result.wait_seconds += now_s() - t1;
    if (s + 1 < N) std::swap(cur, next);
  }
  write_back(d, mine, qs, &result.out, &result.lse);
  return result;
}

RingGradients ring_attention_backward(Communicator& comm, const Tensor& q, const Tensor& k, const Tensor& v,
                                      const Tensor& out, const Tensor& lse, const Tensor& dout, int64_t T,
                                      const RingAttentionOptions& options) {
  SequenceShard mine;
  const Dims d = check_inputs(comm, q, k, v, T, options, &mine);
  const int64_t Tr = mine.length();
  ATTN_CHECK(out.defined() && lse.defined() && dout.defined() && out.shape() == Shape({d.B, d.H, Tr, d.Dv}) &&
                 dout.shape() == out.shape() && lse.shape() == Shape({d.B, d.H, Tr}),
             kOp,
             "out/dout must be (B, H, T_r, Dv) = (" << d.B << ", " << d.H << ", " << Tr << ", " << d.Dv
                                                    << ") and lse (B, H, T_r)");
  const int N = comm.size(), r = comm.rank();
  std::vector<QueryChunk> qs = query_chunks(d, mine, q);
  int64_t pos = 0;
  for (QueryChunk& qc : qs) {  // the final out and lse of the forward pass, and dout, per chunk
    copy_out(out.data(), d.B * d.H, Tr, d.Dv, pos, qc.c.length, qc.out.data());
    copy_out(lse.data(), d.B * d.H, Tr, 1, pos, qc.c.length, qc.lse.data());
    qc.dout.resize(qc.out.size());
    copy_out(dout.data(), d.B * d.H, Tr, d.Dv, pos, qc.c.length, qc.dout.data());
    qc.dq.assign(qc.q.size(), 0.f);
    pos += qc.c.length;
  }
  std::vector<float> cur = pack_block(d, mine, k, v), next;
  std::vector<float> dcur(cur.size(), 0.f), dnext;
  RingGradients g;
  for (int s = 0; s < N; ++s) {
    const int origin = ((r - s) % N + N) % N, coming = ((r - s - 1) % N + N) % N;
    const SequenceShard held = ring_shard(T, N, origin, options.uses_zigzag());
    const int64_t coming_floats = block_floats(d, ring_shard(T, N, coming, options.uses_zigzag()));
    std::vector<Communicator::Request> msgs;
    if (s + 1 < N) {
      next.resize(static_cast<size_t>(coming_floats));
      msgs.push_back(comm.irecv(next.data(), coming_floats, (r - 1 + N) % N, 2 * s,
                                "ring attention backward: receive keys/values"));
      msgs.push_back(comm.isend(cur.data(), static_cast<int64_t>(cur.size()), (r + 1) % N, 2 * s,
                                "ring attention backward: send keys/values"));
    }
    const double t0 = now_s();
    backward_pairs(d, qs, held, cur.data(), dcur.data());
    const double t1 = now_s();
    comm.wait_all(msgs);
    // The visiting block's dk, dv move on with it; after the last step each block's arrive back at its own rank.
    if (N > 1) {
      dnext.resize(static_cast<size_t>(coming_floats));
      msgs.push_back(comm.irecv(dnext.data(), coming_floats, (r - 1 + N) % N, 2 * s + 1,
                                "ring attention backward: receive dk/dv"));
      msgs.push_back(comm.isend(dcur.data(), static_cast<int64_t>(dcur.size()), (r + 1) % N, 2 * s + 1,
                                "ring attention backward: send dk/dv"));
      comm.wait_all(msgs);
      std::swap(dcur, dnext);
    }
    g.compute_seconds += t1 - t0;
    g.wait_seconds += now_s() - t1;
    if (s + 1 < N) std::swap(cur, next);
  }
  // dcur now holds this rank's own block's gradients, in the block layout.
  unpack_block(d, mine, dcur.data(), &g.dk, &g.dv);
  g.dq = Tensor::empty({d.B, d.H, Tr, d.D});
  pos = 0;
  for (QueryChunk& qc : qs) {
    copy_in(qc.dq.data(), d.B * d.H, Tr, d.D, pos, qc.c.length, g.dq.data());
    pos += qc.c.length;
  }
  return g;
}

Tensor ring_attention(Communicator& comm, const Tensor& q, const Tensor& k, const Tensor& v, int64_t T,
                      const RingAttentionOptions& options) {
  RingForward f = ring_attention_forward(comm, q, k, v, T, options);
  Tensor out = f.out;
  if (needs_grad({&q, &k, &v})) {
    Tensor qs = q.detach(), ks = k.detach(), vs = v.detach(), os = out.detach(), lse = f.lse;
    Communicator* c = &comm;
    record(out, "ring_attention", {q, k, v},
           [c, qs, ks, vs, os, lse, T, options](const Tensor& gout, std::vector<Tensor>& gin) {
             RingGradients g = ring_attention_backward(*c, qs, ks, vs, os, lse, gout, T, options);
             const Tensor* grads[3] = {&g.dq, &g.dk, &g.dv};
             for (size_t i = 0; i < 3; ++i)
               if (gin[i].defined()) kernels::add_inplace(gin[i].data(), grads[i]->data(), grads[i]->numel());
           });
  }
  return out;
}

SimulatedRing simulate_ring_attention(const Tensor& q, const Tensor& k, const Tensor& v, int world,
                                      const RingAttentionOptions& options) {
  ATTN_CHECK(q.defined() && q.dim() == 4 && k.dim() == 4 && v.dim() == 4, kOp, "expected (B, H, T, D) tensors");
  const int64_t T = q.size(2);
  ATTN_CHECK(k.size(2) == T && v.size(2) == T, kOp, "q, k and v must have the same length for self-attention");
  Dims d{q.size(0), q.size(1), k.size(1), q.size(3), v.size(3), 0.f, options.causal};
  d.scale = options.scale.value_or(1.f / std::sqrt(static_cast<float>(d.D)));
  ATTN_CHECK(d.Hkv > 0 && d.H % d.Hkv == 0, kOp, "the key/value heads must divide the query heads");
  std::vector<SequenceShard> shards;
  std::vector<std::vector<QueryChunk>> queries;
  std::vector<std::vector<float>> blocks;
  for (int r = 0; r < world; ++r) {
    shards.push_back(ring_shard(T, world, r, options.uses_zigzag()));
    queries.push_back(query_chunks(d, shards.back(), take_shard(q, shards.back())));
    blocks.push_back(pack_block(d, shards.back(), take_shard(k, shards.back()), take_shard(v, shards.back())));
  }
  SimulatedRing result;
  result.rank_seconds.assign(static_cast<size_t>(world), 0.0);
  result.rank_pairs.assign(static_cast<size_t>(world), 0);
  // Step s: rank r works on the block of rank (r - s) mod N (in a real ring, all ranks at once).
  for (int s = 0; s < world; ++s)
    for (int r = 0; r < world; ++r) {
      const int origin = ((r - s) % world + world) % world;
      const double t0 = now_s();
      result.rank_pairs[static_cast<size_t>(r)] +=
          forward_pairs(d, queries[static_cast<size_t>(r)], shards[static_cast<size_t>(origin)],
                        blocks[static_cast<size_t>(origin)].data());
      result.rank_seconds[static_cast<size_t>(r)] += now_s() - t0;
    }
  std::vector<Tensor> outs, lses;
  for (int r = 0; r < world; ++r) {
    Tensor o, l;
    write_back(d, shards[static_cast<size_t>(r)], queries[static_cast<size_t>(r)], &o, &l);
    outs.push_back(o);
    lses.push_back(l);
  }
  result.out = join_shards(outs, shards, T);
  result.lse = join_shards(lses, shards, T);
  return result;
}

}  // namespace attn::dist
