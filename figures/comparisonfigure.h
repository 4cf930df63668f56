#pragma once

#include "comparison.h"
#include "figures.h"

#include <memory>
#include <vector>

namespace studio {

// Two results of one model compared: the first sentence's (the document's) and a second one's,
// tokens aligned (equal vocabulary pieces in order), and each head's divergence over the aligned
// cells (headDivergence: Jensen–Shannon, base 2, mean over aligned queries).
struct ResultComparison {
    SharedResult a, b;
    QString textB;
    TokenAlignment alignment;
    std::vector<std::vector<HeadDivergence>> divergence; // [layer][head]
    double largest = 0;                                  // the largest divergence of any head

    bool hasHead(int layer, int head) const;
    // The heads in order of divergence, largest first (ties by layer, then head).
    std::vector<std::pair<int, int>> headsByDivergence() const;
};
// A divergence in bits as the views write it: three significant digits ("0.0312", "0.000418").
QString divergenceText(double bits);
// Null when the two results do not come from one model (different layer or head counts).
std::shared_ptr<const ResultComparison> compareResults(SharedResult a, SharedResult b, const QString &textB);

// The difference of one head's weights, B − A, on the aligned tokens (rows aligned queries,
// columns aligned keys, labelled “a” or “a→b” where the tokens read differently), on a diverging
// scale centred on 0; the caption states the divergence and its formula.
HeatmapFigure comparisonHeatmap(const ResultComparison &comparison, const FigureContext &context, int selectedQuery = -1);

} // namespace studio
