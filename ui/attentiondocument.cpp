#include "attentiondocument.h"

#include "autosave.h"
#include "undocommands.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QPointer>
#include <QThreadPool>
#include <QTimer>

#include <algorithm>

namespace studio {

FigureContext documentContext(const AttentionDocument &document)
{
    FigureContext context;
    context.sentence = document.workspace().text;
    context.model = document.modelDescription();
    context.layer = document.selectedLayer();
    context.head = document.selectedHead();
    context.headName = document.headName(context.layer, context.head);
    return context;
}

AttentionDocument::AttentionDocument(QObject *parent)
    : QObject(parent), m_workspace(defaultWorkspace(QStringLiteral("The cat sat on the mat.")))
{
    m_undoStack.setUndoLimit(500);
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
    m_autosaveTimer->stop();
    // A failed autosave is retried after the next change; the work itself stays in the window.
    if (isModified() && nonFiniteWeight(m_workspace).isEmpty())
        (void)m_autosave->write(m_workspace);
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

QString AttentionDocument::modelDescription() const
{
    return m_checkpoint ? checkpointDescription(*m_checkpoint) : teachingModelDescription(m_workspace.config);
}

QString AttentionDocument::headName(int layer, int head) const
{
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
    m_layer = std::clamp(m_layer, 0, std::max(0, m_result.layers - 1));
    m_head = std::clamp(m_head, 0, std::max(0, m_result.heads - 1));
    if (m_query >= tokenCount())
        m_query = tokenCount() - 1;
    if (m_key >= tokenCount())
        m_key = tokenCount() - 1;
}

void AttentionDocument::recompute()
{
    m_details.reset();
    if (m_checkpoint) {
        runCheckpoint();
        return;
    }
    // Short sentences are computed at once (well under a frame); long ones on a worker thread,
    // so typing never waits for them.
    constexpr int kSynchronousTokenLimit = 256;
    if (tokenizeText(m_workspace.text).size() > kSynchronousTokenLimit) {
        runTeachingInBackground();
        return;
    }
    ++m_generation; // a background run still going is now stale
    if (m_cancel)
        *m_cancel = true;
    setBusy(false);
    const QString previousNotice = m_result.notice;
    m_teachingTrace = traceTeachingModel(m_workspace.text, m_workspace.config, m_workspace.heads, m_workspace.settings);
    m_result = teachingResult(m_teachingTrace, m_workspace);
    clampSelection();
    if (m_result.notice != previousNotice)
        Q_EMIT noticeChanged(m_result.notice);
    Q_EMIT resultChanged();
}

void AttentionDocument::runTeachingInBackground()
{
    const quint64 generation = ++m_generation;
    if (m_cancel)
        *m_cancel = true;
    m_cancel = std::make_shared<std::atomic<bool>>(false);
    setBusy(true);
    QPointer<AttentionDocument> self(this);
    const Workspace workspace = m_workspace;
    QThreadPool::globalInstance()->start([self, generation, workspace] {
        auto trace = std::make_shared<TeachingTrace>(traceTeachingModel(workspace.text, workspace.config, workspace.heads, workspace.settings));
        auto result = std::make_shared<AttentionResult>(teachingResult(*trace, workspace));
        QMetaObject::invokeMethod(QCoreApplication::instance(), [self, generation, trace, result] {
            if (!self || generation != self->m_generation || self->m_checkpoint)
                return;
            self->m_teachingTrace = std::move(*trace);
            self->m_result = std::move(*result);
            self->m_details.reset();
            self->clampSelection();
            self->setBusy(false);
            Q_EMIT self->noticeChanged(self->m_result.notice);
            Q_EMIT self->resultChanged();
        }, Qt::QueuedConnection);
    });
}

void AttentionDocument::runCheckpoint()
{
    const quint64 generation = ++m_generation;
    if (m_cancel)
        *m_cancel = true; // a new keystroke cancels a stale run
    m_cancel = std::make_shared<std::atomic<bool>>(false);
    setBusy(true);
    QPointer<AttentionDocument> self(this);
    auto checkpoint = m_checkpoint;
    auto cancel = m_cancel;
    const QString text = m_workspace.text;
    const QString pair = checkpoint->tokenizer->takesPairs() ? m_textPair : QString();
    auto deliver = [self, generation](auto function) {
        QMetaObject::invokeMethod(QCoreApplication::instance(), [self, generation, function] {
            if (self && generation == self->m_generation)
                function(self.data());
        }, Qt::QueuedConnection);
    };
    QThreadPool::globalInstance()->start([=] {
        Result<PreparedInput> input = text.trimmed().isEmpty() ? Result<PreparedInput>::failure({}) : prepareInput(*checkpoint, text, pair);
        if (!input) {
            deliver([input](AttentionDocument *d) {
                d->m_result = AttentionResult{};
                d->m_result.layers = d->m_checkpoint->config.layers;
                d->m_result.heads = d->m_checkpoint->config.heads;
                d->m_result.notice = input.error;
                d->clampSelection();
                d->setBusy(false);
                Q_EMIT d->noticeChanged(input.error);
                Q_EMIT d->resultChanged();
            });
            return;
        }
        ForwardOptions options;
        options.keepLayerInputs = true;
        options.cancel = cancel.get();
        const int layers = checkpoint->config.layers;
        options.progress = [deliver, layers](int done) {
            deliver([done, layers](AttentionDocument *d) { Q_EMIT d->progressChanged(done, layers); });
        };
        auto trace = std::make_shared<ModelTrace>(checkpoint->model->forward(input.value->forward, options));
        if (trace->cancelled)
            return;
        auto prepared = std::make_shared<PreparedInput>(std::move(*input.value));
        deliver([trace, prepared, checkpoint](AttentionDocument *d) {
            AttentionResult result = checkpointResult(*checkpoint, *prepared, std::move(*trace));
            d->m_preparedInput = std::move(*prepared);
            d->m_result = std::move(result);
            d->m_details.reset();
            d->clampSelection();
            d->setBusy(false);
            Q_EMIT d->noticeChanged(d->m_result.notice);
            Q_EMIT d->resultChanged();
        });
    });
}

void AttentionDocument::cancel()
{
    if (m_cancel)
        *m_cancel = true;
    ++m_generation;
    setBusy(false);
}

const HeadDetails &AttentionDocument::selectedDetails() const
{
    if (!m_details) {
        m_details = m_checkpoint ? checkpointDetails(*m_checkpoint, m_result, m_preparedInput.forward, m_layer, m_head)
                                 : teachingDetails(m_workspace, m_teachingTrace, m_head);
    }
    return *m_details;
}

void AttentionDocument::selectHead(int layer, int head)
{
    layer = std::clamp(layer, 0, std::max(0, m_result.layers - 1));
    head = std::clamp(head, 0, std::max(0, m_result.heads - 1));
    if (layer == m_layer && head == m_head)
        return;
    m_layer = layer;
    m_head = head;
    m_details.reset();
    Q_EMIT selectionChanged();
}

void AttentionDocument::selectQuery(int query)
{
    query = std::clamp(query, -1, tokenCount() - 1);
    if (query == m_query)
        return;
    m_query = query;
    Q_EMIT selectionChanged();
}

void AttentionDocument::selectKey(int key)
{
    key = std::clamp(key, -1, tokenCount() - 1);
    if (key == m_key)
        return;
    m_key = key;
    Q_EMIT selectionChanged();
}

void AttentionDocument::setStage(Stage stage)
{
    if (stage == m_stage)
        return;
    m_stage = stage;
    Q_EMIT selectionChanged();
}

void AttentionDocument::applyText(const QString &text)
{
    if (text == m_workspace.text)
        return;
    m_workspace.text = text;
    recompute();
}

void AttentionDocument::applyTextPair(const QString &text)
{
    if (text == m_textPair)
        return;
    m_textPair = text;
    if (m_checkpoint && m_checkpoint->tokenizer->takesPairs())
        recompute();
}

void AttentionDocument::applySettings(const AttentionSettings &settings)
{
    if (settings == m_workspace.settings)
        return;
    m_workspace.settings = settings;
    if (!m_checkpoint)
        recompute();
}

void AttentionDocument::applyWorkspace(const Workspace &workspace)
{
    m_workspace = workspace;
    if (!m_checkpoint)
        recompute();
    else
        applyText(workspace.text);
}

void AttentionDocument::editText(const QString &text)
{
    if (text != m_workspace.text)
        m_undoStack.push(new SetTextCommand(this, m_workspace.text, text));
}

void AttentionDocument::editTextPair(const QString &text)
{
    if (text != m_textPair)
        m_undoStack.push(new SetTextCommand(this, m_textPair, text, true));
}

void AttentionDocument::editSettings(const AttentionSettings &settings, const QString &label)
{
    if (!(settings == m_workspace.settings))
        m_undoStack.push(new SetSettingsCommand(this, m_workspace.settings, settings, label));
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
    AttentionSettings settings = m_workspace.settings;
    if (settings.mask != MaskMode::Keys) {
        settings.mask = MaskMode::Keys;
        settings.maskedKeys.clear();
    }
    if (settings.maskedKeys.contains(key))
        settings.maskedKeys.removeAll(key);
    else
        settings.maskedKeys.append(key);
    std::sort(settings.maskedKeys.begin(), settings.maskedKeys.end());
    editSettings(settings, tr("Hide key %1").arg(key));
}

Status AttentionDocument::openWorkspace(const QString &path)
{
    Result<Workspace> loaded = loadWorkspace(path);
    if (!loaded)
        return Status::failure(loaded.error);
    if (m_checkpoint)
        useTeachingModel();
    m_workspace = std::move(*loaded.value);
    m_undoStack.clear();
    m_file = QFileInfo(path).absoluteFilePath();
    m_fileStamp = stampOf(m_file);
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
    if (m_checkpoint)
        useTeachingModel();
    m_workspace = defaultWorkspace(QStringLiteral("The cat sat on the mat."));
    m_undoStack.clear();
    m_file.clear();
    m_fileStamp = {};
    recompute();
    Q_EMIT fileChanged();
}

void AttentionDocument::openModel(const QString &directory)
{
    const quint64 generation = ++m_generation;
    if (m_cancel)
        *m_cancel = true;
    setBusy(true);
    QPointer<AttentionDocument> self(this);
    QThreadPool::globalInstance()->start([self, generation, directory] {
        auto opened = std::make_shared<Result<std::shared_ptr<Checkpoint>>>(openCheckpoint(directory));
        QMetaObject::invokeMethod(QCoreApplication::instance(), [self, generation, opened] {
            if (!self || generation != self->m_generation)
                return;
            if (!*opened) {
                self->setBusy(false);
                Q_EMIT self->modelFailed(opened->error);
                return;
            }
            self->m_checkpoint = *opened->value;
            self->m_layer = 0;
            self->m_head = 0;
            self->m_query = -1;
            self->m_key = -1;
            Q_EMIT self->modelChanged();
            self->recompute();
        }, Qt::QueuedConnection);
    });
}

void AttentionDocument::useTeachingModel()
{
    if (!m_checkpoint)
        return;
    cancel();
    m_checkpoint.reset();
    m_preparedInput = {};
    m_layer = 0;
    m_head = 0;
    Q_EMIT modelChanged();
    recompute();
    Q_EMIT noticeChanged({});
}

} // namespace studio
