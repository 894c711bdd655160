#include "attn/explain/flow.h"

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/push_relabel_max_flow.hpp>
#include <cmath>
#include <cstdint>

#include "attn/autograd/autograd.h"
#include "attn/core/error.h"
#include "attn/explain/relevance.h"
#include "attn/explain/rollout.h"
#include "attn/ops/ops.h"

namespace attn::explain {

namespace {

constexpr const char* kOp = "attention_flow";

// Boost's classic max-flow graph: each edge knows its capacity, its residual capacity and its reverse edge.
// Capacities are integers: attention weights scaled by 2^30 (a resolution of 1e-9). Push-relabel on floating
// point can fail its own consistency check (Boost asserts flow conservation exactly) or, in theory, not end;
// on integers it is exact.
using Capacity = int64_t;
constexpr double kScale = 1073741824.0;  // 2^30
using Traits = boost::adjacency_list_traits<boost::vecS, boost::vecS, boost::directedS>;
using Graph = boost::adjacency_list<
    boost::vecS, boost::vecS, boost::directedS, boost::no_property,
    boost::property<boost::edge_capacity_t, Capacity,
                    boost::property<boost::edge_residual_capacity_t, Capacity,
                                    boost::property<boost::edge_reverse_t, Traits::edge_descriptor>>>>;

Graph build(int64_t n, const std::vector<FlowEdge>& edges) {
  Graph g(static_cast<size_t>(n));
  auto capacity = boost::get(boost::edge_capacity, g);
  auto reverse = boost::get(boost::edge_reverse, g);
  for (const FlowEdge& e : edges) {
    ATTN_CHECK(e.from >= 0 && e.from < n && e.to >= 0 && e.to < n, kOp,
               "edge " << e.from << " -> " << e.to << " outside the " << n << " nodes");
    ATTN_CHECK(e.capacity >= 0, kOp, "edge " << e.from << " -> " << e.to << " has a negative capacity " << e.capacity);
    ATTN_CHECK(e.capacity <= 1e6, kOp,
               "edge " << e.from << " -> " << e.to << " has a capacity " << e.capacity
                       << " above 1e6 (attention weights are at most 1)");
    // Each edge is paired with a reverse edge of capacity 0, along which the solver may push flow back.
    auto fwd = boost::add_edge(static_cast<size_t>(e.from), static_cast<size_t>(e.to), g).first;
    auto back = boost::add_edge(static_cast<size_t>(e.to), static_cast<size_t>(e.from), g).first;
    capacity[fwd] = static_cast<Capacity>(std::llround(e.capacity * kScale));
    capacity[back] = 0;
    reverse[fwd] = back;
    reverse[back] = fwd;
  }
  return g;
}

}  // namespace

double max_flow(int64_t num_nodes, const std::vector<FlowEdge>& edges, int64_t source, int64_t sink) {
  ATTN_CHECK(num_nodes > 0, kOp, "the graph has no nodes");
  ATTN_CHECK(source >= 0 && source < num_nodes && sink >= 0 && sink < num_nodes, kOp,
             "source " << source << " or sink " << sink << " outside the " << num_nodes << " nodes");
  if (source == sink) return 0.0;
  Graph g = build(num_nodes, edges);
  return static_cast<double>(boost::push_relabel_max_flow(g, static_cast<size_t>(source), static_cast<size_t>(sink))) /
         kScale;
}

std::vector<FlowEdge> attention_flow_graph(const std::vector<Tensor>& attentions) {
  NoGradGuard no_grad;
  ATTN_CHECK(!attentions.empty(), kOp, "no attention layers given");
  const int64_t T = attention_heads(attentions.front()).size(-1);
  std::vector<FlowEdge> edges;
  edges.reserve(attentions.size() * static_cast<size_t>(T * T));
  for (size_t l = 0; l < attentions.size(); ++l) {
    const Tensor a = attention_heads(attentions[l]);
    ATTN_CHECK(a.size(-1) == T, kOp, "layer " << l << " has " << a.size(-1) << " tokens, layer 0 has " << T);
    const Tensor mix = residual_attention(a);  // (T, T) = rownorm(½·Ā + ½·I): row i takes mix[i][j] from j
    const float* m = mix.data();
    const int64_t below = static_cast<int64_t>(l) * T, above = below + T;
    for (int64_t i = 0; i < T; ++i)
      for (int64_t j = 0; j < T; ++j)
        if (m[i * T + j] > 0.f) edges.push_back({below + j, above + i, static_cast<double>(m[i * T + j])});
  }
  return edges;
}

Tensor attention_flow_scores(const std::vector<Tensor>& attentions, int64_t query) {
  const std::vector<FlowEdge> edges = attention_flow_graph(attentions);
  const int64_t L = static_cast<int64_t>(attentions.size()), T = attentions.front().size(-1);
  ATTN_CHECK(query >= 0 && query < T, kOp, "query token " << query << " outside 0.." << T - 1);
  Tensor out = Tensor::zeros({T});
  // One graph, re-solved for every source: push_relabel_max_flow rewrites only the residual capacities.
  Graph g = build((L + 1) * T, edges);
  for (int64_t j = 0; j < T; ++j)
    out.data()[j] = static_cast<float>(static_cast<double>(boost::push_relabel_max_flow(
                                           g, static_cast<size_t>(j), static_cast<size_t>(L * T + query))) /
                                       kScale);
  return out;
}

}  // namespace attn::explain
