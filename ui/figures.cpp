#include "figures.h"

#include <cmath>

namespace studio {

QString heatmapStageName(HeatmapStage stage)
{
    switch (stage) {
    case HeatmapStage::Scores: return QStringLiteral("scores");
    case HeatmapStage::Scaled: return QStringLiteral("scaled");
    case HeatmapStage::Masked: return QStringLiteral("masked");
    case HeatmapStage::Weights: return QStringLiteral("weights");
    }
    return {};
}

bool heatmapStageFromName(const QString &name, HeatmapStage *stage)
{
    for (HeatmapStage candidate : {HeatmapStage::Scores, HeatmapStage::Scaled, HeatmapStage::Masked, HeatmapStage::Weights}) {
        if (heatmapStageName(candidate) == name) {
            *stage = candidate;
            return true;
        }
    }
    return false;
}

namespace {

// Smallest and largest finite value of a matrix (masked −∞ cells left out).
std::pair<double, double> finiteRange(const Matrix &m)
{
    double lo = INFINITY;
    double hi = -INFINITY;
    for (Eigen::Index i = 0; i < m.size(); ++i) {
        const double v = m.data()[i];
        if (std::isfinite(v)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    }
    return {lo, hi};
}

} // namespace

HeatmapFigure teachingHeatmap(const TeachingTrace &trace, const QString &sentence,
                              const TeachingConfig &config, const HeadWeights &head, int headIndex,
                              HeatmapStage stage, ColorMapKind colorMap)
{
    HeatmapFigure figure;
    const QStringList labels = tokenTexts(trace.tokens);
    figure.rowLabels = labels;
    figure.colLabels = labels;
    const HeadTrace &headTrace = trace.heads.at(size_t(headIndex));
    switch (stage) {
    case HeatmapStage::Scores: figure.values = headTrace.scores; break;
    case HeatmapStage::Scaled: figure.values = headTrace.scaled; break;
    case HeatmapStage::Masked: figure.values = headTrace.masked; break;
    case HeatmapStage::Weights: figure.values = headTrace.weights; break;
    }
    figure.colorMap = colorMap;
    if (stage == HeatmapStage::Weights) {
        figure.scale = {0.0, 1.0};
        figure.scaleLabel = QStringLiteral("attention weight");
        figure.cellDecimals = 2;
    } else {
        const auto [lo, hi] = finiteRange(figure.values);
        figure.scale = ColorScale::fitted(lo, hi, colorMap == ColorMapKind::Diverging);
        figure.scaleLabel = heatmapStageName(stage);
    }
    figure.caption = {
        QStringLiteral("“%1”").arg(sentence.simplified()),
        QStringLiteral("Teaching model (d_model %1, d_head %2) · layer 0 · head %3 “%4” · %5 · rows: queries, columns: keys")
            .arg(config.dModel).arg(config.dHead).arg(headIndex).arg(head.name, heatmapStageName(stage)),
    };
    return figure;
}

QFont figureFont(double pixelSize)
{
    QFont font(QStringLiteral("DejaVu Sans"));
    font.setPixelSize(int(std::lround(pixelSize)));
    return font;
}

} // namespace studio
