#include "figures.h"

#include "aggregation.h"
#include "comparisonfigure.h"

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
    case HeatmapStage::ValueWeighted: return QStringLiteral("value-weighted");
    case HeatmapStage::Rollout: return QStringLiteral("rollout");
    case HeatmapStage::Flow: return QStringLiteral("flow");
    case HeatmapStage::Difference: return QStringLiteral("difference");
    }
    return {};
}

QString heatmapStageTitle(HeatmapStage stage)
{
    switch (stage) {
    case HeatmapStage::ValueWeighted: return QObject::tr("value-weighted ‖α·f(x)‖");
    case HeatmapStage::Rollout: return QObject::tr("rollout (layers up to this one)");
    case HeatmapStage::Flow: return QObject::tr("flow (layers up to this one)");
    case HeatmapStage::Difference: return QObject::tr("difference from the compared sentence");
    case HeatmapStage::Scores:
    case HeatmapStage::Scaled:
    case HeatmapStage::Masked:
    case HeatmapStage::Weights: break;
    }
    return heatmapStageName(stage);
}

std::optional<HeatmapStage> heatmapStageFromName(const QString &name)
{
    for (HeatmapStage candidate : kHeatmapStages)
        if (heatmapStageName(candidate) == name)
            return candidate;
    return std::nullopt;
}

bool heatmapStageIsShare(HeatmapStage stage)
{
    return stage == HeatmapStage::Weights || stage == HeatmapStage::Rollout || stage == HeatmapStage::Flow;
}

ValueKind heatmapValueKind(HeatmapStage stage)
{
    switch (stage) {
    case HeatmapStage::Scores:
    case HeatmapStage::Scaled:
    case HeatmapStage::Masked:
    case HeatmapStage::Difference: return ValueKind::Signed;
    case HeatmapStage::Weights:
    case HeatmapStage::ValueWeighted:
    case HeatmapStage::Rollout:
    case HeatmapStage::Flow: break;
    }
    return ValueKind::Weights;
}

QString heatmapUnavailableReason(const AttentionResult &result, HeatmapStage stage, const HeatmapExtras &extras)
{
    if (result.tokenCount() == 0)
        return {};
    if (result.attentionKind) {
        switch (stage) {
        case HeatmapStage::ValueWeighted:
        case HeatmapStage::Rollout:
        case HeatmapStage::Flow:
        case HeatmapStage::Difference:
            return QObject::tr("%1 is shown for single-stack models (GPT-2, BERT, Llama …); for a translation model the heatmap shows "
                               "the weights and the stages before them.").arg(heatmapStageTitle(stage));
        case HeatmapStage::Scores:
        case HeatmapStage::Scaled:
        case HeatmapStage::Masked:
        case HeatmapStage::Weights: break;
        }
    }
    switch (stage) {
    case HeatmapStage::ValueWeighted:
        if (result.valueNorms.empty())
            return QObject::tr("Value-weighted attention needs each head's share of the output projection W_O: "
                               "load a checkpoint (the teaching model's heads have none).");
        break;
    case HeatmapStage::Rollout:
        if (result.tokenCount() > kAnalysisRolloutTokens)
            return QObject::tr("Rollout is shown for up to %1 tokens (its cost grows with the cube of the length); "
                               "this text has %2. `attention-studio trace --aggregate rollout` computes it for any length.")
                .arg(kAnalysisRolloutTokens).arg(result.tokenCount());
        break;
    case HeatmapStage::Flow:
        if (!extras.flow || extras.flow->size() != size_t(result.layers))
            return QObject::tr("Attention flow is not computed yet.");
        break;
    case HeatmapStage::Difference:
        if (!extras.comparison)
            return QObject::tr("Type a second sentence in the Compare panel: this shows how the head's weights change between the two.");
        break;
    case HeatmapStage::Scores:
    case HeatmapStage::Scaled:
    case HeatmapStage::Masked:
    case HeatmapStage::Weights: break;
    }
    return {};
}

QString FigureContext::quotedSentence() const
{
    // Invisible characters written out: a right-to-left override would otherwise reverse the rest
    // of the caption.
    const QString first = QStringLiteral("“%1”").arg(visibleToken(sentence.simplified()));
    // A BERT pair is read as one input: both sentences belong in the caption; a translation is source → target.
    if (translation)
        return sentencePair.trimmed().isEmpty() ? QObject::tr("%1 → (no target yet)").arg(first)
                                                : QStringLiteral("%1 → “%2”").arg(first, visibleToken(sentencePair.simplified()));
    return sentencePair.isEmpty() ? first : QStringLiteral("%1 + “%2”").arg(first, visibleToken(sentencePair.simplified()));
}

QStringList FigureContext::captionFor(const QString &what) const
{
    QString which = attentionKind.isEmpty() ? QObject::tr("layer %1 · head %2").arg(layer).arg(head)
                                            : QObject::tr("%1 layer %2 · head %3").arg(attentionKind).arg(layer).arg(head);
    if (!headName.isEmpty() && !headName.startsWith(QStringLiteral("layer ")) && attentionKind.isEmpty())
        which += QStringLiteral(" “%1”").arg(headName);
    // The model on a line of its own: together with the head and the stage the line was wider
    // than the figure (cut on screen, a blank band beside the matrix in exports).
    return {quotedSentence(), model, QStringLiteral("%1 · %2").arg(which, what)};
}

namespace {

// The columns of a block stage's matrix shown (its first ones): d_model is 768 and more.
constexpr int kShownBlockColumns = 64;

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

namespace {

// Weights with the special tokens left out: their rows and columns zero (drawn grey), each other
// row renormalised over the keys that remain.
Matrix withoutSpecial(const Matrix &weights, const std::vector<bool> &special)
{
    Matrix shown = weights;
    for (Eigen::Index r = 0; r < shown.rows(); ++r) {
        if (special[size_t(r)]) {
            shown.row(r).setZero();
            continue;
        }
        double sum = 0;
        for (Eigen::Index c = 0; c < shown.cols(); ++c) {
            if (special[size_t(c)])
                shown(r, c) = 0;
            sum += shown(r, c);
        }
        if (sum > 0)
            shown.row(r) /= float(sum);
    }
    return shown;
}

// The layer-level analyses (rollout, flow): rows are tokens at the layer, columns input tokens.
void layerAnalysis(HeatmapFigure &figure, const AttentionResult &result, const FigureContext &context, HeatmapStage stage,
                   const HeatmapExtras &extras)
{
    const int layer = std::clamp(context.layer, 0, std::max(0, result.layers - 1));
    QString formula;
    if (stage == HeatmapStage::Rollout) {
        if (extras.rollout && extras.rollout->size() == result.maps->size()) {
            figure.data = std::shared_ptr<const Matrix>(extras.rollout, &(*extras.rollout)[size_t(layer)]);
        } else { // from the maps, up to the layer, without copying them
            Matrix rollout;
            for (int l = 0; l <= layer && size_t(l) < result.maps->size(); ++l)
                rollout = rolloutStep(rollout, (*result.maps)[size_t(l)]);
            figure.setValues(std::move(rollout));
        }
        formula = QObject::tr("rollout R = Â_%1 ⋯ Â_0, Â = ½·mean_h A + ½·I, rows renormalised (Abnar & Zuidema 2020)").arg(layer);
    } else {
        figure.setValues((*extras.flow)[size_t(layer)]);
        formula = QObject::tr("flow: max-flow from each token at layer %1 to each input through capacities Â = ½·mean_h A + ½·I, "
                              "rows renormalised (Abnar & Zuidema 2020)").arg(layer);
    }
    figure.rowTitle = QObject::tr("token at layer %1").arg(layer);
    figure.colTitle = QObject::tr("input token");
    figure.scaleLabel = stage == HeatmapStage::Rollout ? QObject::tr("share (rollout)") : QObject::tr("share (flow)");
    figure.caption = {context.quotedSentence(), context.model, QObject::tr("layer %1, every head · %2").arg(layer).arg(formula)};
}

} // namespace

HeatmapFigure headHeatmap(const AttentionResult &result, const HeadDetails &details, const FigureContext &context,
                          HeatmapStage stage, ColorMapKind colorMap, int selectedQuery, const HeatmapExtras &extras)
{
    HeatmapFigure figure;
    figure.rowLabels = result.labels;
    figure.colLabels = result.columnLabels();
    figure.rowTitle = result.rowTitle();
    figure.colTitle = result.columnTitle();
    figure.colorMap = colorMap;
    figure.selectedRow = selectedQuery;
    if (!heatmapUnavailableReason(result, stage, extras).isEmpty())
        return figure; // no values: the view says why
    if (stage == HeatmapStage::Difference) {
        HeatmapFigure difference = comparisonHeatmap(*extras.comparison, context, selectedQuery);
        difference.colorMap = colorMap;
        return difference;
    }
    const bool leaveOut = extras.leaveOutSpecial && result.hasSpecialTokens() && int(result.special.size()) == result.tokenCount();
    switch (stage) {
    case HeatmapStage::Scores: figure.setValues(details.trace.scores); break;
    case HeatmapStage::Scaled: figure.setValues(details.trace.scaled); break;
    case HeatmapStage::Masked: figure.setValues(details.trace.masked); break;
    case HeatmapStage::Weights:
        if (leaveOut)
            figure.setValues(withoutSpecial(result.weights(context.layer, context.head), result.special));
        else
            figure.data = result.sharedWeights(context.layer, context.head);
        if (details.trace.masked.rows() == figure.values().rows() && details.trace.masked.cols() == figure.values().cols())
            figure.maskedFrom = std::make_shared<const Matrix>(details.trace.masked);
        break;
    case HeatmapStage::ValueWeighted: {
        const Matrix &weights = result.weights(context.layer, context.head);
        const Matrix &norms = result.valueNorms.at(size_t(context.layer));
        figure.setValues(valueWeighted(leaveOut ? withoutSpecial(weights, result.special) : weights, norms.col(context.head)));
        break;
    }
    case HeatmapStage::Rollout:
    case HeatmapStage::Flow:
        layerAnalysis(figure, result, context, stage, extras);
        break;
    case HeatmapStage::Difference: break; // built above
    }
    if (heatmapStageIsShare(stage)) {
        figure.scale = {0.0, 1.0};
        if (stage == HeatmapStage::Weights)
            figure.scaleLabel = QObject::tr("attention weight");
        figure.cellDecimals = 2;
    } else if (stage == HeatmapStage::ValueWeighted) {
        // From 0: a zero is "moves nothing", the point of the measure.
        const auto [lo, hi] = finiteRange(figure.values());
        figure.scale = {0.0, hi > 0 ? hi : 1.0};
        figure.scaleLabel = QStringLiteral("‖α·f(x)‖");
    } else {
        fitScale(figure, heatmapStageName(stage));
    }
    if (stage == HeatmapStage::ValueWeighted)
        figure.caption = context.captionFor(QObject::tr("value-weighted ‖α_ij·f(x_j)‖, f(x) = (x·W_V + b_V)·W_O restricted to the head "
                                                        "(Kobayashi et al. 2020)"));
    else if (stage != HeatmapStage::Rollout && stage != HeatmapStage::Flow)
        figure.caption = context.captionFor(heatmapStageName(stage) + (result.keyLabels.isEmpty() ? QObject::tr(" · rows: queries, columns: keys")
                                                                                                 : QObject::tr(" · rows: target tokens, columns: source tokens")));
    if (leaveOut && (stage == HeatmapStage::Weights || stage == HeatmapStage::ValueWeighted)) {
        figure.leftOut = result.special;
        figure.caption.append(QObject::tr("Display transform: special tokens left out (grey), each row renormalised over the rest."));
    }
    if (stage == HeatmapStage::Weights || stage == HeatmapStage::ValueWeighted)
        hideRow(figure, context, result);
    return figure;
}

ValueKind stageValueKind(Stage stage)
{
    return stage == Stage::Weights || stage == Stage::Prediction ? ValueKind::Weights : ValueKind::Signed;
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
    QString scaleLabel = stageTitle(stage, result);
    switch (stage) {
    case Stage::Embeddings:
        figure.setValues(details.input);
        figure.colLabels = numbered(QStringLiteral("x"), int(details.input.cols()));
        what = QObject::tr("X, the input of the head (tokens × d_model)");
        break;
    case Stage::Projections:
        figure.setValues(t.projected(projection));
        if (projection != Projection::Q)
            figure.rowLabels = result.columnLabels(); // k and v: one row per key (cross-attention: the source)
        figure.colLabels = numbered(projectionName(projection), int(figure.values().cols()));
        what = result.attentionKind == AttentionKind::Cross && projection != Projection::Q
                   ? QObject::tr("%1 = E·%2, E the encoder's output (source tokens × d_head)").arg(projectionName(projection), projectionMatrixName(projection))
                   : QObject::tr("%1 = X·%2 (tokens × d_head)").arg(projectionName(projection), projectionMatrixName(projection));
        scaleLabel = projectionName(projection); // the one matrix shown, not "Q, K, V"
        break;
    case Stage::Rotary: {
        // v is not turned: the stage shows q (or k) after the rotation.
        const Projection shown = projection == Projection::K ? Projection::K : Projection::Q;
        figure.setValues(t.projected(shown));
        if (shown == Projection::K)
            figure.rowLabels = result.columnLabels();
        figure.colLabels = numbered(projectionName(shown) + QStringLiteral("′"), int(figure.values().cols()));
        what = QObject::tr("%1′ = %1 turned by position (tokens × d_head)").arg(projectionName(shown));
        scaleLabel = projectionName(shown) + QStringLiteral("′");
        break;
    }
    case Stage::Scores: figure.setValues(t.scores); what = QStringLiteral("scores = q·kᵀ"); break;
    case Stage::Scaled:
        figure.setValues(t.scaled);
        what = !result.unscaledScores ? QStringLiteral("scaled = scores / √d_k")
             : result.relativePositionBias ? QStringLiteral("scaled = scores + position bias (no ÷ √d_k)")
                                           : QStringLiteral("scaled = scores (no ÷ √d_k)");
        break;
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
    case Stage::HeadsOut:
    case Stage::Residual:
    case Stage::Mlp:
    case Stage::LayerOut:
        if (details.block) {
            const BlockTrace &b = *details.block;
            const Matrix &m = stage == Stage::HeadsOut ? b.attentionOut : stage == Stage::Residual ? b.afterAttention
                              : stage == Stage::Mlp ? b.mlpHidden : b.residualOut;
            // Wide matrices are shown by their first columns: a readable cell per number.
            const int shown = std::min<int>(int(m.cols()), kShownBlockColumns);
            figure.setValues(m.leftCols(shown));
            const QString prefix = stage == Stage::Mlp ? QStringLiteral("n") : QStringLiteral("x");
            figure.colLabels = numbered(prefix, shown);
            const QString part = shown < m.cols() ? QObject::tr(", the first %1 of %2").arg(shown).arg(m.cols()) : QString();
            switch (stage) {
            case Stage::HeadsOut: what = QObject::tr("attn = every head's output·W_O + b_O (tokens × d_model%1)").arg(part); break;
            case Stage::Residual: what = QObject::tr("h′ = h + attn (tokens × d_model%1)").arg(part); break;
            case Stage::Mlp: what = QObject::tr("the MLP's neurons, %1 (tokens × neurons%2)").arg(details.mlpFormula, part); break;
            default: what = QObject::tr("h″ = h′ + m, layer %1's output (tokens × d_model%2)").arg(details.layer).arg(part); break;
            }
        }
        break;
    case Stage::Prediction:
        figure.setValues(details.nextTokenProbabilities);
        figure.colLabels = details.nextTokens;
        what = QObject::tr("p(next token) at each position, for the tokens most likely after the last");
        break;
    }
    figure.rowTitle = stage == Stage::Embeddings || isBlockStage(stage) ? QObject::tr("token") : result.rowTitle();
    if (stage == Stage::Prediction) {
        figure.colTitle = QObject::tr("next token");
    } else if (figure.colLabels.isEmpty() && isBlockStage(stage)) {
        // not computed: no matrix
    } else if (figure.colLabels.isEmpty()) {
        figure.colLabels = result.columnLabels();
        figure.colTitle = result.columnTitle();
        figure.selectedCol = selectedKey; // a query × key matrix: the key is a column
    } else {
        figure.colTitle = stage == Stage::Embeddings ? QObject::tr("feature") : stage == Stage::Mlp ? QObject::tr("neuron") : QObject::tr("dimension");
    }
    if (stage == Stage::Projections || stage == Stage::Rotary || stage == Stage::Output)
        figure.rowTitle = QObject::tr("token");
    if (stage == Stage::Weights || stage == Stage::Prediction) {
        figure.scale = {0.0, 1.0};
        figure.scaleLabel = stage == Stage::Weights ? QObject::tr("attention weight") : QObject::tr("probability");
        figure.cellDecimals = 2;
    } else {
        fitScale(figure, scaleLabel);
    }
    // The rest of the block is the layer's (every head's), the prediction the model's: no head named.
    if (stage == Stage::Prediction)
        figure.caption = {context.quotedSentence(), context.model, QObject::tr("after the last layer · %1").arg(what)};
    else if (isBlockStage(stage))
        figure.caption = {context.quotedSentence(), context.model, QObject::tr("layer %1, every head · %2").arg(context.layer).arg(what)};
    else
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
    figure.keyLabels = result.keyLabels;
    if (result.attentionKind == AttentionKind::Cross)
        figure.sidesText = QObject::tr("target tokens on the left, the source tokens they look at on the right");
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
    const QString which = context.attentionKind.isEmpty() ? QObject::tr("layer %1").arg(layer)
                                                          : QObject::tr("%1 layer %2").arg(context.attentionKind).arg(layer);
    figure.caption = {context.quotedSentence(), context.model,
                      QObject::tr("%1 · heads %2").arg(which, headNames.join(QStringLiteral(", ")))};
    return figure;
}

GridFigure gridFigure(const AttentionResult &result, const FigureContext &context, ColorMapKind colorMap,
                      int selectedLayer, int selectedColumn, const ResultComparison *comparison)
{
    GridFigure figure;
    figure.weights = result.maps;
    figure.colorMap = colorMapFor(ValueKind::Weights, colorMap); // thumbnails of weights
    figure.selectedLayer = selectedLayer;
    if (result.attentionKind && result.kindMaps.size() == std::size(kAttentionKinds)) {
        // A translation model: its encoder's, decoder's and cross-attention's layers, one group after
        // another (the maps are small: a sentence's, not a document's).
        AttentionMaps rows;
        for (AttentionKind kind : kAttentionKinds) {
            const AttentionMaps &maps = *result.kindMaps[size_t(kind)];
            for (size_t l = 0; l < maps.size(); ++l) {
                if (kind == *result.attentionKind && int(l) == selectedLayer)
                    figure.selectedLayer = int(rows.size());
                rows.push_back(maps[l]);
                figure.rowSources.push_back({int(kind), int(l)});
                figure.rowTitles.append(kind == AttentionKind::Encoder   ? QObject::tr("encoder %1").arg(l)
                                        : kind == AttentionKind::Decoder ? QObject::tr("decoder %1").arg(l)
                                                                         : QObject::tr("cross %1").arg(l));
            }
        }
        figure.weights = std::make_shared<const AttentionMaps>(std::move(rows));
    }
    figure.selectedHead = selectedColumn;
    figure.kvHeads = result.kvHeads;
    for (const std::vector<Matrix> &layer : *figure.weights) {
        std::vector<double> shares;
        for (const Matrix &w : layer)
            shares.push_back(firstTokenShare(w));
        figure.firstTokenShares.push_back(std::move(shares));
    }
    // Short lines: the model view is often a narrow dock.
    if (!figure.rowTitles.isEmpty()) {
        figure.caption = {context.quotedSentence(), context.model,
                          QObject::tr("The encoder's self-attention (source × source), the decoder's (target × target, causal),"),
                          QObject::tr("then the cross-attention (target rows × source columns); each row's heads, mean and max."),
                          QObject::tr("Rollout within the encoder and within the decoder; none for cross-attention (not square).")};
        return figure;
    }
    figure.caption = {context.quotedSentence(), context.model,
                      QObject::tr("Each layer's heads, their mean and max, the rollout up to the layer."),
                      QObject::tr("Rollout: Â = ½·mean_h A + ½·I, rows renormalised, multiplied from layer 0 up."),
                      QObject::tr("Orange bar: a head's share of attention to the first token.")};
    if (result.tokenCount() > kGridRolloutTokens)
        figure.caption.append(QObject::tr("Rollout shown up to %1 tokens; trace --aggregate rollout gives it for any length.").arg(kGridRolloutTokens));
    if (comparison && comparison->divergence.size() == result.maps->size()) {
        for (const std::vector<HeadDivergence> &layer : comparison->divergence) {
            std::vector<double> relative;
            for (const HeadDivergence &d : layer)
                relative.push_back(comparison->largest > 0 ? d.divergence / comparison->largest : 0.0);
            figure.divergence.push_back(std::move(relative));
        }
        const auto top = comparison->headsByDivergence();
        figure.caption.append(QObject::tr("Magenta bar: how much a head changes for “%1” (JSD; longest %2 bits, layer %3 head %4).")
                                  .arg(comparison->textB.simplified(), divergenceText(comparison->largest))
                                  .arg(top.empty() ? 0 : top.front().first).arg(top.empty() ? 0 : top.front().second));
    }
    return figure;
}

QFont figureFont(double pixelSize)
{
    QFont font(QStringLiteral("DejaVu Sans"));
    font.setPixelSize(int(std::lround(pixelSize)));
    return font;
}

} // namespace studio
