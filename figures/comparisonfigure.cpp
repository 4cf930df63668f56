#include "comparisonfigure.h"

#include <QObject>

#include <algorithm>
#include <cmath>

namespace studio {

namespace {

// What tokens are compared by: the vocabulary's pieces (checkpoints), else the labels (teaching).
const QStringList &comparedTokens(const AttentionResult &result)
{
    return result.pieces.isEmpty() ? result.labels : result.pieces;
}

} // namespace

QString divergenceText(double bits)
{
    return bits == 0 ? QStringLiteral("0") : QString::number(bits, 'g', 3);
}

bool ResultComparison::hasHead(int layer, int head) const
{
    return layer >= 0 && size_t(layer) < divergence.size() && head >= 0 && size_t(head) < divergence[size_t(layer)].size();
}

std::vector<std::pair<int, int>> ResultComparison::headsByDivergence() const
{
    std::vector<std::pair<int, int>> heads;
    for (size_t l = 0; l < divergence.size(); ++l)
        for (size_t h = 0; h < divergence[l].size(); ++h)
            heads.emplace_back(int(l), int(h));
    std::stable_sort(heads.begin(), heads.end(), [this](const auto &x, const auto &y) {
        return divergence[size_t(x.first)][size_t(x.second)].divergence > divergence[size_t(y.first)][size_t(y.second)].divergence;
    });
    return heads;
}

std::shared_ptr<const ResultComparison> compareResults(SharedResult a, SharedResult b, const QString &textB)
{
    if (!a || !b || a->maps->size() != b->maps->size())
        return nullptr;
    auto comparison = std::make_shared<ResultComparison>();
    comparison->alignment = alignTokens(comparedTokens(*a), comparedTokens(*b));
    for (size_t l = 0; l < a->maps->size(); ++l) {
        const std::vector<Matrix> &headsA = (*a->maps)[l];
        const std::vector<Matrix> &headsB = (*b->maps)[l];
        if (headsA.size() != headsB.size())
            return nullptr;
        std::vector<HeadDivergence> &row = comparison->divergence.emplace_back();
        for (size_t h = 0; h < headsA.size(); ++h) {
            row.push_back(headDivergence(headsA[h], headsB[h], comparison->alignment));
            comparison->largest = std::max(comparison->largest, row.back().divergence);
        }
    }
    comparison->a = std::move(a);
    comparison->b = std::move(b);
    comparison->textB = textB;
    return comparison;
}

HeatmapFigure comparisonHeatmap(const ResultComparison &comparison, const FigureContext &context, int selectedQuery)
{
    HeatmapFigure figure;
    if (!comparison.hasHead(context.layer, context.head))
        return figure;
    QStringList labels;
    int selectedRow = -1;
    for (size_t i = 0; i < comparison.alignment.size(); ++i) {
        const auto [ia, ib] = comparison.alignment[i];
        const QString la = comparison.a->labels.value(ia), lb = comparison.b->labels.value(ib);
        labels.append(la == lb ? la : QStringLiteral("%1→%2").arg(la, lb));
        if (ia == selectedQuery)
            selectedRow = int(i);
    }
    figure.rowLabels = labels;
    figure.colLabels = labels;
    figure.rowTitle = QObject::tr("aligned query");
    figure.colTitle = QObject::tr("aligned key");
    figure.colorMap = ColorMapKind::Diverging;
    figure.selectedRow = selectedRow;
    figure.setValues(alignedDifference(comparison.a->weights(context.layer, context.head),
                                       comparison.b->weights(context.layer, context.head), comparison.alignment));
    double reach = 0;
    for (Eigen::Index i = 0; i < figure.values().size(); ++i)
        if (std::isfinite(figure.values().data()[i]))
            reach = std::max(reach, double(std::abs(figure.values().data()[i])));
    reach = reach > 0 ? reach : 1.0;
    figure.scale = {-reach, reach};
    figure.scaleLabel = QObject::tr("weight B − A");
    figure.cellDecimals = 2;
    const HeadDivergence &d = comparison.divergence[size_t(context.layer)][size_t(context.head)];
    figure.caption = context.captionFor(QObject::tr("B − A on %1 aligned tokens · B: “%2”").arg(comparison.alignment.size()).arg(comparison.textB.simplified()));
    figure.caption.append(QObject::tr("divergence %1 bits: mean over %2 aligned queries of JSD₂(row A, row B), rows restricted to the aligned keys and renormalised")
                              .arg(divergenceText(d.divergence)).arg(d.rows));
    return figure;
}

} // namespace studio
