#include "figures.h"

#include <algorithm>
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

std::optional<HeatmapStage> heatmapStageFromName(const QString &name)
{
    for (HeatmapStage candidate : {HeatmapStage::Scores, HeatmapStage::Scaled, HeatmapStage::Masked, HeatmapStage::Weights})
        if (heatmapStageName(candidate) == name)
            return candidate;
    return std::nullopt;
}

QString FigureContext::quotedSentence() const
{
    // Invisible characters written out: a right-to-left override would otherwise reverse the rest
    // of the caption.
    const QString first = QStringLiteral("“%1”").arg(visibleToken(sentence.simplified()));
    // A BERT pair is read as one input: both sentences belong in the caption.
    return sentencePair.isEmpty() ? first : QStringLiteral("%1 + “%2”").arg(first, visibleToken(sentencePair.simplified()));
}

QStringList FigureContext::captionFor(const QString &what) const
{
    QString which = QObject::tr("layer %1 · head %2").arg(layer).arg(head);
    if (!headName.isEmpty() && !headName.startsWith(QStringLiteral("layer ")))
        which += QStringLiteral(" “%1”").arg(headName);
    // The model on a line of its own: together with the head and the stage the line was wider
    // than the figure (cut on screen, a blank band beside the matrix in exports).
    return {quotedSentence(), model, QStringLiteral("%1 · %2").arg(which, what)};
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

QStringList numbered(const QString &prefix, int count)
{
    QStringList labels;
    for (int i = 0; i < count; ++i)
        labels.append(prefix + QString::number(i));
    return labels;
}

void fitScale(HeatmapFigure &figure, const QString &label)
{
    const auto [lo, hi] = finiteRange(figure.values());
    figure.scale = ColorScale::fitted(lo, hi, figure.colorMap == ColorMapKind::Diverging);
    figure.scaleLabel = label;
}

// Hides the weights of the context's hidden query, and says so in the caption.
void hideRow(HeatmapFigure &figure, const FigureContext &context, const AttentionResult &result)
{
    if (context.hiddenQuery < 0 || context.hiddenQuery >= figure.values().rows())
        return;
    figure.hiddenRow = context.hiddenQuery;
    figure.caption.append(QObject::tr("The weights of “%1” are hidden: predict them first.").arg(result.labels.value(context.hiddenQuery)));
}

} // namespace

HeatmapFigure headHeatmap(const AttentionResult &result, const HeadDetails &details, const FigureContext &context,
                          HeatmapStage stage, ColorMapKind colorMap, int selectedQuery)
{
    HeatmapFigure figure;
    figure.rowLabels = result.labels;
    figure.colLabels = result.labels;
    figure.rowTitle = QObject::tr("query");
    figure.colTitle = QObject::tr("key");
    figure.colorMap = colorMap;
    figure.selectedRow = selectedQuery;
    switch (stage) {
    case HeatmapStage::Scores: figure.setValues(details.trace.scores); break;
    case HeatmapStage::Scaled: figure.setValues(details.trace.scaled); break;
    case HeatmapStage::Masked: figure.setValues(details.trace.masked); break;
    case HeatmapStage::Weights:
        figure.data = result.sharedWeights(context.layer, context.head);
        if (details.trace.masked.rows() == figure.values().rows() && details.trace.masked.cols() == figure.values().cols())
            figure.maskedFrom = std::make_shared<const Matrix>(details.trace.masked);
        break;
    }
    if (stage == HeatmapStage::Weights) {
        figure.scale = {0.0, 1.0};
        figure.scaleLabel = QObject::tr("attention weight");
        figure.cellDecimals = 2;
    } else {
        fitScale(figure, heatmapStageName(stage));
    }
    figure.caption = context.captionFor(heatmapStageName(stage) + QObject::tr(" · rows: queries, columns: keys"));
    if (stage == HeatmapStage::Weights)
        hideRow(figure, context, result);
    return figure;
}

HeatmapFigure stageFigure(const AttentionResult &result, const HeadDetails &details, const FigureContext &context,
                          Stage stage, Projection projection, ColorMapKind colorMap, int selectedQuery, int selectedKey)
{
    const HeadTrace &t = details.trace;
    HeatmapFigure figure;
    figure.rowLabels = result.labels;
    figure.colorMap = colorMap;
    figure.selectedRow = selectedQuery;
    QString what;
    QString scaleLabel = stageTitle(stage);
    switch (stage) {
    case Stage::Embeddings:
        figure.setValues(details.input);
        figure.colLabels = numbered(QStringLiteral("x"), int(details.input.cols()));
        what = QObject::tr("X, the input of the head (tokens × d_model)");
        break;
    case Stage::Projections:
        figure.setValues(t.projected(projection));
        figure.colLabels = numbered(projectionName(projection), int(figure.values().cols()));
        what = QObject::tr("%1 = X·%2 (tokens × d_head)").arg(projectionName(projection), projectionMatrixName(projection));
        scaleLabel = projectionName(projection); // the one matrix shown, not "Q, K, V"
        break;
    case Stage::Rotary: {
        // v is not turned: the stage shows q (or k) after the rotation.
        const Projection shown = projection == Projection::K ? Projection::K : Projection::Q;
        figure.setValues(t.projected(shown));
        figure.colLabels = numbered(projectionName(shown) + QStringLiteral("′"), int(figure.values().cols()));
        what = QObject::tr("%1′ = %1 turned by position (tokens × d_head)").arg(projectionName(shown));
        scaleLabel = projectionName(shown) + QStringLiteral("′");
        break;
    }
    case Stage::Scores: figure.setValues(t.scores); what = QStringLiteral("scores = q·kᵀ"); break;
    case Stage::Scaled: figure.setValues(t.scaled); what = QStringLiteral("scaled = scores / √d_k"); break;
    case Stage::Masked: figure.setValues(t.masked); what = QStringLiteral("masked"); break;
    case Stage::Weights:
        figure.setValues(t.weights);
        figure.maskedFrom = std::make_shared<const Matrix>(t.masked);
        what = QStringLiteral("weights = softmax(masked / τ)");
        break;
    case Stage::Output:
        figure.setValues(t.output);
        figure.colLabels = numbered(QStringLiteral("o"), int(t.output.cols()));
        what = QObject::tr("output = weights·v (tokens × d_head)");
        break;
    }
    figure.rowTitle = stage == Stage::Embeddings ? QObject::tr("token") : QObject::tr("query");
    if (figure.colLabels.isEmpty()) {
        figure.colLabels = result.labels;
        figure.colTitle = QObject::tr("key");
        figure.selectedCol = selectedKey; // a query × key matrix: the key is a column
    } else {
        figure.colTitle = stage == Stage::Embeddings ? QObject::tr("feature") : QObject::tr("dimension");
    }
    if (stage == Stage::Projections || stage == Stage::Rotary || stage == Stage::Output)
        figure.rowTitle = QObject::tr("token");
    if (stage == Stage::Weights) {
        figure.scale = {0.0, 1.0};
        figure.scaleLabel = QObject::tr("attention weight");
        figure.cellDecimals = 2;
    } else {
        fitScale(figure, scaleLabel);
    }
    figure.caption = context.captionFor(what);
    if (stage == Stage::Weights)
        hideRow(figure, context, result);
    return figure;
}

ArcFigure arcFigure(const AttentionResult &result, const FigureContext &context, int layer,
                    const QList<int> &heads, const ArcPruning &pruning)
{
    ArcFigure figure;
    figure.labels = result.labels;
    figure.weights = result.sharedLayer(layer);
    figure.heads = heads;
    figure.pruning = pruning;
    figure.hiddenQuery = context.hiddenQuery;
    QStringList headNames;
    for (int h : heads)
        headNames.append(QString::number(h));
    for (int h = 0; h < result.heads; ++h)
        figure.headLabels.append(result.headLabel(h));
    // The model on a line of its own: with the layer and heads after it, the line ran past the figure.
    figure.caption = {context.quotedSentence(), context.model,
                      QObject::tr("layer %1 · heads %2").arg(layer).arg(headNames.join(QStringLiteral(", ")))};
    return figure;
}

GridFigure gridFigure(const AttentionResult &result, const FigureContext &context, ColorMapKind colorMap,
                      int selectedLayer, int selectedColumn)
{
    GridFigure figure;
    figure.weights = result.maps;
    figure.colorMap = colorMapFor(ValueKind::Weights, colorMap); // thumbnails of weights
    figure.selectedLayer = selectedLayer;
    figure.selectedHead = selectedColumn;
    figure.kvHeads = result.kvHeads;
    for (int layer = 0; layer < int(result.maps->size()); ++layer) {
        std::vector<double> shares;
        for (int head = 0; head < int((*result.maps)[size_t(layer)].size()); ++head)
            shares.push_back(result.firstTokenShare(layer, head));
        figure.firstTokenShares.push_back(std::move(shares));
    }
    // Short lines: the model view is often a narrow dock.
    figure.caption = {context.quotedSentence(), context.model,
                      QObject::tr("Each layer's heads, their mean and max, the rollout up to the layer."),
                      QObject::tr("Rollout: Â = ½·mean_h A + ½·I, rows renormalised, multiplied from layer 0 up."),
                      QObject::tr("Orange bar: a head's share of attention to the first token.")};
    if (result.tokenCount() > kGridRolloutTokens)
        figure.caption.append(QObject::tr("Rollout shown up to %1 tokens; trace --aggregate rollout gives it for any length.").arg(kGridRolloutTokens));
    return figure;
}

QFont figureFont(double pixelSize)
{
    QFont font(QStringLiteral("DejaVu Sans"));
    font.setPixelSize(int(std::lround(pixelSize)));
    return font;
}

} // namespace studio
