#include "attentiondocument.h"

#include "autosave.h"
#include "flowjob.h"
#include "predictionjob.h"
#include "offthread.h"
#include "runmemory.h"
#include "undocommands.h"
#include "translationcheckpoint.h"

#include <QFileInfo>
#include <QStringDecoder>
#include <QTimer>
#include <QPromise>
#include <QThreadPool>

#include <algorithm>

namespace studio {

FigureContext documentContext(const AttentionDocument &document)
{
    FigureContext context;
    context.sentence = document.workspace().text;
    if ((document.checkpoint() && document.checkpoint()->tokenizer->takesPairs()) || document.isTranslation())
        context.sentencePair = document.textPair();
    if (document.isTranslation()) {
        context.translation = true;
        context.attentionKind = document.attentionKind() == AttentionKind::Cross ? QObject::tr("cross-attention")
                                : document.attentionKind() == AttentionKind::Encoder ? QObject::tr("encoder")
                                                                                      : QObject::tr("decoder");
    }
    context.model = document.modelDescription();
    if (!document.isTeaching() && document.workspace().settings.temperature != 1.0) // never mistaken for the model as trained
        context.model += QObject::tr(" · every attention softmax at τ = %1 (an experiment)").arg(document.workspace().settings.temperature);
    if (document.result().precision == Precision::Bf16) // approximate numbers say so first (a cut caption keeps it), and by how much
        context.model = QObject::tr("bf16: weights within ±%1 of fp32 · %2").arg(document.result().maxDeviation, 0, 'g', 2).arg(context.model);
    context.layer = document.selectedLayer();
    context.head = document.selectedHead();
    context.headName = document.headName(context.layer, context.head);
    context.hiddenQuery = document.hiddenQuery();
    return context;
}

AttentionDocument::AttentionDocument(QObject *parent)
    : QObject(parent), m_workspace(defaultWorkspace(QStringLiteral("The cat sat on the mat.")))
{
    m_undoStack.setUndoLimit(500);
    m_flowJob = new FlowJob(this);
    m_predictionJob = new PredictionJob(this);
    // Each step of a generation waits for the run of the text before it, then for its logits.
    connect(m_predictionJob, &PredictionJob::changed, this, &AttentionDocument::continueGenerating);
    connect(this, &AttentionDocument::modelChanged, this, &AttentionDocument::stopGenerating);
    m_autosave = std::make_unique<Autosave>();
    m_autosaveTimer = new QTimer(this);
    m_autosaveTimer->setSingleShot(true);
    m_autosaveTimer->setInterval(1500);
    connect(m_autosaveTimer, &QTimer::timeout, this, &AttentionDocument::autosaveNow);
    connect(&m_undoStack, &QUndoStack::indexChanged, this, [this] {
        if (isModified())
            m_autosaveTimer->start();
        else
            discardAutosave();
    });
    connect(&m_progressWatcher, &QFutureWatcherBase::progressValueChanged, this, [this](int value) {
        Q_EMIT progressChanged(value, m_progressWatcher.progressMaximum());
    });
    recompute();
}

AttentionDocument::~AttentionDocument()
{
    m_undoStack.disconnect(this); // its destruction must not reach the autosave, destroyed before it
    if (m_cancel)
        *m_cancel = true;
    if (!isModified())
        discardAutosave();
}

QString AttentionDocument::autosavePath() const
{
    return m_autosave->path();
}

void AttentionDocument::autosaveNow()
{
    // A failed autosave is retried after the next change; the work itself stays in the window.
    (void)writeAutosave();
}

Status AttentionDocument::writeAutosave()
{
    m_autosaveTimer->stop();
    if (!isModified())
        return Status::success();
    if (const QString problem = nonFiniteWeight(m_workspace); !problem.isEmpty())
        return Status::failure(problem);
    return m_autosave->write(m_workspace, {m_file, m_fileStamp.modified, m_fileStamp.size});
}

void AttentionDocument::discardAutosave()
{
    m_autosaveTimer->stop();
    m_autosave->remove();
}

AttentionDocument::FileStamp AttentionDocument::stampOf(const QString &path)
{
    const QFileInfo info(path);
    return info.exists() ? FileStamp{info.lastModified(), info.size()} : FileStamp{};
}

void AttentionDocument::restoreWorkspace(const Workspace &workspace, const QString &label)
{
    m_undoStack.push(new SetWorkspaceCommand(this, m_workspace, workspace, label));
}

Status AttentionDocument::recoverFrom(const QString &autosave)
{
    const Result<Workspace> recovered = Autosave::read(autosave);
    if (!recovered)
        return Status::failure(recovered.error);
    restoreWorkspace(*recovered.value, tr("Recover unsaved work"));
    // The recovered work keeps its file: Save writes it there (and still notices a file that was
    // changed since the work was autosaved).
    const Autosave::Source source = Autosave::sourceOf(autosave);
    if (!source.file.isEmpty()) {
        m_file = source.file;
        m_fileStamp = {source.modified, source.size};
        Q_EMIT fileChanged();
    }
    if (const Status saved = writeAutosave(); !saved)
        return Status::failure(tr("The work is restored, but it could not be autosaved again (%1); the recovery file stays until it is.").arg(saved.error));
    Autosave::discard(autosave);
    return Status::success();
}

QString AttentionDocument::modelDescription() const
{
    if (m_translation)
        return translationDescription(*m_translation);
    return m_checkpoint ? checkpointDescription(*m_checkpoint) : teachingModelDescription(m_workspace.config);
}

QString AttentionDocument::modelFolder() const
{
    return m_checkpoint ? m_checkpoint->directory : m_translation ? m_translation->directory : QString();
}

QString AttentionDocument::headName(int layer, int head) const
{
    if (m_translation)
        return m_kind == AttentionKind::Cross ? tr("cross-attention layer %1 head %2").arg(layer).arg(head)
             : m_kind == AttentionKind::Encoder ? tr("encoder layer %1 head %2").arg(layer).arg(head)
                                                : tr("decoder layer %1 head %2").arg(layer).arg(head);
    if (!m_checkpoint)
        return head < int(m_workspace.heads.size()) ? m_workspace.heads[size_t(head)].name : QString();
    return tr("layer %1 head %2").arg(layer).arg(head);
}

void AttentionDocument::setBusy(bool busy)
{
    if (m_busy == busy)
        return;
    m_busy = busy;
    Q_EMIT busyChanged(busy);
}

void AttentionDocument::clampSelection()
{
    const AttentionResult &result = *m_run.result;
    m_layer = std::clamp(m_layer, 0, std::max(0, result.layers - 1));
    m_head = std::clamp(m_head, 0, std::max(0, result.heads - 1));
    if (m_query >= tokenCount())
        m_query = tokenCount() - 1;
    if (m_key >= result.keyCount())
        m_key = result.keyCount() - 1;
}

const TeachingTrace &AttentionDocument::teachingTrace() const
{
    static const TeachingTrace none;
    return m_run.teachingTrace ? *m_run.teachingTrace : none;
}

AttentionDocument::Run AttentionDocument::noticeRun(int layers, int heads, const QString &notice)
{
    AttentionResult empty;
    empty.layers = layers;
    empty.heads = heads;
    empty.notice = notice;
    Run run;
    run.result = std::make_shared<const AttentionResult>(std::move(empty));
    return run;
}

AttentionDocument::Run AttentionDocument::teachingRun(const Workspace &workspace)
{
    const int heads = int(workspace.heads.size());
    // At most one token per character: a bound that needs no second pass over the text.
    const int tokens = int(std::min<qsizetype>(workspace.text.size(), kMaxTeachingTokens));
    if (const Status fits = checkRunFitsNow(teachingRunBytes(workspace.config, tokens, RunKind::Window)); !fits)
        return noticeRun(1, heads, fits.error);
    Run run;
    const Status ran = guardAllocation([&] {
        auto trace = std::make_shared<const TeachingTrace>(
            traceTeachingModel(workspace.text, workspace.config, workspace.heads, workspace.settings));
        run.result = std::make_shared<const AttentionResult>(teachingResult(*trace, workspace));
        run.teachingTrace = std::move(trace);
    });
    return ran ? run : noticeRun(1, heads, ran.error);
}

AttentionDocument::Work AttentionDocument::checkpointWork(std::shared_ptr<const Checkpoint> checkpoint, QString text, QString pair,
                                                         double temperature, Precision precision, std::pair<int, int> selectedHead)
{
    return [checkpoint, text, pair, temperature, precision, selectedHead](const WorkContext &context) -> std::optional<Run> {
        const ModelConfig &config = checkpoint->config;
        if (text.trimmed().isEmpty()) // nothing to run: an empty result
            return noticeRun(config.layers, config.heads, {});
        Result<PreparedInput> input = prepareInput(*checkpoint, text, pair, &context.cancelled);
        if (context.cancelled)
            return std::nullopt;
        if (!input) // an empty result that says why
            return noticeRun(config.layers, config.heads, input.error);
        input.value->forward.attentionTemperature = temperature;
        double needed = checkpointRunBytes(config, int(input.value->forward.ids.size()), RunKind::Window);
        if (precision == Precision::Bf16) // the weights' bfloat16 copies, the first time
            needed += double(checkpoint->model->bf16CopyBytesToMake());
        if (const Status fits = checkRunFitsNow(needed); !fits)
            return noticeRun(config.layers, config.heads, fits.error);
        ForwardOptions options;
        options.keepLayerInputs = true;
        options.keepValueNorms = true;                      // value-weighted attention
        options.keepFinalHidden = checkpoint->model->canPredict(); // the prediction panel
        options.cancel = &context.cancelled;
        options.progress = [&context, &config](int done) { context.progress(done, config.layers); };
        options.precision = precision;
        Run run;
        const Status ran = guardAllocation([&] {
            ModelTrace trace = checkpoint->model->forward(input.value->forward, options);
            checkpoint->model->compareWithFp32(input.value->forward, options, trace); // bf16: how far from fp32
            if (trace.cancelled || context.cancelled)
                return;
            auto prepared = std::make_shared<const PreparedInput>(std::move(*input.value));
            run.result = std::make_shared<const AttentionResult>(checkpointResult(*checkpoint, *prepared, std::move(trace)));
            const auto [layer, head] = selectedHead;
            if (layer >= 0 && layer < run.result->layers && head >= 0 && head < run.result->heads)
                run.details = checkpointDetails(*checkpoint, *run.result, prepared->forward, layer, head);
            run.preparedInput = std::move(prepared);
        });
        if (!ran)
            return noticeRun(config.layers, config.heads, ran.error);
        if (!run.result) // cancelled
            return std::nullopt;
        return run;
    };
}

AttentionDocument::Work AttentionDocument::translationWork(std::shared_ptr<const TranslationCheckpoint> checkpoint, QString source, Target target,
                                                           double temperature, AttentionKind kind, std::shared_ptr<const TranslationRun> previous)
{
    return [checkpoint, source, target, temperature, kind, previous](const WorkContext &context) -> std::optional<Run> {
        const TranslationConfig &config = checkpoint->config;
        const int layers = config.layers(kind);
        const int heads = config.heads(kind);
        if (source.trimmed().isEmpty()) // nothing to translate: an empty result
            return noticeRun(layers, heads, {});
        Result<PreparedTranslation> prepared = target.ids ? prepareTranslationIds(*checkpoint, source, *target.ids)
                                                          : prepareTranslation(*checkpoint, source, target.text);
        if (!prepared)
            return noticeRun(layers, heads, prepared.error);
        prepared.value->input.attentionTemperature = temperature;
        const TranslationInput &input = prepared.value->input;
        const double needed = translationRunBytes(config, int(input.sourceIds.size()), int(input.decoderIds.size()));
        if (const Status fits = checkRunFitsNow(needed); !fits)
            return noticeRun(layers, heads, fits.error);
        Run run;
        const Status ran = guardAllocation([&] {
            auto translation = std::make_shared<TranslationRun>();
            translation->model = checkpoint->model;
            const bool sameSource = previous && previous->model == checkpoint->model && previous->prepared.input.sourceIds == input.sourceIds
                                    && previous->prepared.input.sourceMask == input.sourceMask
                                    && previous->prepared.input.attentionTemperature == input.attentionTemperature;
            translation->trace = checkpoint->model->forward(input, 2, &context.cancelled, sameSource ? &previous->trace : nullptr);
            if (translation->trace.cancelled)
                return;
            const Matrix &out = translation->trace.decoderOutput;
            translation->next = checkpoint->model->greedyChoice(checkpoint->model->logits(out.row(out.rows() - 1)));
            translation->prepared = std::move(*prepared.value);
            run.result = std::make_shared<const AttentionResult>(translationResult(*checkpoint, *translation, kind));
            run.translation = std::move(translation);
        });
        if (!ran)
            return noticeRun(layers, heads, ran.error);
        if (!run.translation) // cancelled
            return std::nullopt;
        return run;
    };
}

quint64 AttentionDocument::beginWork()
{
    if (m_cancel)
        *m_cancel = true; // whatever still runs is stale now
    m_cancel = std::make_shared<std::atomic<bool>>(false);
    return ++m_generation;
}

void AttentionDocument::runInBackground(Work work)
{
    const quint64 generation = beginWork();
    setBusy(true);
    auto cancel = m_cancel;
    // Delivered on this object's thread, and only while it exists; a newer generation drops it.
    const QFuture<Run> future = runOffThread<Run>(
        this,
        [work, cancel](QPromise<Run> &promise) {
            const WorkContext context{*cancel, [&promise](int done, int total) {
                promise.setProgressRange(0, total);
                promise.setProgressValue(done);
            }};
            if (std::optional<Run> run = work(context))
                promise.addResult(std::move(*run));
        },
        [this, generation](QFuture<Run> finished) {
            if (generation != m_generation || finished.resultCount() == 0)
                return;
            installRun(finished.takeResult()); // moved out: the future keeps no copy of the run
        });
    m_progressWatcher.setFuture(future);
}

void AttentionDocument::installRun(Run run)
{
    const QString previousNotice = m_run.result->notice;
    m_run = std::move(run);
    // The kind may have changed while the run was on its way.
    if (m_run.translation && m_translation && m_run.result->attentionKind != m_kind)
        m_run.result = std::make_shared<const AttentionResult>(translationResult(*m_translation, *m_run.translation, m_kind));
    m_details.reset();
    if (m_pendingSelection && !m_awaitingSceneModel)
        applyPendingSelection();
    clampSelection();
    if (m_run.details && m_run.details->layer == m_layer && m_run.details->head == m_head) // still the selected head
        m_details = std::move(m_run.details);
    m_run.details.reset();
    setBusy(false);
    // After the busy flag falls: a generation waiting for this run continues from the reset.
    m_flowJob->reset(m_run.result);
    m_predictionJob->reset(m_run.result, m_checkpoint);
    recomputeComparison();
    if (m_run.result->notice != previousNotice)
        Q_EMIT noticeChanged(m_run.result->notice);
    Q_EMIT resultChanged();
}

void AttentionDocument::recompute()
{
    m_details.reset();
    if (m_translation) {
        runInBackground(translationWork(m_translation, m_workspace.text, target(), m_workspace.settings.temperature, m_kind, m_run.translation));
        return;
    }
    if (m_checkpoint) {
        runInBackground(checkpointWork(m_checkpoint, m_workspace.text, m_checkpoint->tokenizer->takesPairs() ? m_textPair : QString(),
                                       m_workspace.settings.temperature, m_precision, {m_layer, m_head}));
        return;
    }
    // Short sentences are computed at once (well under a frame); long ones on a worker thread,
    // so typing never waits for them.
    constexpr int kSynchronousTokenLimit = 256;
    if (tokenizeText(m_workspace.text, kSynchronousTokenLimit + 1).size() > kSynchronousTokenLimit) {
        runInBackground([workspace = m_workspace](const WorkContext &) -> std::optional<Run> { return teachingRun(workspace); });
        return;
    }
    beginWork();
    installRun(teachingRun(m_workspace));
}

void AttentionDocument::cancel()
{
    beginWork();
    setBusy(false);
}

const HeadDetails &AttentionDocument::selectedDetails() const
{
    if (!m_details && m_translation) {
        m_details = m_run.translation ? translationDetails(*m_translation, *m_run.translation, m_kind, m_layer, m_head) : HeadDetails();
        return *m_details;
    }
    if (!m_details) {
        static const PreparedInput noInput;
        m_details = m_checkpoint ? checkpointDetails(*m_checkpoint, result(), m_run.preparedInput ? m_run.preparedInput->forward : noInput.forward, m_layer, m_head)
                                 : teachingDetails(m_workspace, teachingTrace(), m_head);
    }
    // The rest of the block costs a layer's MLP and the prediction a product with the whole
    // vocabulary per position: computed once a block stage is shown, on a worker; blockReady follows.
    if (m_checkpoint && isBlockStage(m_stage) && !m_details->block && result().hasBlock()
        && m_blockPending != std::pair(m_generation, m_layer))
        const_cast<AttentionDocument *>(this)->computeBlock();
    return *m_details;
}

void AttentionDocument::computeBlock()
{
    m_blockPending = std::pair(m_generation, m_layer);
    const quint64 generation = m_generation;
    const int layer = m_layer;
    HeadDetails work;
    work.layer = layer;
    runOffThread<HeadDetails>(
        this,
        [checkpoint = m_checkpoint, result = m_run.result, prepared = m_run.preparedInput, work](QPromise<HeadDetails> &promise) mutable {
            static const PreparedInput noInput;
            addBlockDetails(*checkpoint, *result, prepared ? prepared->forward : noInput.forward, work);
            promise.addResult(std::move(work));
        },
        [this, generation, layer](QFuture<HeadDetails> finished) {
            if (m_blockPending == std::pair(generation, layer))
                m_blockPending.reset();
            if (generation != m_generation || finished.resultCount() == 0 || !m_details || m_details->layer != layer)
                return;
            const HeadDetails block = finished.result();
            m_details->block = block.block;
            m_details->mlpFormula = block.mlpFormula;
            m_details->normName = block.normName;
            m_details->preNorm = block.preNorm;
            m_details->nextTokens = block.nextTokens;
            m_details->nextTokenProbabilities = block.nextTokenProbabilities;
            m_details->positionTop = block.positionTop;
            Q_EMIT blockReady();
        });
}

void AttentionDocument::selectHead(int layer, int head)
{
    layer = std::clamp(layer, 0, std::max(0, result().layers - 1));
    head = std::clamp(head, 0, std::max(0, result().heads - 1));
    if (layer == m_layer && head == m_head)
        return;
    m_layer = layer;
    m_head = head;
    m_details.reset();
    Q_EMIT headSelected();
}

void AttentionDocument::selectQuery(int query)
{
    query = std::clamp(query, -1, tokenCount() - 1);
    if (query == m_query)
        return;
    m_query = query;
    Q_EMIT querySelected();
}

void AttentionDocument::selectKey(int key)
{
    key = std::clamp(key, -1, result().keyCount() - 1);
    if (key == m_key)
        return;
    m_key = key;
    Q_EMIT querySelected();
}

void AttentionDocument::setStage(Stage stage)
{
    if (stage == m_stage)
        return;
    m_stage = stage;
    Q_EMIT stageChanged();
}

void AttentionDocument::applyText(const QString &text)
{
    if (!m_appendingToken)
        stopGenerating(); // an undo or redo ends a generation
    if (text == m_workspace.text)
        return;
    m_workspace.text = text;
    Q_EMIT workspaceChanged();
    recompute();
}

void AttentionDocument::editComparisonText(const QString &text)
{
    if (text != m_comparisonText)
        m_undoStack.push(new SetTextCommand(this, m_comparisonText, text, SetTextCommand::Field::Comparison));
}

void AttentionDocument::applyComparisonText(const QString &text)
{
    if (text == m_comparisonText)
        return;
    m_comparisonText = text;
    Q_EMIT workspaceChanged();
    recomputeComparison();
}

void AttentionDocument::recomputeComparison()
{
    const quint64 generation = ++m_comparisonGeneration;
    if (m_comparisonCancel)
        m_comparisonCancel->store(true);
    const bool had = m_comparison != nullptr;
    m_comparison.reset();
    if (m_comparisonText.trimmed().isEmpty() || m_run.result->tokenCount() == 0 || m_translation) {
        if (had)
            Q_EMIT comparisonChanged();
        return;
    }
    // The second sentence runs like the first (same model, settings and pair), off the window's thread.
    Work work = m_checkpoint ? checkpointWork(m_checkpoint, m_comparisonText, m_checkpoint->tokenizer->takesPairs() ? m_textPair : QString(),
                                              m_workspace.settings.temperature, m_precision)
                             : Work([workspace = m_workspace, text = m_comparisonText](const WorkContext &) -> std::optional<Run> {
                                   Workspace w = workspace;
                                   w.text = text;
                                   return teachingRun(w);
                               });
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    m_comparisonCancel = cancel;
    runOffThread<Run>(
        this,
        [work, cancel](QPromise<Run> &promise) {
            const WorkContext context{*cancel, [](int, int) {}};
            if (std::optional<Run> run = work(context))
                promise.addResult(std::move(*run));
        },
        [this, generation, text = m_comparisonText](QFuture<Run> finished) {
            if (generation != m_comparisonGeneration || finished.resultCount() == 0)
                return;
            m_comparison = compareResults(m_run.result, finished.result().result, text);
            Q_EMIT comparisonChanged();
        });
    if (had)
        Q_EMIT comparisonChanged();
}

void AttentionDocument::applyTextPair(const QString &text)
{
    if (text == m_textPair)
        return;
    m_textPair = text;
    Q_EMIT workspaceChanged();
    if ((m_checkpoint && m_checkpoint->tokenizer->takesPairs()) || m_translation)
        recompute();
}

void AttentionDocument::applyTarget(const Target &target)
{
    if (!m_appendingToken)
        stopGenerating(); // an undo or redo ends a translation
    if (target == this->target())
        return;
    m_textPair = target.text;
    m_targetIds = target.ids;
    Q_EMIT workspaceChanged();
    if (m_translation)
        recompute();
}

void AttentionDocument::setPrecision(Precision precision)
{
    if (precision == Precision::Bf16 && !bf16Supported())
        precision = Precision::Fp32;
    if (precision == m_precision)
        return;
    m_precision = precision;
    Q_EMIT precisionChanged();
    if (m_checkpoint && !m_translation)
        recompute();
}

void AttentionDocument::selectAttentionKind(AttentionKind kind)
{
    if (kind == m_kind)
        return;
    m_kind = kind;
    m_details.reset();
    if (m_run.translation && m_translation) {
        m_run.result = std::make_shared<const AttentionResult>(translationResult(*m_translation, *m_run.translation, m_kind));
        clampSelection();
        m_flowJob->reset(m_run.result);
        m_predictionJob->reset(m_run.result, m_checkpoint);
    }
    Q_EMIT attentionKindChanged();
    Q_EMIT headSelected();
    Q_EMIT querySelected();
    Q_EMIT resultChanged();
}

void AttentionDocument::translate(int maxTokens)
{
    if (!m_translation || maxTokens <= 0)
        return;
    stopGenerating();
    // From the start: the target so far is replaced by what the model produces.
    if (m_targetIds != std::vector<int>{}) {
        m_appendingToken = true;
        m_undoStack.push(new SetTargetCommand(this, target(), {QString(), std::vector<int>{}}, tr("Translate")));
        m_appendingToken = false;
    }
    m_generating = Generation{maxTokens, {}, false, 0, true};
    Q_EMIT generationChanged();
    continueTranslating();
}

void AttentionDocument::continueTranslating()
{
    if (!m_generating || !m_generating->translating || m_busy || !m_translation)
        return; // the run of the target so far is not in yet
    if (!m_run.translation || !m_targetIds) {
        endGeneration(m_workspace.text.trimmed().isEmpty() ? tr("there is no source sentence to translate") : tr("the run failed: %1").arg(m_run.result->notice));
        return;
    }
    const TranslationRun &run = *m_run.translation;
    const std::vector<int> &ids = *m_targetIds;
    if (!ids.empty() && ids.back() == m_translation->config.eosId) {
        endGeneration(tr("the translation is complete (the model wrote its end token)"));
        return;
    }
    if (int(ids.size()) + 1 >= m_translation->config.maxPositions) {
        endGeneration(tr("the target fills the model's %1 positions").arg(m_translation->config.maxPositions));
        return;
    }
    if (run.next.id < 0) {
        endGeneration(tr("the model's scores are not numbers (its weights hold NaN)"));
        return;
    }
    std::vector<int> longer = ids;
    longer.push_back(run.next.id);
    const TranslationTokenizer &tokenizer = *m_translation->tokenizer;
    QString text;
    for (int id : longer)
        if (const QString token = tokenizer.targetTokenForId(id); !tokenizer.isSpecial(token))
            text += QString::fromUtf8(tokenizer.tokenText(token));
    --m_generating->remaining;
    const bool done = m_generating->remaining <= 0;
    if (done)
        m_generating.reset();
    m_appendingToken = true;
    m_undoStack.push(new SetTargetCommand(this, target(), {text.trimmed(), longer},
                                          tr("Translate “%1”").arg(tokenizer.displayToken(tokenizer.targetTokenForId(run.next.id)))));
    m_appendingToken = false;
    Q_EMIT generationChanged();
}

void AttentionDocument::applySettings(const AttentionSettings &settings)
{
    if (settings == m_workspace.settings)
        return;
    const bool temperatureChanged = settings.temperature != m_workspace.settings.temperature;
    m_workspace.settings = settings;
    Q_EMIT workspaceChanged();
    // A checkpoint reads only the temperature of the settings (its mask and scale are its own).
    if (isTeaching() || temperatureChanged)
        recompute();
}

void AttentionDocument::applyWorkspace(const Workspace &workspace)
{
    // A checkpoint reads only the text and the temperature of the workspace; the teaching model all
    // of it but the scenes (editing scenes recomputes nothing).
    const bool rerun = !isTeaching() ? workspace.text != m_workspace.text || workspace.settings.temperature != m_workspace.settings.temperature
                                    : !sameState(workspace, m_workspace);
    m_workspace = workspace;
    Q_EMIT workspaceChanged();
    if (rerun)
        recompute();
}

void AttentionDocument::generate(int count, const SamplingSettings &settings, bool sample, quint64 seed)
{
    if (count <= 0)
        return;
    m_generating = Generation{count, settings, sample, seed};
    Q_EMIT generationChanged();
    continueGenerating();
}

void AttentionDocument::stopGenerating()
{
    if (!m_generating)
        return;
    m_generating.reset();
    Q_EMIT generationChanged();
}

void AttentionDocument::endGeneration(const QString &reason)
{
    m_generating.reset();
    Q_EMIT generationChanged();
    Q_EMIT generationStopped(reason);
}

void AttentionDocument::continueGenerating()
{
    if (m_generating && m_generating->translating) {
        continueTranslating();
        return;
    }
    if (!m_generating || m_busy)
        return; // the run of the text so far is not in yet
    if (m_translation) {
        endGeneration(tr("a translation model writes its target with Translate"));
        return;
    }
    if (!m_predictionJob->available()) {
        endGeneration(m_checkpoint ? m_checkpoint->model->predictionUnavailableReason().isEmpty()
                                         ? tr("there is no text to continue: type a beginning first")
                                         : m_checkpoint->model->predictionUnavailableReason()
                                   : tr("the teaching model has no vocabulary to predict from: load a language model"));
        return;
    }
    if (m_run.preparedInput && m_run.preparedInput->truncatedFrom > 0) {
        endGeneration(tr("the text fills the model's %1 positions").arg(m_checkpoint->config.maxPositions));
        return;
    }
    const int last = tokenCount() - 1;
    const std::shared_ptr<const RowVector> logits = m_predictionJob->logits(last);
    if (!logits) {
        m_predictionJob->request(last); // its arrival calls this again
        return;
    }
    const int id = m_generating->sample ? sampleToken(samplingDistribution(*logits, m_generating->settings), m_generating->seed + quint64(tokenCount()))
                                        : greedyToken(*logits);
    const ModelTokenizer &tokenizer = *m_checkpoint->tokenizer;
    const QString token = tokenizer.tokenForId(id);
    if (id < 0 || token.isEmpty()) {
        endGeneration(tr("the model's most likely token (id %1) is not in the tokenizer's vocabulary").arg(id));
        return;
    }
    if (tokenizer.isSpecial(token)) {
        endGeneration(tr("the model predicts %1, the end of the text").arg(token));
        return;
    }
    // A byte-level token may be part of a character; a text cannot end inside one.
    QStringDecoder decoder(QStringDecoder::Utf8);
    const QString piece = decoder.decode(tokenizer.tokenText(token));
    if (decoder.hasError() || piece.contains(QChar::ReplacementCharacter)) {
        endGeneration(tr("the next token, %1, is only part of a character").arg(tokenizer.displayToken(token)));
        return;
    }
    --m_generating->remaining;
    const bool done = m_generating->remaining <= 0;
    if (done)
        m_generating.reset();
    m_appendingToken = true;
    m_undoStack.push(new AppendTokenCommand(this, m_workspace.text, m_workspace.text + piece, tokenizer.displayToken(token)));
    m_appendingToken = false;
    Q_EMIT generationChanged();
}

void AttentionDocument::editText(const QString &text)
{
    stopGenerating(); // the user's edit ends a generation
    if (text != m_workspace.text)
        m_undoStack.push(new SetTextCommand(this, m_workspace.text, text));
}

void AttentionDocument::editTextPair(const QString &text)
{
    if (m_translation) {
        // Typing a target replaces a translation with the typed text (teacher forcing).
        stopGenerating();
        if (text != m_textPair || m_targetIds)
            m_undoStack.push(new SetTargetCommand(this, target(), {text, std::nullopt}, tr("Edit the target")));
        return;
    }
    if (text != m_textPair)
        m_undoStack.push(new SetTextCommand(this, m_textPair, text, SetTextCommand::Field::Pair));
}

void AttentionDocument::editSettings(const AttentionSettings &settings, SettingsEdit edit, int key)
{
    if (!(settings == m_workspace.settings))
        m_undoStack.push(new SetSettingsCommand(this, m_workspace.settings, settings, edit, key));
}

void AttentionDocument::editConfig(const TeachingConfig &config)
{
    if (config == m_workspace.config || !validateConfig(config))
        return;
    Workspace after = m_workspace;
    after.config = config;
    const bool sameShape = config.heads == m_workspace.config.heads && config.dModel == m_workspace.config.dModel
        && config.dHead == m_workspace.config.dHead;
    // Switching positional encodings changes only the input; new dimensions need new weights.
    if (!sameShape)
        after.heads = defaultHeads(config);
    m_undoStack.push(new SetWorkspaceCommand(this, m_workspace, after,
                                             sameShape ? tr("Toggle positional encodings") : tr("Change model dimensions")));
}

void AttentionDocument::editHead(int head, const HeadWeights &weights, const QString &label)
{
    if (head < 0 || head >= int(m_workspace.heads.size()))
        return;
    Workspace after = m_workspace;
    after.heads[size_t(head)] = weights;
    if (weights.wO.size() == 0) // a preset of W_Q, W_K, W_V keeps the head's W_O
        after.heads[size_t(head)].wO = m_workspace.heads[size_t(head)].wO;
    m_undoStack.push(new SetWorkspaceCommand(this, m_workspace, after, label));
}

void AttentionDocument::editWeight(int head, Projection matrix, int row, int col, float value, int gesture)
{
    if (head < 0 || head >= int(m_workspace.heads.size()))
        return;
    const Matrix &m = m_workspace.heads[size_t(head)].weight(matrix);
    if (row < 0 || col < 0 || row >= m.rows() || col >= m.cols() || m(row, col) == value)
        return;
    m_undoStack.push(new SetWeightCommand(this, {head, matrix, row, col}, m(row, col), value, gesture));
}

void AttentionDocument::toggleMaskedKey(int key)
{
    if (key < 0 || key >= tokenCount())
        return;
    AttentionSettings settings = m_workspace.settings; // the mask stays: hidden keys combine with it
    if (settings.maskedKeys.contains(key))
        settings.maskedKeys.removeAll(key);
    else
        settings.maskedKeys.append(key);
    std::sort(settings.maskedKeys.begin(), settings.maskedKeys.end());
    editSettings(settings, SettingsEdit::HiddenKey, key);
}

Status AttentionDocument::openWorkspace(const QString &path)
{
    Result<Workspace> loaded = loadWorkspace(path);
    if (!loaded)
        return Status::failure(loaded.error);
    if (!isTeaching())
        useTeachingModel();
    leaveScene();
    m_workspace = std::move(*loaded.value);
    m_undoStack.clear();
    m_file = QFileInfo(path).absoluteFilePath();
    m_fileStamp = stampOf(m_file);
    Q_EMIT workspaceChanged(); // a new workspace: its scenes, settings and weights
    recompute();
    Q_EMIT fileChanged();
    return Status::success();
}

SaveReport AttentionDocument::saveWorkspaceAs(const QString &path, bool overwrite)
{
    const QString absolute = QFileInfo(path).absoluteFilePath();
    if (!overwrite && absolute == m_file && !(stampOf(absolute) == m_fileStamp))
        return {SaveOutcome::Conflict, tr("%1 was changed by another window or program since you opened or saved it here.").arg(QFileInfo(path).fileName())};
    if (const Status saved = saveWorkspace(m_workspace, path); !saved)
        return {SaveOutcome::Failed, saved.error};
    m_file = absolute;
    m_fileStamp = stampOf(m_file);
    m_undoStack.setClean();
    discardAutosave();
    Q_EMIT fileChanged();
    return {};
}

void AttentionDocument::newWorkspace()
{
    if (!isTeaching())
        useTeachingModel();
    leaveScene();
    m_workspace = defaultWorkspace(QStringLiteral("The cat sat on the mat."));
    m_undoStack.clear();
    m_file.clear();
    m_fileStamp = {};
    Q_EMIT workspaceChanged();
    recompute();
    Q_EMIT fileChanged();
}

Scene AttentionDocument::captureScene(const QString &name, const QString &view) const
{
    Scene scene;
    scene.name = name;
    scene.state = m_workspace;
    scene.state.scenes.clear();
    if (!isTeaching()) {
        scene.modelFolder = modelFolder();
        scene.textPair = m_textPair;
    }
    if (m_translation)
        scene.attentionKind = attentionKindName(m_kind);
    scene.view = view;
    scene.stage = stageName(m_stage);
    scene.layer = m_layer;
    scene.head = m_head;
    scene.query = m_query;
    scene.key = m_key;
    return scene;
}

void AttentionDocument::editScenes(const std::vector<Scene> &scenes, const QString &label)
{
    if (scenes == m_workspace.scenes)
        return;
    Workspace after = m_workspace;
    after.scenes = scenes;
    // The active scene stays active while it keeps its place and its state (a rename, a target).
    if (const Scene *active = activeSceneData()) {
        const auto index = size_t(m_activeScene);
        if (index >= scenes.size() || scenes[index].modelFolder != active->modelFolder || !sameState(scenes[index].state, active->state))
            leaveScene();
    }
    m_undoStack.push(new SetWorkspaceCommand(this, m_workspace, after, label));
    Q_EMIT sceneChanged();
}

const Scene *AttentionDocument::activeSceneData() const
{
    if (m_activeScene < 0 || m_activeScene >= int(m_workspace.scenes.size()))
        return nullptr;
    return &m_workspace.scenes[size_t(m_activeScene)];
}

void AttentionDocument::leaveScene()
{
    if (m_activeScene < 0)
        return;
    m_activeScene = -1;
    m_revealed = false;
    Q_EMIT sceneChanged();
}

int AttentionDocument::hiddenQuery() const
{
    const Scene *scene = activeSceneData();
    if (!scene || !scene->hideWeights || m_revealed || scene->query < 0 || scene->query >= tokenCount())
        return -1;
    return scene->query;
}

std::optional<AttentionDocument::Challenge> AttentionDocument::challenge() const
{
    const Scene *scene = activeSceneData();
    if (!scene || scene->target == TargetPattern::None || !result().hasHead(m_layer, m_head))
        return std::nullopt;
    Challenge challenge;
    challenge.pattern = scene->target;
    const HeadDetails &details = selectedDetails();
    challenge.target = targetWeights(scene->target, result().labels, details.trace.masked);
    challenge.score = scoreAgainstTarget(result().weights(m_layer, m_head), challenge.target);
    return challenge;
}

void AttentionDocument::revealWeights()
{
    if (!weightsHidden())
        return;
    m_revealed = true;
    Q_EMIT sceneChanged();
}

void AttentionDocument::goToScene(int index)
{
    if (index < 0 || index >= int(m_workspace.scenes.size()))
        return;
    const Scene scene = m_workspace.scenes[size_t(index)];
    m_pendingSelection = SceneSelection{scene.layer, scene.head, scene.query, scene.key, scene.stage, scene.attentionKind};
    const bool wantsCheckpoint = !scene.modelFolder.isEmpty();
    const bool opensModel = wantsCheckpoint
        && (isTeaching() || QFileInfo(modelFolder()).canonicalFilePath() != QFileInfo(scene.modelFolder).canonicalFilePath());
    // The selection waits for the scene's model: runs of the old model in between do not take it.
    m_awaitingSceneModel = opensModel;
    if (!wantsCheckpoint && !isTeaching())
        useTeachingModel();
    Workspace after = scene.state;
    after.scenes = m_workspace.scenes;
    if (!sameState(after, m_workspace))
        m_undoStack.push(new SetWorkspaceCommand(this, m_workspace, after, tr("Go to scene “%1”").arg(scene.name)));
    if (wantsCheckpoint)
        editTextPair(scene.textPair);
    // The model last: opening it starts the newest work, which a run started above must not cancel.
    if (opensModel)
        openModelFor(scene.modelFolder, true);
    if (!m_busy && !m_awaitingSceneModel)
        applyPendingSelection();
    m_activeScene = index;
    m_revealed = false;
    Q_EMIT sceneChanged();
    Q_EMIT sceneViewRequested(scene.view);
}

void AttentionDocument::applyPendingSelection()
{
    if (!m_pendingSelection)
        return;
    const SceneSelection selection = *m_pendingSelection;
    m_pendingSelection.reset();
    if (const std::optional<AttentionKind> kind = attentionKindFromName(selection.attentionKind); kind && m_translation)
        selectAttentionKind(*kind);
    const AttentionResult &result = *m_run.result;
    m_layer = std::clamp(selection.layer, 0, std::max(0, result.layers - 1));
    m_head = std::clamp(selection.head, 0, std::max(0, result.heads - 1));
    m_query = std::clamp(selection.query, -1, tokenCount() - 1);
    m_key = std::clamp(selection.key, -1, result.keyCount() - 1);
    if (const std::optional<Stage> stage = stageFromName(selection.stage); stage && stageApplies(*stage, result))
        m_stage = *stage;
    m_details.reset();
    Q_EMIT headSelected();
    Q_EMIT querySelected();
    Q_EMIT stageChanged();
}

void AttentionDocument::openModel(const QString &directory)
{
    openModelFor(directory, false);
}

void AttentionDocument::openModelFor(const QString &directory, bool forScene)
{
    m_awaitingSceneModel = forScene;
    const quint64 generation = beginWork();
    setBusy(true);
    // A folder is a single-stack checkpoint or a translation model; its config.json says which.
    struct Opened {
        Result<std::shared_ptr<Checkpoint>> checkpoint;
        Result<std::shared_ptr<TranslationCheckpoint>> translation;
    };
    runOffThread<Opened>(
        this,
        [directory](QPromise<Opened> &promise) {
            using C = Result<std::shared_ptr<Checkpoint>>;
            using T = Result<std::shared_ptr<TranslationCheckpoint>>;
            if (isTranslationFolder(directory))
                promise.addResult(Opened{C::failure({}), openTranslationCheckpoint(directory)});
            else
                promise.addResult(Opened{openCheckpoint(directory), T::failure({})});
        },
        [this, generation](QFuture<Opened> finished) {
            if (generation != m_generation || finished.resultCount() == 0)
                return;
            const Opened opened = finished.result();
            const bool sceneModel = std::exchange(m_awaitingSceneModel, false);
            if (!sceneModel)
                leaveScene();
            if (!opened.checkpoint && !opened.translation) {
                m_pendingSelection.reset();
                setBusy(false);
                Q_EMIT modelFailed(opened.checkpoint.error.isEmpty() ? opened.translation.error : opened.checkpoint.error);
                return;
            }
            m_checkpoint = opened.checkpoint ? *opened.checkpoint.value : nullptr;
            m_translation = opened.translation ? *opened.translation.value : nullptr;
            m_targetIds.reset();
            m_layer = 0;
            m_head = 0;
            m_query = -1;
            m_key = -1;
            Q_EMIT modelChanged();
            recompute();
        });
}

void AttentionDocument::useTeachingModel()
{
    if (isTeaching())
        return;
    cancel();
    leaveScene();
    m_checkpoint.reset();
    m_translation.reset();
    m_targetIds.reset();
    m_layer = 0;
    m_head = 0;
    Q_EMIT modelChanged();
    recompute();
    Q_EMIT noticeChanged({});
}

} // namespace studio
