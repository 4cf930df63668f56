#include "attentionresult.h"

#include "prediction.h"
#include "wording.h"

#include <QObject>

#include <algorithm>

namespace studio {

QString stageName(Stage stage)
{
    switch (stage) {
    case Stage::Embeddings: return QStringLiteral("embeddings");
    case Stage::Projections: return QStringLiteral("projections");
    case Stage::Rotary: return QStringLiteral("rope");
    case Stage::Scores: return QStringLiteral("scores");
    case Stage::Scaled: return QStringLiteral("scaled");
    case Stage::Masked: return QStringLiteral("masked");
    case Stage::Weights: return QStringLiteral("weights");
    case Stage::Output: return QStringLiteral("output");
    case Stage::HeadsOut: return QStringLiteral("heads-out");
    case Stage::Residual: return QStringLiteral("residual");
    case Stage::Mlp: return QStringLiteral("mlp");
    case Stage::LayerOut: return QStringLiteral("layer-out");
    case Stage::Prediction: return QStringLiteral("prediction");
    }
    Q_UNREACHABLE();
}

bool isBlockStage(Stage stage)
{
    return int(stage) > int(Stage::Output);
}

std::optional<Stage> stageFromName(const QString &name)
{
    for (Stage candidate : kStages)
        if (stageName(candidate) == name)
            return candidate;
    return std::nullopt;
}

bool stageApplies(Stage stage, const AttentionResult &result)
{
    if (stage == Stage::Rotary)
        return result.rotary;
    if (stage == Stage::Prediction)
        return result.predicts();
    if (stage == Stage::Mlp || stage == Stage::LayerOut)
        return result.hasBlock() && result.hasMlp;
    if (isBlockStage(stage))
        return result.hasBlock();
    return true;
}

std::vector<Stage> stagesFor(const AttentionResult &result)
{
    std::vector<Stage> stages;
    for (Stage stage : kStages)
        if (stageApplies(stage, result))
            stages.push_back(stage);
    return stages;
}

std::optional<Stage> stageAfter(const AttentionResult &result, Stage stage)
{
    const std::vector<Stage> stages = stagesFor(result);
    const auto after = std::find_if(stages.begin(), stages.end(), [stage](Stage s) { return int(s) > int(stage); });
    return after != stages.end() ? std::optional<Stage>(*after) : std::nullopt;
}

std::optional<Stage> stageBefore(const AttentionResult &result, Stage stage)
{
    const std::vector<Stage> stages = stagesFor(result);
    const auto before = std::find_if(stages.rbegin(), stages.rend(), [stage](Stage s) { return int(s) < int(stage); });
    return before != stages.rend() ? std::optional<Stage>(*before) : std::nullopt;
}

int AttentionResult::kvHeadOf(int head) const
{
    return kvHeads > 0 && kvHeads < heads ? head / (heads / kvHeads) : head;
}

std::pair<int, int> AttentionResult::headGroup(int head) const
{
    const int size = kvHeads > 0 && kvHeads < heads ? heads / kvHeads : 1;
    const int first = head / size * size;
    return {first, first + size - 1};
}

QString AttentionResult::headLabel(int head) const
{
    const QString name = headNames.value(head);
    return name.isEmpty() ? QObject::tr("head %1").arg(head) : QObject::tr("head %1 · %2").arg(head).arg(name);
}

double AttentionResult::firstTokenShare(int layer, int head) const
{
    return studio::firstTokenShare(weights(layer, head));
}

bool AttentionResult::hasHead(int layer, int head) const
{
    return layer >= 0 && layer < int(maps->size()) && head >= 0 && head < int((*maps)[size_t(layer)].size());
}

const Matrix &AttentionResult::weights(int layer, int head) const
{
    static const Matrix empty;
    return hasHead(layer, head) ? (*maps)[size_t(layer)][size_t(head)] : empty;
}

std::shared_ptr<const Matrix> AttentionResult::sharedWeights(int layer, int head) const
{
    return std::shared_ptr<const Matrix>(maps, &weights(layer, head));
}

std::shared_ptr<const std::vector<Matrix>> AttentionResult::sharedLayer(int layer) const
{
    static const std::vector<Matrix> none;
    return std::shared_ptr<const std::vector<Matrix>>(maps, layer >= 0 && layer < int(maps->size()) ? &(*maps)[size_t(layer)] : &none);
}

const Matrix &HeadDetails::weight(Projection projection) const
{
    switch (projection) {
    case Projection::Q: return wQ;
    case Projection::K: return wK;
    case Projection::V: return wV;
    case Projection::O: return wO;
    }
    Q_UNREACHABLE();
}

const RowVector &HeadDetails::bias(Projection projection) const
{
    switch (projection) {
    case Projection::Q: return bQ;
    case Projection::K: return bK;
    case Projection::V: return bV;
    case Projection::O: break;
    }
    static const RowVector none; // the output projection's bias is the layer's, not the head's
    return none;
}

QString stageTitle(Stage stage)
{
    switch (stage) {
    case Stage::Embeddings: return QObject::tr("Embeddings");
    case Stage::Projections: return QObject::tr("Q, K, V");
    case Stage::Rotary: return QObject::tr("RoPE");
    case Stage::Scores: return QObject::tr("QKᵀ");
    case Stage::Scaled: return QObject::tr("÷ √d_k");
    case Stage::Masked: return QObject::tr("Mask");
    case Stage::Weights: return QObject::tr("Softmax");
    case Stage::Output: return QObject::tr("Weights · V");
    case Stage::HeadsOut: return QObject::tr("Heads · W_O");
    case Stage::Residual: return QObject::tr("+ Residual");
    case Stage::Mlp: return QObject::tr("MLP");
    case Stage::LayerOut: return QObject::tr("+ Residual → next layer");
    case Stage::Prediction: return QObject::tr("Next token");
    }
    return {};
}

QString stageButtonTitle(Stage stage)
{
    switch (stage) {
    case Stage::HeadsOut: return QStringLiteral("· W_O");
    case Stage::Residual: return QStringLiteral("+ attn");
    case Stage::Mlp: return QStringLiteral("MLP");
    case Stage::LayerOut: return QStringLiteral("+ MLP");
    case Stage::Prediction: return QObject::tr("Next token");
    default: return stageTitle(stage);
    }
}

QString stageFormula(Stage stage, bool rotary)
{
    switch (stage) {
    case Stage::Embeddings:
        return rotary ? QStringLiteral("X = the layer's normalised input (no position added: RoPE turns q and k instead)")
                      : QStringLiteral("X = embedding + position");
    case Stage::Projections: return QStringLiteral("q = X·W_Q,  k = X·W_K,  v = X·W_V");
    case Stage::Rotary: return QStringLiteral("q′, k′ = q, k with pair c turned by position·θ_c");
    case Stage::Scores: return QStringLiteral("scores = q·kᵀ");
    case Stage::Scaled: return QStringLiteral("scaled = scores / √d_k");
    case Stage::Masked: return QStringLiteral("masked = scaled, −∞ where a key is hidden");
    case Stage::Weights: return QStringLiteral("weights = softmax(masked / τ) over keys");
    case Stage::Output: return QStringLiteral("output = weights·v");
    case Stage::HeadsOut: return QStringLiteral("attn = [output₀ | output₁ | …]·W_O + b_O");
    case Stage::Residual: return QStringLiteral("h′ = h + attn (the residual stream carries the token through)");
    case Stage::Mlp: return QStringLiteral("m = MLP(norm(h′)), token by token");
    case Stage::LayerOut: return QStringLiteral("h″ = h′ + m, the next layer's input");
    case Stage::Prediction: return QStringLiteral("p = softmax(norm(h_last)·W_outᵀ) over the vocabulary");
    }
    return {};
}

QString teachingModelDescription(const TeachingConfig &c)
{
    return QObject::tr("Teaching model (d_model %1, d_head %2, %3)").arg(c.dModel).arg(c.dHead)
        .arg(countText(c.heads, QObject::tr("head"), QObject::tr("heads")));
}

QString checkpointDescription(const Checkpoint &checkpoint)
{
    const ModelConfig &c = checkpoint.config;
    return QObject::tr("%1 (%2: %3, %4, d_model %5)")
        .arg(checkpoint.name, c.traits().displayName, countText(c.layers, QObject::tr("layer"), QObject::tr("layers")),
             countText(c.heads, QObject::tr("head"), QObject::tr("heads")))
        .arg(c.hidden);
}

AttentionResult teachingResult(const TeachingTrace &trace, const Workspace &workspace)
{
    AttentionResult result;
    result.pieces = tokenTexts(trace.tokens);
    for (const QString &piece : result.pieces)
        result.labels.append(visibleToken(piece));
    result.layers = 1;
    result.heads = int(workspace.heads.size());
    for (const HeadWeights &head : workspace.heads)
        result.headNames.append(head.name);
    AttentionMaps maps(1);
    for (const HeadTrace &head : trace.heads)
        maps[0].push_back(head.weights);
    result.maps = std::make_shared<const AttentionMaps>(std::move(maps));
    result.layerInputs = {trace.input};
    // The teaching block: the heads through W_O and the residual add (it has no MLP).
    result.residualInputs = {trace.input};
    if (trace.valueNorms.size() > 0)
        result.valueNorms = {trace.valueNorms};
    if (trace.truncatedFrom > 0)
        result.notice = QObject::tr("The text has %1 tokens; the teaching model shows the first %2.")
                            .arg(trace.truncatedFrom).arg(kMaxTeachingTokens);
    if (const QString problem = nonFiniteWeight(workspace); !problem.isEmpty())
        result.notice = QObject::tr("A weight is not a finite number (%1): scores that use it are undefined and show in magenta.").arg(problem);
    return result;
}

bool AttentionResult::hasSpecialTokens() const
{
    return std::find(special.begin(), special.end(), true) != special.end();
}

void addNonFiniteNotice(AttentionResult &result, const QString &model, const QStringList &tensors)
{
    if (tensors.isEmpty())
        return;
    const QString notice = QObject::tr("%1 holds weights that are not finite numbers (in %2%3): attention they reach is undefined and shows in magenta.")
                               .arg(model, tensors.first(), tensors.size() > 1 ? QObject::tr(" and %1 more tensors").arg(tensors.size() - 1) : QString());
    result.notice = result.notice.isEmpty() ? notice : result.notice + QLatin1Char(' ') + notice;
}

AttentionResult checkpointResult(const Checkpoint &checkpoint, const PreparedInput &input, ModelTrace &&trace)
{
    AttentionResult result;
    for (const QString &piece : input.encoding.tokens) {
        result.pieces.append(piece);
        result.labels.append(checkpoint.tokenizer->displayToken(piece));
    }
    result.layers = checkpoint.config.layers;
    result.heads = checkpoint.config.heads;
    result.kvHeads = checkpoint.config.kvHeads;
    result.rotary = checkpoint.config.traits().positions == PositionKind::Rotary;
    result.slidingWindows = checkpoint.config.slidingWindows;
    result.hasMlp = true;
    result.maps = std::make_shared<const AttentionMaps>(std::move(trace.attentions));
    result.valueNorms = std::move(trace.valueNorms);
    result.precision = trace.precision;
    result.maxDeviation = trace.maxDeviation;
    if (trace.finalHidden.size() > 0)
        result.finalHidden = std::make_shared<const Matrix>(std::move(trace.finalHidden));
    for (const QString &piece : input.encoding.tokens)
        result.special.push_back(checkpoint.tokenizer->isSpecial(piece));
    for (auto &[layer, h] : trace.residualInputs)
        result.residualInputs.push_back(std::move(h));
    for (auto &[layer, x] : trace.layerInputs)
        result.layerInputs.push_back(std::move(x));
    if (input.truncatedFrom > 0)
        result.notice = QObject::tr("The text has %1 tokens; %2 reads at most %3, so the rest was left out.")
                            .arg(input.truncatedFrom).arg(checkpoint.name).arg(checkpoint.config.maxPositions);
    addNonFiniteNotice(result, checkpoint.name, checkpoint.model->nonFiniteTensors());
    return result;
}

HeadDetails teachingDetails(const Workspace &workspace, const TeachingTrace &trace, int head)
{
    HeadDetails details;
    details.head = head;
    details.temperature = workspace.settings.temperature;
    details.scaled = workspace.settings.scale;
    if (head >= 0 && head < int(workspace.heads.size()) && head < int(trace.heads.size())) {
        const HeadWeights &w = workspace.heads[size_t(head)];
        details.name = w.name;
        details.description = w.description;
        details.embeddings = trace.embeddings;
        details.positions = trace.positions;
        details.input = trace.input;
        details.wQ = w.wQ;
        details.wK = w.wK;
        details.wV = w.wV;
        details.wO = w.wO;
        if (trace.attentionOut.rows() == trace.input.rows()) {
            auto block = std::make_shared<BlockTrace>();
            block->residualIn = trace.input;
            block->context = trace.context;
            block->attentionOut = trace.attentionOut;
            block->afterAttention = trace.afterAttention;
            details.block = std::move(block);
        }
        details.trace = trace.heads[size_t(head)];
    }
    const bool causal = workspace.settings.mask == MaskMode::Causal;
    QStringList hidden;
    for (int key : workspace.settings.maskedKeys)
        hidden.append(QString::number(key));
    if (hidden.isEmpty())
        details.maskDescription = causal ? QObject::tr("causal: a query sees itself and earlier tokens") : QObject::tr("no mask");
    else
        details.maskDescription = causal ? QObject::tr("causal, and keys %1 hidden from every query").arg(hidden.join(QStringLiteral(", ")))
                                         : QObject::tr("keys %1 hidden from every query").arg(hidden.join(QStringLiteral(", ")));
    return details;
}

HeadDetails checkpointDetails(const Checkpoint &checkpoint, const AttentionResult &result,
                              const ForwardInput &input, int layer, int head)
{
    HeadDetails details;
    details.layer = layer;
    details.head = head;
    if (layer < 0 || layer >= int(result.layerInputs.size()) || head < 0 || head >= checkpoint.config.heads)
        return details;
    const auto projection = checkpoint.model->headProjection(layer, head);
    details.name = QObject::tr("layer %1 head %2").arg(layer).arg(head);
    details.description = QObject::tr("A head of %1.").arg(checkpoint.name);
    details.input = result.layerInputs[size_t(layer)];
    details.wQ = projection.wQ;
    details.wK = projection.wK;
    details.wV = projection.wV;
    details.wO = checkpoint.model->headOutputProjection(layer, head);
    details.bQ = projection.bQ;
    details.bK = projection.bK;
    details.bV = projection.bV;
    ForwardOptions options; // the run's own precision: the stages are the heatmap's bits
    options.precision = result.precision;
    details.trace = checkpoint.model->headStages(details.input, layer, head, input, options);
    details.temperature = input.attentionTemperature;
    const ModelConfig &config = checkpoint.config;
    const ArchitectureTraits &traits = config.traits();
    const int window = config.slidingWindow(layer);
    details.maskDescription = !traits.causal ? QObject::tr("none: %1 sees every token").arg(traits.displayName)
        : window > 0 ? QObject::tr("causal with a sliding window of %1 in this layer: a query sees itself and the %2 tokens before it, no further")
                           .arg(window).arg(window - 1)
        : config.slidingWindows.empty() || std::all_of(config.slidingWindows.begin(), config.slidingWindows.end(), [](int w) { return w == 0; })
            ? QObject::tr("causal: %1 sees only itself and earlier tokens").arg(traits.displayName)
            : QObject::tr("causal, with no sliding window in this layer: a query sees itself and every earlier token");
    if (config.groupSize() > 1) {
        const int first = config.kvHeadOf(head) * config.groupSize();
        details.sharing = QObject::tr("k and v come from key/value head %1, shared by query heads %2–%3.")
                              .arg(config.kvHeadOf(head)).arg(first).arg(first + config.groupSize() - 1);
    }
    if (traits.positions == PositionKind::Rotary)
        details.ropeFrequencies = config.rope.inverseFrequencies(config.headDim());
    switch (traits.normPlacement) {
    case NormPlacement::PreLN:
        details.inputDescription = QObject::tr("the model's residual stream at this layer, after the layer's norm (%1 normalises before attention).").arg(traits.displayName);
        break;
    case NormPlacement::PostLN:
        details.inputDescription = QObject::tr("the model's hidden state at this layer (%1 normalises after each residual add).").arg(traits.displayName);
        break;
    }
    return details;
}

namespace {

// The k most likely ids of one logit row, with their probabilities over the whole vocabulary.
constexpr int kNextTokens = 10;
constexpr int kPositionTop = 5;
// Positions whose own next tokens are computed, the last ones (each is a product with the whole
// output projection: 40 million multiply-adds for GPT-2 small).
constexpr int kPredictedPositions = 64;

QString mlpFormulaOf(const ModelConfig &config)
{
    const QString act = activationName(config.activation);
    if (config.traits().gatedMlp)
        return QStringLiteral("m = (%1(x·W_gate) ⊙ x·W_up)·W_down").arg(act);
    return QStringLiteral("m = %1(x·W₁ + b₁)·W₂ + b₂").arg(act);
}

} // namespace

void addBlockDetails(const Checkpoint &checkpoint, const AttentionResult &result, const ForwardInput &input, HeadDetails &details)
{
    const ModelConfig &config = checkpoint.config;
    details.mlpFormula = mlpFormulaOf(config);
    details.normName = config.traits().norm == NormKind::RmsNorm ? QStringLiteral("RMSNorm") : QStringLiteral("LayerNorm");
    details.preNorm = config.traits().normPlacement == NormPlacement::PreLN;
    if (details.layer >= 0 && size_t(details.layer) < result.residualInputs.size())
        details.block = std::make_shared<const BlockTrace>(
            checkpoint.model->blockStages(result.residualInputs[size_t(details.layer)], details.layer, input, [&result] {
                ForwardOptions options;
                options.precision = result.precision;
                return options;
            }()));
    if (!result.finalHidden || !checkpoint.model->canPredict())
        return;
    const Matrix &hidden = *result.finalHidden;
    const int tokens = int(hidden.rows());
    const auto label = [&](int id) { return checkpoint.tokenizer->displayToken(checkpoint.tokenizer->tokenForId(id)); };
    // The columns: what is most likely after the last token; each row: that position's softmax of them.
    const RowVector last = checkpoint.model->logits(hidden.row(tokens - 1));
    const std::vector<TokenChoice> next = topTokens(last, kNextTokens);
    for (const TokenChoice &choice : next)
        details.nextTokens.append(label(choice.id));
    details.nextTokenProbabilities = Matrix::Zero(tokens, Eigen::Index(next.size()));
    details.positionTop.resize(size_t(tokens));
    const int first = std::max(0, tokens - kPredictedPositions);
    for (int t = first; t < tokens; ++t) {
        const RowVector logits = t + 1 == tokens ? last : checkpoint.model->logits(hidden.row(t));
        const double largest = logits.maxCoeff();
        const double normaliser = largest + std::log((logits.array().cast<double>() - largest).exp().sum());
        for (size_t k = 0; k < next.size(); ++k)
            details.nextTokenProbabilities(t, Eigen::Index(k)) = float(std::exp(double(logits[next[k].id]) - normaliser));
        for (const TokenChoice &choice : topTokens(logits, kPositionTop))
            details.positionTop[size_t(t)].push_back({label(choice.id), choice.probability});
    }
}

} // namespace studio
