#include "figuresource.h"

#include "runmemory.h"
#include "tokenizer.h"

namespace studio {

Result<FigureSource> teachingFigureSource(const Workspace &w, int head)
{
    using R = Result<FigureSource>;
    if (head < 0 || head >= int(w.heads.size()))
        return R::failure(QStringLiteral("head %1 does not exist: the teaching model has heads 0..%2").arg(head).arg(w.heads.size() - 1));
    const int tokens = int(tokenizeText(w.text, kMaxTeachingTokens).size());
    if (tokens == 0)
        return R::failure(QStringLiteral("the text has no tokens"));
    if (const Status fits = checkRunFitsNow(teachingRunBytes(w.config, tokens, RunKind::Window)); !fits)
        return R::failure(fits.error);
    TeachingTrace trace;
    if (const Status ran = guardAllocation([&] { trace = traceTeachingModel(w.text, w.config, w.heads, w.settings); }); !ran)
        return R::failure(ran.error);
    FigureSource source;
    source.result = teachingResult(trace, w);
    source.details = teachingDetails(w, trace, head);
    source.context.model = teachingModelDescription(w.config);
    source.context.sentence = w.text;
    source.context.head = head;
    source.context.headName = source.details.name;
    return {std::move(source), {}};
}

Result<FigureSource> checkpointFigureSource(const std::shared_ptr<const Checkpoint> &checkpoint, const QString &text,
                                            const QString &pair, int layer, int head, int threads)
{
    using R = Result<FigureSource>;
    const ModelConfig &config = checkpoint->config;
    if (layer < 0 || layer >= config.layers || head < 0 || head >= config.heads)
        return R::failure(QStringLiteral("there is no layer %1 head %2 (layers 0..%3, heads 0..%4)")
                              .arg(layer).arg(head).arg(config.layers - 1).arg(config.heads - 1));
    if (text.trimmed().isEmpty())
        return R::failure(QStringLiteral("the text is empty"));
    Result<PreparedInput> input = prepareInput(*checkpoint, text, checkpoint->tokenizer->takesPairs() ? pair : QString());
    if (!input)
        return R::failure(input.error);
    ForwardOptions forward;
    forward.threads = threads;
    forward.keepLayerInputs = true;
    forward.keepValueNorms = true;
    forward.keepFinalHidden = checkpoint->model->canPredict();
    if (const Status fits = checkRunFitsNow(checkpointRunBytes(config, int(input.value->forward.ids.size()), RunKind::Window, 0)); !fits)
        return R::failure(fits.error);
    ModelTrace trace;
    if (const Status ran = guardAllocation([&] { trace = checkpoint->model->forward(input.value->forward, forward); }); !ran)
        return R::failure(ran.error);
    FigureSource source;
    source.result = checkpointResult(*checkpoint, *input.value, std::move(trace));
    source.details = checkpointDetails(*checkpoint, source.result, input.value->forward, layer, head);
    addBlockDetails(*checkpoint, source.result, input.value->forward, source.details);
    source.context.model = checkpointDescription(*checkpoint);
    source.context.sentence = text;
    if (checkpoint->tokenizer->takesPairs())
        source.context.sentencePair = pair;
    source.context.layer = layer;
    source.context.head = head;
    source.context.headName = source.details.name;
    return {std::move(source), {}};
}

Result<FigureSource> translationFigureSource(const std::shared_ptr<const TranslationCheckpoint> &checkpoint, const QString &source,
                                             const QString &target, AttentionKind kind, int layer, int head, int threads)
{
    using R = Result<FigureSource>;
    const TranslationConfig &config = checkpoint->config;
    if (layer < 0 || layer >= config.layers(kind) || head < 0 || head >= config.heads(kind))
        return R::failure(QStringLiteral("there is no %1 layer %2 head %3 (layers 0..%4, heads 0..%5)")
                              .arg(attentionKindName(kind)).arg(layer).arg(head).arg(config.layers(kind) - 1).arg(config.heads(kind) - 1));
    if (source.trimmed().isEmpty())
        return R::failure(QStringLiteral("the source is empty"));
    Result<PreparedTranslation> prepared = prepareTranslation(*checkpoint, source, target);
    if (!prepared)
        return R::failure(prepared.error);
    const TranslationInput &input = prepared.value->input;
    if (const Status fits = checkRunFitsNow(translationRunBytes(config, int(input.sourceIds.size()), int(input.decoderIds.size()))); !fits)
        return R::failure(fits.error);
    auto run = std::make_shared<TranslationRun>();
    run->model = checkpoint->model;
    if (const Status ran = guardAllocation([&] { run->trace = checkpoint->model->forward(input, threads); }); !ran)
        return R::failure(ran.error);
    run->prepared = std::move(*prepared.value);
    FigureSource figure;
    figure.result = translationResult(*checkpoint, *run, kind);
    figure.details = translationDetails(*checkpoint, *run, kind, layer, head);
    figure.context.model = translationDescription(*checkpoint);
    figure.context.sentence = source;
    figure.context.sentencePair = target;
    figure.context.translation = true;
    figure.context.attentionKind = kind == AttentionKind::Cross ? QObject::tr("cross-attention")
                                   : kind == AttentionKind::Encoder ? QObject::tr("encoder") : QObject::tr("decoder");
    figure.context.layer = layer;
    figure.context.head = head;
    figure.context.headName = figure.details.name;
    return {std::move(figure), {}};
}

} // namespace studio
