// Attention flow (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers", ACL, §3).
//
// Rollout multiplies the layers' mixing matrices, as if every path through the network carried
// information independently. Flow treats the network as pipes instead: a layered graph with one node per
// token and layer, and an edge from token j below layer l to token i above it whose capacity is how much
// i takes from j,
//
//   nodes   (l, i) for l = 0 .. L (0 = the input tokens, L = the last layer's outputs), i = 0 .. T-1
//   edges   (l, j) -> (l+1, i)  with capacity Â_l[i, j],  Â_l = rownorm(½·mean_heads(A_l) + ½·I)
//
// and the score of input token j for the output at query position q is the maximum flow from (0, j) to
// (L, q): how much can get through the narrowest cut between them. The paper's networkx code solves one
// max-flow problem per input token; so does this, with Boost Graph's push-relabel solver
// (boost::push_relabel_max_flow, Goldberg & Tarjan 1988) on a graph of (L+1)·T nodes and L·T² edges.
// Cost: T max-flow problems; for a ViT over 50 tokens and 4 layers, a few milliseconds each.
#pragma once
#include <cstdint>
#include <vector>

#include "attn/core/tensor.h"

namespace attn::explain {

struct FlowEdge {
  int64_t from = 0, to = 0;
  double capacity = 0;
};

// The maximum flow from `source` to `sink` in a directed graph of `num_nodes` nodes (Boost Graph's
// push-relabel, on capacities rounded to multiples of 2^-30: exact integer arithmetic inside). Parallel edges
// add up; capacities must be in [0, 1e6].
double max_flow(int64_t num_nodes, const std::vector<FlowEdge>& edges, int64_t source, int64_t sink);

// The layered graph above for per-layer attentions (1, H, T, T) or (H, T, T), bottom layer first.
// Node (l, i) is l·T + i.
std::vector<FlowEdge> attention_flow_graph(const std::vector<Tensor>& attentions);

// (T) scores: max-flow from each input token j to the output token `query`.
Tensor attention_flow_scores(const std::vector<Tensor>& attentions, int64_t query);

}  // namespace attn::explain
