#pragma once

#include "attentionresult.h"
#include "comparisonfigure.h"
#include "figures.h"
#include "prediction.h"

#include <QDateTime>
#include <QObject>
#include <QUndoStack>

#include <QFutureWatcher>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

namespace studio {

// What saving did. A conflict: the file changed on disk since this document opened or saved it.
enum class SaveOutcome { Saved, Conflict, Failed };
struct [[nodiscard]] SaveReport {
    SaveOutcome outcome = SaveOutcome::Saved;
    QString error; // why not, for Conflict and Failed
    explicit operator bool() const { return outcome == SaveOutcome::Saved; }
};

// The single source of truth of a window: the workspace (sentence, settings, weights of the
// teaching model), the loaded checkpoint if any, the result computed from them, the selection and
// the undo stack. Widgets read from it and push undo commands; they never compute attention.
class AttentionDocument : public QObject {
    Q_OBJECT
public:
    explicit AttentionDocument(QObject *parent = nullptr);
    ~AttentionDocument() override;

    const Workspace &workspace() const { return m_workspace; }
    const AttentionResult &result() const { return *m_run.result; }
    // The same result, shared: figures and background work keep it alive without copying it.
    SharedResult sharedResult() const { return m_run.result; }
    const TeachingTrace &teachingTrace() const;
    QUndoStack *undoStack() { return &m_undoStack; }

    // The model: the teaching model (no checkpoint), a loaded one, or a loaded translation model.
    bool isTeaching() const { return !m_checkpoint && !m_translation; }
    const Checkpoint *checkpoint() const { return m_checkpoint.get(); }
    std::shared_ptr<const Checkpoint> sharedCheckpoint() const { return m_checkpoint; }
    const TranslationCheckpoint *translationModel() const { return m_translation.get(); }
    bool isTranslation() const { return m_translation != nullptr; }
    // The folder of the loaded model (empty for the teaching model).
    QString modelFolder() const;

    // Translation models: the sentence is the source; the target is typed (textPair(), read with
    // teacher forcing) or produced by Translate (ids, shown as text). The views show one kind of
    // attention at a time (the model view all three).
    struct Target {
        QString text;
        std::optional<std::vector<int>> ids; // set: the decoder reads [start] + these (Translate)
        friend bool operator==(const Target &, const Target &) = default;
    };
    Target target() const { return {m_textPair, m_targetIds}; }
    AttentionKind attentionKind() const { return m_kind; }
    // The current run's source and target (decoder input) lengths; 0 without a translation run.
    int sourceTokenCount() const { return m_run.translation ? int(m_run.translation->prepared.input.sourceIds.size()) : 0; }
    int targetTokenCount() const { return m_run.translation ? int(m_run.translation->prepared.input.decoderIds.size()) : 0; }
    void selectAttentionKind(AttentionKind kind);
    // How a checkpoint's linear layers multiply: fp32 (default, exact) or bf16 (approximate; each
    // run also states its largest deviation from fp32). Not an edit of the document: no undo step.
    Precision precision() const { return m_precision; }
    void setPrecision(Precision precision);
    // Translates greedily from the start, a token per run and undo step, at most maxTokens; stops
    // at the end token, the model's last position, an edit or stopGenerating().
    void translate(int maxTokens);
    void applyTarget(const Target &target);
    QString modelDescription() const;
    QString textPair() const { return m_textPair; }
    // A second sentence to compare the first with (empty: none), run on the same model in the
    // background; its comparison follows every result of the first.
    QString comparisonText() const { return m_comparisonText; }
    std::shared_ptr<const ResultComparison> comparison() const { return m_comparison; }

    // Selection: view state, not undoable. Out-of-range values are clamped.
    int selectedLayer() const { return m_layer; }
    int selectedHead() const { return m_head; }
    int selectedQuery() const { return m_query; }
    int selectedKey() const { return m_key; }
    Stage stage() const { return m_stage; }
    int tokenCount() const { return m_run.result->tokenCount(); }
    void selectHead(int layer, int head);
    void selectHead(int head) { selectHead(m_layer, head); }
    void selectQuery(int query);
    void selectKey(int key);
    void setStage(Stage stage);

    // The selected head with every stage (computed on demand and cached).
    const HeadDetails &selectedDetails() const;
    QString headName(int layer, int head) const;

    // Undoable edits for widgets.
    void editText(const QString &text);
    void editTextPair(const QString &text);
    void editComparisonText(const QString &text);
    // Which setting an edit changes: consecutive edits of the same one (a slider drag, toggling the
    // same key) merge into one undo step. key is the key position for HiddenKey, else −1.
    enum class SettingsEdit { Scale, Mask, HiddenKey, ShowAllKeys, Temperature };
    void editSettings(const AttentionSettings &settings, SettingsEdit edit, int key = -1);
    void editConfig(const TeachingConfig &config); // new dimensions reset the weights to the defaults
    void editHead(int head, const HeadWeights &weights, const QString &label);
    // One weight cell of W_Q, W_K or W_V. Consecutive edits of one cell with the same gesture id
    // merge into one undo step (a scrub drag).
    void editWeight(int head, Projection matrix, int row, int col, float value, int gesture = 0);
    void toggleMaskedKey(int key);

    // Used by undo commands: set, recompute, emit. Each compares first and does nothing if equal.
    void applyText(const QString &text);
    void applyTextPair(const QString &text);
    void applyComparisonText(const QString &text);
    void applySettings(const AttentionSettings &settings);
    void applyWorkspace(const Workspace &workspace);

    // Scenes: saved moments of a lesson, kept in the workspace (undoable like any edit).
    const std::vector<Scene> &scenes() const { return m_workspace.scenes; }
    // The current state as a scene: the sentence, the model, the settings, the view, the selection.
    Scene captureScene(const QString &name, const QString &view) const;
    void editScenes(const std::vector<Scene> &scenes, const QString &label);
    // Goes to a scene: its state is one undoable step; its selection follows once its result is in
    // (a checkpoint scene opens its model first). The scene becomes the active one.
    void goToScene(int index);
    // The scene last gone to, while its state is on screen (−1: none). It stays active while the
    // student edits weights (the challenge scores the edits); another scene or model ends it.
    int activeScene() const { return m_activeScene; }
    const Scene *activeSceneData() const;
    void leaveScene();
    // Whether the selected query's weights are hidden for the class to predict first, and showing them.
    // The make-a-head challenge of the active scene: how far the selected head's weights are from
    // the scene's target pattern (restricted to the keys the head can see). None without a target.
    struct Challenge {
        TargetPattern pattern = TargetPattern::None;
        Matrix target; // (T, T)
        ChallengeScore score;
    };
    std::optional<Challenge> challenge() const;
    // The query whose weights are hidden (−1: none).
    int hiddenQuery() const;
    bool weightsHidden() const { return hiddenQuery() >= 0; }
    void revealWeights();

    // Files. The document is unchanged on failure.
    QString currentFile() const { return m_file; }
    bool isModified() const { return !m_undoStack.isClean(); }
    Status openWorkspace(const QString &path);
    // Saving over the current file refuses (a Conflict) when another window or program changed
    // it since this document opened or saved it, unless overwrite is true.
    SaveReport saveWorkspaceAs(const QString &path, bool overwrite = false);
    void newWorkspace();
    // Replaces the workspace as one undoable step that leaves the document modified (recovery).
    void restoreWorkspace(const Workspace &workspace, const QString &label);
    // Restores the unsaved work in an autosave left by a session that ended unexpectedly. The file
    // is removed only once this document's own autosave of the work exists, so a crash at any
    // moment leaves the work recoverable.
    Status recoverFrom(const QString &autosave);

    // Crash safety: the unsaved workspace is autosaved shortly after each change.
    QString autosavePath() const;
    void autosaveNow();
    void discardAutosave();

    // Attention flow of the current result: computed on request, in the background.
    class FlowJob *flowJob() const { return m_flowJob; }
    // Next-token logits of a causal checkpoint's positions, computed on request in the background.
    class PredictionJob *predictionJob() const { return m_predictionJob; }

    // Generation: appends the model's next token after the last position, count times, one run
    // after another (each token one undo step; the longer text is run afresh, so every view shows
    // exactly what a fresh run of it shows). Greedy, or sampled with the settings; the draw of each
    // step is seeded by seed + the number of tokens before it, so the same seed repeats a run.
    // It stops early at a special token (the end of the text), at a token that is only part of a
    // character, at the model's last position, or when the user edits; generationStopped says why.
    void generate(int count, const SamplingSettings &settings, bool sample, quint64 seed);
    void stopGenerating();
    bool isGenerating() const { return m_generating.has_value(); }
    int tokensToGenerate() const { return m_generating ? m_generating->remaining : 0; }

    // Models. Opening runs on a worker thread; modelChanged or modelFailed follows.
    void openModel(const QString &directory);
    void useTeachingModel();
    bool isBusy() const { return m_busy; }
    void cancel();

Q_SIGNALS:
    void workspaceChanged(); // the sentence, the settings or the weights (before the new result)
    void resultChanged();
    // The selection, by what changed: views listen to what they show.
    void headSelected();     // layer or head
    void querySelected();    // query or key
    void stageChanged();
    void modelChanged();
    void modelFailed(const QString &message);
    void busyChanged(bool busy);
    void progressChanged(int done, int total);
    void fileChanged();
    void noticeChanged(const QString &notice);
    void sceneChanged();        // another active scene, or its weights revealed
    void sceneViewRequested(const QString &view); // a scene brings its view to the front
    void comparisonChanged();                      // the second sentence's comparison, or none
    void blockReady();                             // the rest of the selected layer's block is in selectedDetails()
    void generationChanged();                      // started, a token appended, or ended
    void generationStopped(const QString &reason); // ended early, and why
    void attentionKindChanged();                   // a translation model's encoder, decoder or cross-attention
    void precisionChanged();

private:
    // Everything one run of a model produces, installed in one step.
    struct Run {
        SharedResult result = std::make_shared<const AttentionResult>();
        std::shared_ptr<const TeachingTrace> teachingTrace; // the teaching model's run
        std::shared_ptr<const PreparedInput> preparedInput; // a checkpoint's input
        std::shared_ptr<const TranslationRun> translation;  // a translation model's run (every kind)
        // The stages of the head that was selected when the run began, computed with it off the
        // window's thread (at 512 tokens a head's stages take as long as a frame).
        std::optional<HeadDetails> details;
    };
    // What background work can see: whether it is stale, and where to report progress.
    struct WorkContext {
        const std::atomic<bool> &cancelled;
        std::function<void(int done, int total)> progress;
    };
    using Work = std::function<std::optional<Run>(const WorkContext &)>;

    Status writeAutosave();
    void recompute();
    static Run teachingRun(const Workspace &workspace);
    // A run with no maps whose result says why (empty text, refused, out of memory).
    static Run noticeRun(int layers, int heads, const QString &notice);
    // selectedHead: (layer, head) whose details to compute with the run; (−1, −1) for none.
    static Work checkpointWork(std::shared_ptr<const Checkpoint> checkpoint, QString text, QString pair, double temperature,
                               Precision precision = Precision::Fp32, std::pair<int, int> selectedHead = {-1, -1});
    // previous: the last run, whose encoder part is reused when it read the same source (a
    // Translate step, an edit of the target).
    static Work translationWork(std::shared_ptr<const TranslationCheckpoint> checkpoint, QString source, Target target,
                                double temperature, AttentionKind kind, std::shared_ptr<const TranslationRun> previous);
    void continueTranslating();
    // Starts a new generation of work: earlier work still running becomes stale and is cancelled.
    quint64 beginWork();
    void runInBackground(Work work);
    void installRun(Run run);
    void setBusy(bool busy);
    void clampSelection();
    void applyPendingSelection();
    void openModelFor(const QString &directory, bool forScene);
    void continueGenerating();
    void computeBlock();
    void recomputeComparison();
    void endGeneration(const QString &reason);

    Workspace m_workspace;
    QString m_textPair;
    QString m_comparisonText;
    std::shared_ptr<const ResultComparison> m_comparison;
    std::shared_ptr<std::atomic<bool>> m_comparisonCancel;
    quint64 m_comparisonGeneration = 0;
    std::shared_ptr<const Checkpoint> m_checkpoint;
    std::shared_ptr<const TranslationCheckpoint> m_translation;
    std::optional<std::vector<int>> m_targetIds;
    AttentionKind m_kind = AttentionKind::Cross; // the alignment picture first
    Precision m_precision = Precision::Fp32;
    Run m_run;
    QUndoStack m_undoStack;
    QString m_file;

    int m_layer = 0;
    int m_head = 0;
    int m_query = -1;
    int m_key = -1;
    Stage m_stage = Stage::Embeddings;

    mutable std::optional<HeadDetails> m_details;
    std::optional<std::pair<quint64, int>> m_blockPending; // the run and layer whose block is being computed

    // A scene's selection waiting for the scene's result; applied when it is installed.
    struct SceneSelection {
        int layer, head, query, key;
        QString stage;
        QString attentionKind; // a translation scene's kind
    };
    std::optional<SceneSelection> m_pendingSelection;
    int m_activeScene = -1;
    bool m_revealed = false;
    bool m_awaitingSceneModel = false; // a scene's model is opening: its selection waits for it

    // Background work: a generation counter drops stale results; a shared flag cancels.
    struct FileStamp {
        QDateTime modified;
        qint64 size = -1;
        friend bool operator==(const FileStamp &, const FileStamp &) = default;
    };
    static FileStamp stampOf(const QString &path);
    FileStamp m_fileStamp;
    std::unique_ptr<class Autosave> m_autosave;
    class QTimer *m_autosaveTimer = nullptr;

    class FlowJob *m_flowJob = nullptr;
    class PredictionJob *m_predictionJob = nullptr;
    struct Generation {
        int remaining = 0;
        SamplingSettings settings;
        bool sample = false;
        quint64 seed = 0;
        bool translating = false; // Translate (a translation model's target), not a continuation
    };
    std::optional<Generation> m_generating;
    bool m_appendingToken = false; // the text changes by generation, not by the user
    quint64 m_generation = 0;
    std::shared_ptr<std::atomic<bool>> m_cancel;
    QFutureWatcher<Run> m_progressWatcher; // progress of the current background run
    bool m_busy = false;
};

// The caption context of the document's current selection.
FigureContext documentContext(const AttentionDocument &document);

} // namespace studio
