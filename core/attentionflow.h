#pragma once

#include "tensor.h"

#include <atomic>
#include <functional>
#include <optional>
#include <vector>

namespace studio {

// Attention flow (Abnar & Zuidema 2020). The layers form a graph: a node per token per layer
// (layer 0 the inputs), and an edge from token i at layer l+1 down to token j at layer l whose
// capacity is Â_l(i, j), the layer's heads mixed with the residual path (residualMixed). Flow
// L(i, j) is the maximum flow from token i above layer L to input token j; each row is then divided
// by its sum, as the paper's code does, so that it reads as a distribution over the inputs.

// The work the flows of `layers` layers over `tokens` tokens take, in edge visits: one maximum
// flow per (layer, query, input) over the edges below it. A cost to compare with kFlowCostLimit
// and to estimate time from, not a promise.
double attentionFlowCost(int layers, int tokens);
// About 3 ns per unit of cost on one core of a small laptop (tests/bench/bench_analysis: 12 layers
// of 32 tokens, cost 8.2e7, take 0.22 s): the estimate the window shows before it starts.
constexpr double kFlowSecondsPerUnit = 3e-9;
// Past this cost (about 6 s) the window does not start flow: 12 layers reach it at 71 tokens. The
// command line runs any size it is asked for.
constexpr double kFlowCostLimit = 2e9;

struct FlowOptions {
    const std::atomic<bool> *cancel = nullptr;
    std::function<void(int done, int total)> progress; // flows done of all (one per layer, query and input)
};

// Flow for every layer: result[l] (T, T), rows summing to 1 (a row with no flow stays 0).
// layers[l][h] is (T, T). Nothing when cancelled.
std::optional<std::vector<Matrix>> attentionFlow(const std::vector<std::vector<Matrix>> &layers, const FlowOptions &options = {});
// The same from each layer's Â (residualMixed), for callers that free the heads as they go.
std::optional<std::vector<Matrix>> attentionFlowFromMixed(const std::vector<Eigen::MatrixXd> &mixedLayers, const FlowOptions &options = {});

// The maximum flow value from source to sink of a graph given by its capacities, capacity(u, v)
// for an edge u → v (n × n, 0 = no edge): the solver attentionFlow uses, for tests.
double maximumFlow(const Eigen::MatrixXd &capacity, int source, int sink);

} // namespace studio
