#include "attentionresult.h"
#include "wording.h"

#include <QObject>

namespace studio {

QString AttentionResult::rowTitle() const
{
    return queryTitle.isEmpty() ? QObject::tr("query") : queryTitle;
}

QString AttentionResult::columnTitle() const
{
    return keyTitle.isEmpty() ? QObject::tr("key") : keyTitle;
}

QString stageTitle(Stage stage, const AttentionResult &result)
{
    if (stage == Stage::Scaled && result.unscaledScores)
        return result.relativePositionBias ? QObject::tr("+ position bias") : QObject::tr("(no ÷ √d_k)");
    return stageTitle(stage);
}

QString stageButtonTitle(Stage stage, const AttentionResult &result)
{
    if (stage == Stage::Scaled && result.unscaledScores)
        return result.relativePositionBias ? QObject::tr("+ bias") : QObject::tr("no ÷√d");
    return stageButtonTitle(stage);
}

QString stageFormula(Stage stage, const AttentionResult &result)
{
    if (stage == Stage::Scaled && result.unscaledScores)
        return result.relativePositionBias
                   ? QStringLiteral("scaled = scores + b_h(bucket(j − i)): a learned bias per relative distance, no ÷ √d_k (T5)")
                   : QStringLiteral("scaled = scores: T5 neither divides by √d_k nor adds a position bias in cross-attention");
    if (stage == Stage::Embeddings && result.unscaledScores)
        return result.attentionKind == AttentionKind::Cross
                   ? QStringLiteral("X = RMSNorm(the decoder's stream) (queries);  E = the encoder's output (keys, values)")
                   : QStringLiteral("X = RMSNorm(the layer's input): T5 adds no position to the tokens (the bias on the scores carries it)");
    if (result.attentionKind == AttentionKind::Cross) {
        switch (stage) {
        case Stage::Embeddings: return QStringLiteral("X = the decoder's tokens (queries);  E = the encoder's output (keys, values)");
        case Stage::Projections: return QStringLiteral("q = X·W_Q,  k = E·W_K,  v = E·W_V");
        default: break;
        }
    } else if (result.attentionKind && stage == Stage::Embeddings) {
        return QStringLiteral("X = embedding (× √d_model where scaled) + sinusoidal position at layer 0; later, the layer's input");
    }
    return stageFormula(stage, result.rotary);
}

QString translationDescription(const TranslationCheckpoint &checkpoint)
{
    const TranslationConfig &c = checkpoint.config;
    return QObject::tr("%1 (%2 translation: %3 + %4, %5, d_model %6)")
        .arg(checkpoint.name, c.t5() ? QStringLiteral("T5") : QStringLiteral("Marian"), countText(c.encoderLayers, QObject::tr("encoder layer"), QObject::tr("encoder layers")),
             countText(c.decoderLayers, QObject::tr("decoder layer"), QObject::tr("decoder layers")),
             countText(c.decoderHeads, QObject::tr("head"), QObject::tr("heads")))
        .arg(c.hidden);
}

AttentionResult translationResult(const TranslationCheckpoint &checkpoint, const TranslationRun &run, AttentionKind kind)
{
    const TranslationTokenizer &tokenizer = *checkpoint.tokenizer;
    AttentionResult result;
    result.attentionKind = kind;
    QStringList sourceLabels, targetLabels;
    for (const QString &piece : run.prepared.source.tokens)
        sourceLabels.append(tokenizer.displayToken(piece));
    for (const QString &piece : run.prepared.decoderPieces)
        targetLabels.append(tokenizer.displayToken(piece));
    switch (kind) {
    case AttentionKind::Encoder:
        result.labels = sourceLabels;
        result.pieces = run.prepared.source.tokens;
        result.queryTitle = QObject::tr("source token (query)");
        result.keyTitle = QObject::tr("source token (key)");
        result.layerInputs = run.trace.encoderInputs;
        break;
    case AttentionKind::Decoder:
        result.labels = targetLabels;
        result.pieces = run.prepared.decoderPieces;
        result.queryTitle = QObject::tr("target token (query)");
        result.keyTitle = QObject::tr("target token (key)");
        result.layerInputs = run.trace.decoderInputs;
        break;
    case AttentionKind::Cross:
        result.labels = targetLabels;
        result.pieces = run.prepared.decoderPieces;
        result.keyLabels = sourceLabels;
        result.queryTitle = QObject::tr("target token");
        result.keyTitle = QObject::tr("source token");
        result.layerInputs = run.trace.crossInputs;
        break;
    }
    result.unscaledScores = checkpoint.config.t5();
    result.relativePositionBias = checkpoint.config.t5() && kind != AttentionKind::Cross;
    result.layers = checkpoint.config.layers(kind);
    result.heads = checkpoint.config.heads(kind);
    result.maps = run.trace.maps(kind);
    for (AttentionKind each : kAttentionKinds)
        result.kindMaps.push_back(run.trace.maps(each));
    if (run.prepared.truncatedFrom > 0)
        result.notice = QObject::tr("A sentence has %1 tokens; %2 reads at most %3, so the rest was left out.")
                            .arg(run.prepared.truncatedFrom).arg(checkpoint.name).arg(checkpoint.config.maxPositions);
    addNonFiniteNotice(result, checkpoint.name, checkpoint.model->nonFiniteTensors());
    return result;
}

HeadDetails translationDetails(const TranslationCheckpoint &checkpoint, const TranslationRun &run, AttentionKind kind, int layer, int head)
{
    HeadDetails details;
    details.layer = layer;
    details.head = head;
    const TranslationConfig &config = checkpoint.config;
    if (layer < 0 || layer >= config.layers(kind) || head < 0 || head >= config.heads(kind))
        return details;
    const std::vector<Matrix> &inputs = kind == AttentionKind::Encoder ? run.trace.encoderInputs
                                      : kind == AttentionKind::Decoder ? run.trace.decoderInputs
                                                                       : run.trace.crossInputs;
    if (size_t(layer) >= inputs.size())
        return details;
    const QString side = kind == AttentionKind::Encoder ? QObject::tr("encoder") : QObject::tr("decoder");
    details.name = kind == AttentionKind::Cross ? QObject::tr("cross-attention layer %1 head %2").arg(layer).arg(head)
                                                : QObject::tr("%1 layer %2 head %3").arg(side).arg(layer).arg(head);
    details.description = QObject::tr("A head of %1.").arg(checkpoint.name);
    details.input = inputs[size_t(layer)];
    const TransformerModel::HeadProjection projection = checkpoint.model->headProjection(kind, layer, head);
    details.wQ = projection.wQ;
    details.wK = projection.wK;
    details.wV = projection.wV;
    details.bQ = projection.bQ;
    details.bK = projection.bK;
    details.bV = projection.bV;
    details.trace = checkpoint.model->headStages(run.trace, kind, layer, head, run.prepared.input);
    details.temperature = run.prepared.input.attentionTemperature;
    details.scaled = !config.t5();
    if (config.t5()) {
        switch (kind) {
        case AttentionKind::Encoder:
        case AttentionKind::Decoder:
            details.inputDescription = QObject::tr("the %1's stream entering layer %2, after the layer's RMS norm (T5 normalises before each sublayer); "
                                                   "no position is added to the tokens: a learned bias on the scores says how far apart they are.")
                                           .arg(side).arg(layer);
            details.maskDescription = kind == AttentionKind::Encoder ? QObject::tr("none: the encoder reads the whole source (padding aside)")
                                                                     : QObject::tr("causal: a target token sees itself and the target tokens before it");
            break;
        case AttentionKind::Cross:
            details.keyInput = run.trace.encoderOutput;
            details.inputDescription = QObject::tr("queries from the decoder: its stream after layer %1's self-attention, RMS-normalised.").arg(layer);
            details.keyInputDescription = QObject::tr("keys and values from the encoder: its output after the final RMS norm, the same for every decoder layer.");
            details.maskDescription = QObject::tr("none: every target token may look at every source token (padding aside)");
            break;
        }
        return details;
    }
    switch (kind) {
    case AttentionKind::Encoder:
        details.inputDescription = layer == 0 ? QObject::tr("the source's embeddings (× √d_model where scaled) plus the sinusoidal positions.")
                                              : QObject::tr("the encoder's hidden state entering layer %1 (Marian normalises after each residual add).").arg(layer);
        details.maskDescription = QObject::tr("none: the encoder reads the whole source (padding aside)");
        break;
    case AttentionKind::Decoder:
        details.inputDescription = layer == 0 ? QObject::tr("the target's embeddings, starting with the decoder start token, plus the sinusoidal positions.")
                                              : QObject::tr("the decoder's hidden state entering layer %1.").arg(layer);
        details.maskDescription = QObject::tr("causal: a target token sees itself and the target tokens before it, never the ones it has not produced yet");
        break;
    case AttentionKind::Cross:
        details.keyInput = run.trace.encoderOutput;
        details.inputDescription = QObject::tr("queries from the decoder: its hidden state after layer %1's self-attention (and norm).").arg(layer);
        details.keyInputDescription = QObject::tr("keys and values from the encoder: its output, the last encoder layer's, the same for every decoder layer.");
        details.maskDescription = QObject::tr("none: every target token may look at every source token (padding aside)");
        break;
    }
    return details;
}

} // namespace studio
