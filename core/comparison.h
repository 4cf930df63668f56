#pragma once

#include "tensor.h"

#include <QStringList>

#include <utility>
#include <vector>

namespace studio {

// Two sentences' tokens matched for comparison: equal tokens in order (a longest common
// subsequence; among equally long ones, the earliest matches). Pairs (position in a, position in b).
using TokenAlignment = std::vector<std::pair<int, int>>;
TokenAlignment alignTokens(const QStringList &a, const QStringList &b);

// How differently one head attends in two sentences, over the aligned tokens: for each aligned
// query, its row in a and in b restricted to the aligned keys (in alignment order) and renormalised,
// then the Jensen–Shannon divergence (base 2) of the two; the mean over the aligned queries. A query
// whose restricted row is all zero in either sentence (it sees no aligned key) is left out; with no
// query left the divergence is 0 and `rows` is 0.
struct HeadDivergence {
    double divergence = 0;
    int rows = 0; // aligned queries that counted
};
HeadDivergence headDivergence(const Matrix &a, const Matrix &b, const TokenAlignment &alignment); // a (Ta, Ta), b (Tb, Tb)

// The difference b − a on the aligned cells: (n, n) for n aligned tokens, in alignment order.
Matrix alignedDifference(const Matrix &a, const Matrix &b, const TokenAlignment &alignment);

} // namespace studio
