// The document alone, without a window: edits, undo across model switches, background runs.
#include "autosave.h"
#include "attentiondocument.h"
#include "translationcheckpoint.h"
#include "attentionflow.h"
#include "flowjob.h"
#include "predictionjob.h"
#include "randomcheckpoint.h"
#include "testsupport.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QSysInfo>
#include <QTemporaryDir>
#include <QStandardPaths>
#include <QTest>

#include <csignal>
#include <sys/resource.h>
#include <QThreadPool>

using namespace studio;

namespace {

const QString kData = QStringLiteral(STUDIO_TEST_DATA);
const QString kGpt2 = kData + QStringLiteral("/checkpoints/gpt2-random-tiny");
const QString kMarian = kData + QStringLiteral("/checkpoints/marian-random-tiny");

// A text long enough for the teaching model to run it in the background (over 256 tokens).
QString longText(const QString &word, int words)
{
    QStringList parts;
    for (int i = 0; i < words; ++i)
        parts.append(word + QString::number(i % 7));
    return parts.join(QLatin1Char(' '));
}

bool openModelAndWait(AttentionDocument &document, const QString &directory)
{
    QSignalSpy changed(&document, &AttentionDocument::modelChanged);
    document.openModel(directory);
    return QTest::qWaitFor([&] { return changed.count() == 1 && !document.isBusy(); }, 30000);
}

} // namespace

class TestDocument : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void translationShowsEachKindOfAttention();
    void translateWritesTheGreedyTargetAStepPerUndo();
    void translationScenesKeepTheirKind();
    void closingDuringARunIsSafe();
    void generationAppendsWhatAFreshRunPredicts();
    void sampledGenerationRepeatsWithItsSeed();
    void generationNeedsALanguageModel();
    void flowIsComputedOnRequestAndResetByANewResult();
    void invisibleTokensAreLabelledVisibly();
    void tenThousandTokensStayResponsiveAndBounded();
    void checkpointRunThatCannotFitIsRefused();
    void newerWorkspaceVersion();
    void twoWindowsSavingTheSameFile();
    void autosaveIsOfferedAfterACrashAndRemovedAfterSave();
    void recoveryKeepsItsFileUntilTheWorkIsSafeAgain();
    void recoveredWorkKeepsItsFileName();
    void autosaveFolderAndLeftoverLocks();
    void initTestCase();
    void cleanup();
    void undoAfterSwitchingModelsRecomputes();
    void undoOfTheTextWithACheckpointLoaded();
    void staleBackgroundResultsAreDropped();
    void cancelStopsARunningRun();
    void settingsEditsMergeByKindAndDropNoOps();
    void selectionSignalsAreTyped();
    void resultsAreSharedNotCopied();
    void scenesAreUndoableAndRestoreTheirState();
    void sceneOnACheckpointOpensItsModelFirst();
    void hiddenWeightsUntilRevealed();
    void challengeScoresTheSelectedHeadAsItIsEdited();
    void scenesAreSavedWithTheWorkspace();
    void temperatureWorksOnACheckpointAndSaysSo();
};

void TestDocument::temperatureWorksOnACheckpointAndSaysSo()
{
    AttentionDocument document;
    QVERIFY(openModelAndWait(document, kGpt2));
    document.editText(QStringLiteral("Hello world, this is a test"));
    QTRY_VERIFY(!document.isBusy());
    const Matrix asTrained = document.result().weights(1, 0);
    QVERIFY(!documentContext(document).model.contains(QStringLiteral("τ")));
    AttentionSettings settings = document.workspace().settings;
    settings.temperature = 0.5;
    document.editSettings(settings, AttentionDocument::SettingsEdit::Temperature);
    QTRY_VERIFY(!document.isBusy());
    QVERIFY(document.result().weights(1, 0) != asTrained);
    // The same numbers as the model run at that temperature directly.
    Result<PreparedInput> input = prepareInput(*document.checkpoint(), QStringLiteral("Hello world, this is a test"));
    input.value->forward.attentionTemperature = 0.5;
    QCOMPARE(document.result().weights(1, 0), document.checkpoint()->model->forward(input.value->forward).attentions[1][0]);
    QCOMPARE(document.selectedDetails().temperature, 0.5);
    // Every caption says it is an experiment.
    QVERIFY2(documentContext(document).model.contains(QStringLiteral("τ = 0.5 (an experiment)")), qPrintable(documentContext(document).model));
    // Undo gives the model as trained back.
    document.undoStack()->undo();
    QTRY_VERIFY(!document.isBusy());
    QCOMPARE(document.result().weights(1, 0), asTrained);
}

void TestDocument::scenesAreUndoableAndRestoreTheirState()
{
    AttentionDocument document;
    document.editText(QStringLiteral("The animal didn't cross the street because it was too tired."));
    document.selectHead(1);
    document.selectQuery(7);
    document.selectKey(1);
    document.setStage(Stage::Scaled);
    std::vector<Scene> scenes{document.captureScene(QStringLiteral("it"), QStringLiteral("steps"))};
    QCOMPARE(scenes[0].state.text, document.workspace().text);
    QCOMPARE(scenes[0].stage, QStringLiteral("scaled"));
    QCOMPARE(scenes[0].head, 1);
    QCOMPARE(scenes[0].query, 7);
    QCOMPARE(scenes[0].key, 1);
    QVERIFY(scenes[0].modelFolder.isEmpty());
    const int before = document.undoStack()->index();
    document.editScenes(scenes, QStringLiteral("Add scene"));
    QCOMPARE(document.undoStack()->index(), before + 1);
    QCOMPARE(document.scenes().size(), size_t(1));
    // The same list again is no step.
    document.editScenes(scenes, QStringLiteral("Add scene"));
    QCOMPARE(document.undoStack()->index(), before + 1);

    // Somewhere else entirely: another sentence, weights, settings and selection.
    document.editText(QStringLiteral("A short one"));
    document.editWeight(0, Projection::Q, 0, 0, 9.5f);
    AttentionSettings settings = document.workspace().settings;
    settings.temperature = 3;
    document.editSettings(settings, AttentionDocument::SettingsEdit::Temperature);
    document.selectHead(0);
    document.setStage(Stage::Embeddings);
    QSignalSpy views(&document, &AttentionDocument::sceneViewRequested);
    document.goToScene(0);
    QCOMPARE(document.workspace().text, scenes[0].state.text);
    QCOMPARE(document.workspace().settings.temperature, 1.0);
    QCOMPARE(document.workspace().heads[0].wQ, scenes[0].state.heads[0].wQ);
    QCOMPARE(document.selectedHead(), 1);
    QCOMPARE(document.selectedQuery(), 7);
    QCOMPARE(document.selectedKey(), 1);
    QCOMPARE(document.stage(), Stage::Scaled);
    QCOMPARE(document.activeScene(), 0);
    QCOMPARE(views.count(), 1);
    QCOMPARE(views.at(0).at(0).toString(), QStringLiteral("steps"));
    QCOMPARE(document.scenes().size(), size_t(1)); // going to a scene keeps the list
    // Going to the scene is one undo step, which brings the edits back.
    QCOMPARE(document.undoStack()->undoText(), QStringLiteral("Go to scene “it”"));
    document.undoStack()->undo();
    QCOMPARE(document.workspace().text, QStringLiteral("A short one"));
    QCOMPARE(document.workspace().heads[0].wQ(0, 0), 9.5f);
    QCOMPARE(document.workspace().settings.temperature, 3.0);
    // Out-of-range scenes are ignored.
    document.goToScene(5);
    document.goToScene(-1);
    QCOMPARE(document.workspace().text, QStringLiteral("A short one"));

    // Moving a scene away from the active index ends it; deleting ends it too.
    document.goToScene(0);
    QCOMPARE(document.activeScene(), 0);
    std::vector<Scene> two = document.scenes();
    two.push_back(document.captureScene(QStringLiteral("second"), QStringLiteral("heatmap")));
    two[1].state.text = QStringLiteral("different");
    document.editScenes(two, QStringLiteral("Add scene"));
    QCOMPARE(document.activeScene(), 0);
    two[0].name = QStringLiteral("renamed");
    QSignalSpy results(&document, &AttentionDocument::resultChanged);
    document.editScenes(two, QStringLiteral("Rename"));
    QCOMPARE(document.activeScene(), 0); // a rename keeps it
    QCOMPARE(results.count(), 0);       // and computes nothing again
    std::swap(two[0], two[1]);
    document.editScenes(two, QStringLiteral("Move"));
    QCOMPARE(document.activeScene(), -1);
    document.undoStack()->undo();
    QCOMPARE(document.scenes()[0].name, QStringLiteral("renamed"));
}

void TestDocument::sceneOnACheckpointOpensItsModelFirst()
{
    AttentionDocument document;
    QVERIFY(openModelAndWait(document, kGpt2));
    document.editText(QStringLiteral("Hello world, this is a test"));
    QTRY_VERIFY(!document.isBusy());
    document.selectHead(1, 1);
    document.selectQuery(3);
    document.setStage(Stage::Weights);
    const Scene scene = document.captureScene(QStringLiteral("gpt2"), QStringLiteral("arcs"));
    QCOMPARE(scene.modelFolder, document.checkpoint()->directory);
    QCOMPARE(scene.layer, 1);
    document.editScenes({scene}, QStringLiteral("Add scene"));
    // Back on the teaching model with other text: the scene reopens the checkpoint, runs its text,
    // then selects its layer, head and query.
    document.useTeachingModel();
    document.editText(QStringLiteral("Something else"));
    QVERIFY(document.isTeaching());
    QSignalSpy models(&document, &AttentionDocument::modelChanged);
    document.goToScene(0);
    QTRY_VERIFY(models.count() > 0);
    QTRY_VERIFY(!document.isBusy());
    QVERIFY(!document.isTeaching());
    QCOMPARE(document.workspace().text, QStringLiteral("Hello world, this is a test"));
    QCOMPARE(document.selectedLayer(), 1);
    QCOMPARE(document.selectedHead(), 1);
    QCOMPARE(document.selectedQuery(), 3);
    QCOMPARE(document.stage(), Stage::Weights);
    QCOMPARE(document.activeScene(), 0);
    // A scene whose model folder is gone says so and leaves the window usable.
    std::vector<Scene> scenes = document.scenes();
    scenes[0].modelFolder = QStringLiteral("/no/such/model");
    document.editScenes(scenes, QStringLiteral("Edit"));
    document.useTeachingModel();
    QSignalSpy failed(&document, &AttentionDocument::modelFailed);
    document.goToScene(0);
    QTRY_COMPARE(failed.count(), 1);
    QVERIFY(document.isTeaching());
    QVERIFY(!document.isBusy());
}

void TestDocument::hiddenWeightsUntilRevealed()
{
    AttentionDocument document;
    document.editText(QStringLiteral("The animal didn't cross the street because it was too tired."));
    document.selectQuery(7);
    Scene scene = document.captureScene(QStringLiteral("predict"), QStringLiteral("heatmap"));
    scene.hideWeights = true;
    document.editScenes({scene}, QStringLiteral("Add scene"));
    QVERIFY(!document.weightsHidden()); // only while the scene is on
    QSignalSpy changes(&document, &AttentionDocument::sceneChanged);
    document.goToScene(0);
    QVERIFY(document.weightsHidden());
    QCOMPARE(document.hiddenQuery(), 7);
    QCOMPARE(documentContext(document).hiddenQuery, 7);
    document.revealWeights();
    QVERIFY(!document.weightsHidden());
    QCOMPARE(documentContext(document).hiddenQuery, -1);
    QVERIFY(changes.count() >= 2);
    // Going to the scene again hides them again; leaving the scene shows them.
    document.goToScene(0);
    QVERIFY(document.weightsHidden());
    document.leaveScene();
    QVERIFY(!document.weightsHidden());
    // Opening another workspace ends the scene.
    document.goToScene(0);
    document.newWorkspace();
    QCOMPARE(document.activeScene(), -1);
    QVERIFY(!document.weightsHidden());
}

void TestDocument::challengeScoresTheSelectedHeadAsItIsEdited()
{
    AttentionDocument document;
    document.editText(QStringLiteral("the cat saw the dog and the bird"));
    QVERIFY(!document.challenge());
    document.selectHead(2); // a random head: far from "previous token"
    Scene scene = document.captureScene(QStringLiteral("make it"), QStringLiteral("heatmap"));
    scene.target = TargetPattern::PreviousToken;
    document.editScenes({scene}, QStringLiteral("Add scene"));
    document.goToScene(0);
    const std::optional<AttentionDocument::Challenge> start = document.challenge();
    QVERIFY(start);
    QCOMPARE(start->pattern, TargetPattern::PreviousToken);
    QCOMPARE(start->target(0, 0), 1.0f);
    QCOMPARE(start->target(3, 2), 1.0f);
    // The score is the divergence of the head's own weights from the target, row by row.
    const Matrix &weights = document.result().weights(0, 2);
    for (int row = 0; row < int(weights.rows()); ++row)
        QCOMPARE(start->score.rows[size_t(row)], jensenShannonBits(weights.row(row), start->target.row(row)));
    QVERIFY(!start->score.reached);
    // Copying the previous-token head's W_Q and W_K into head 2 brings it as close as head 0 is.
    const HeadWeights previous = document.workspace().heads[0];
    HeadWeights edited = document.workspace().heads[2];
    edited.wQ = previous.wQ;
    edited.wK = previous.wK;
    document.editHead(2, edited, QStringLiteral("copy"));
    const std::optional<AttentionDocument::Challenge> after = document.challenge();
    QVERIFY(after);
    QCOMPARE(after->score.mean, scoreAgainstTarget(document.result().weights(0, 0), after->target).mean);
    QVERIFY2(after->score.mean < start->score.mean, qPrintable(QStringLiteral("%1 → %2").arg(start->score.mean).arg(after->score.mean)));
}

void TestDocument::scenesAreSavedWithTheWorkspace()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("lesson.attention.json"));
    {
        AttentionDocument document;
        document.editText(QStringLiteral("one two three"));
        Scene scene = document.captureScene(QStringLiteral("first"), QStringLiteral("grid"));
        scene.target = TargetPattern::Self;
        document.editScenes({scene}, QStringLiteral("Add scene"));
        QVERIFY(document.isModified());
        QVERIFY(document.saveWorkspaceAs(path));
    }
    AttentionDocument reopened;
    QVERIFY_OK(reopened.openWorkspace(path));
    QCOMPARE(reopened.scenes().size(), size_t(1));
    QCOMPARE(reopened.scenes()[0].name, QStringLiteral("first"));
    QCOMPARE(reopened.scenes()[0].view, QStringLiteral("grid"));
    QCOMPARE(reopened.scenes()[0].target, TargetPattern::Self);
    QCOMPARE(reopened.scenes()[0].state.text, QStringLiteral("one two three"));
}

void TestDocument::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QDir(Autosave::folder()).removeRecursively();
}

void TestDocument::cleanup()
{
    QDir(Autosave::folder()).removeRecursively();
}

void TestDocument::undoAfterSwitchingModelsRecomputes()
{
    AttentionDocument document;
    document.editText(QStringLiteral("Hello world"));
    QCOMPARE(document.result().labels, (QStringList{QStringLiteral("Hello"), QStringLiteral("world")}));
    QVERIFY(openModelAndWait(document, kGpt2));
    QVERIFY(!document.isTeaching());
    QCOMPARE(document.result().pieces.join(QString()), QStringLiteral("HelloĠworld"));
    // Undo while the checkpoint is loaded: the text goes back and the checkpoint runs again on it.
    QSignalSpy results(&document, &AttentionDocument::resultChanged);
    document.undoStack()->undo();
    QCOMPARE(document.workspace().text, QStringLiteral("The cat sat on the mat."));
    QTRY_VERIFY(results.count() > 0);
    QTRY_VERIFY(!document.isBusy());
    QCOMPARE(document.result().pieces.join(QString()), QStringLiteral("TheĠcatĠsatĠonĠtheĠmat."));
    // Back on the teaching model, redo applies the text to it.
    document.useTeachingModel();
    document.undoStack()->redo();
    QCOMPARE(document.result().labels, (QStringList{QStringLiteral("Hello"), QStringLiteral("world")}));
}

void TestDocument::undoOfTheTextWithACheckpointLoaded()
{
    // Undo of a whole-workspace step (a weight edit, then a text edit) with a checkpoint loaded:
    // the workspace's text changes and a new result follows; before the fix it changed silently.
    AttentionDocument document;
    QVERIFY(openModelAndWait(document, kGpt2));
    Workspace edited = document.workspace();
    edited.text = QStringLiteral("Hi");
    document.restoreWorkspace(edited, QStringLiteral("restore"));
    QTRY_COMPARE(document.result().pieces.join(QString()), QStringLiteral("Hi"));
    QSignalSpy workspace(&document, &AttentionDocument::workspaceChanged);
    QSignalSpy results(&document, &AttentionDocument::resultChanged);
    document.undoStack()->undo();
    QCOMPARE(workspace.count(), 1);
    QCOMPARE(document.workspace().text, QStringLiteral("The cat sat on the mat."));
    QTRY_VERIFY(results.count() > 0);
    QTRY_VERIFY(!document.isBusy());
    QCOMPARE(document.result().pieces.join(QString()), QStringLiteral("TheĠcatĠsatĠonĠtheĠmat."));
}

void TestDocument::staleBackgroundResultsAreDropped()
{
    AttentionDocument document;
    QSignalSpy results(&document, &AttentionDocument::resultChanged);
    document.editText(longText(QStringLiteral("alpha"), 400)); // background run
    QVERIFY(document.isBusy());
    document.editText(QStringLiteral("short again")); // computed at once; the long run is stale
    QCOMPARE(document.result().labels, (QStringList{QStringLiteral("short"), QStringLiteral("again")}));
    const int delivered = results.count();
    // Give the stale run every chance to finish: it must never replace the newer result.
    QThreadPool::globalInstance()->waitForDone();
    QCoreApplication::processEvents();
    QCoreApplication::processEvents();
    QCOMPARE(results.count(), delivered);
    QCOMPARE(document.result().labels, (QStringList{QStringLiteral("short"), QStringLiteral("again")}));
    QVERIFY(!document.isBusy());
}

void TestDocument::cancelStopsARunningRun()
{
    AttentionDocument document;
    QVERIFY(openModelAndWait(document, kGpt2));
    const QStringList before = document.result().pieces;
    QSignalSpy results(&document, &AttentionDocument::resultChanged);
    document.editText(QStringLiteral("Something else entirely"));
    QVERIFY(document.isBusy());
    document.cancel();
    QVERIFY(!document.isBusy());
    QThreadPool::globalInstance()->waitForDone();
    QCoreApplication::processEvents();
    QCoreApplication::processEvents();
    QCOMPARE(results.count(), 0);            // nothing delivered after the cancel
    QCOMPARE(document.result().pieces, before); // the last complete result stays
}

void TestDocument::settingsEditsMergeByKindAndDropNoOps()
{
    AttentionDocument document;
    QUndoStack *stack = document.undoStack();
    AttentionSettings settings = document.workspace().settings;
    // A slider drag: many temperature edits, one undo step.
    for (double tau : {1.2, 1.5, 2.0}) {
        settings.temperature = tau;
        document.editSettings(settings, AttentionDocument::SettingsEdit::Temperature);
    }
    QCOMPARE(stack->count(), 1);
    // A different setting is a new step, whatever its label would be.
    settings.scale = false;
    document.editSettings(settings, AttentionDocument::SettingsEdit::Scale);
    QCOMPARE(stack->count(), 2);
    settings.mask = MaskMode::Keys;
    document.editSettings(settings, AttentionDocument::SettingsEdit::Mask);
    QCOMPARE(stack->count(), 3);
    // Hiding a key and showing it again is no change at all: the step disappears.
    const AttentionSettings shown = document.workspace().settings;
    document.toggleMaskedKey(2);
    QCOMPARE(stack->count(), 4);
    QCOMPARE(document.workspace().settings.maskedKeys, QList<int>{2});
    document.toggleMaskedKey(2);
    QCOMPARE(stack->count(), 3);
    QVERIFY(document.workspace().settings == shown);
    // Typing a letter and deleting it again leaves no step either.
    document.editText(document.workspace().text + QLatin1Char('x'));
    QCOMPARE(stack->count(), 4);
    document.editText(document.workspace().text.chopped(1));
    QCOMPARE(stack->count(), 3);
    stack->undo();
    stack->undo();
    stack->undo();
    QCOMPARE(document.workspace().settings.temperature, 1.0);
    QVERIFY(document.workspace().settings.scale);
}

void TestDocument::selectionSignalsAreTyped()
{
    AttentionDocument document;
    QSignalSpy heads(&document, &AttentionDocument::headSelected);
    QSignalSpy queries(&document, &AttentionDocument::querySelected);
    QSignalSpy stages(&document, &AttentionDocument::stageChanged);
    document.selectQuery(2);
    document.selectKey(1);
    QCOMPARE(queries.count(), 2);
    QCOMPARE(heads.count(), 0);
    document.selectHead(1);
    QCOMPARE(heads.count(), 1);
    document.setStage(Stage::Scores);
    QCOMPARE(stages.count(), 1);
    QCOMPARE(queries.count(), 2);
    document.selectHead(1); // no change, no signal
    QCOMPARE(heads.count(), 1);
}

void TestDocument::resultsAreSharedNotCopied()
{
    AttentionDocument document;
    const SharedResult result = document.sharedResult();
    // A figure's matrix is the result's own storage, not a copy of it.
    const std::shared_ptr<const Matrix> weights = result->sharedWeights(0, 1);
    QCOMPARE(weights.get(), &result->weights(0, 1));
    QCOMPARE(result->sharedLayer(0)->data(), result->maps->front().data());
    // The result survives the document replacing it while something still refers to it.
    document.editText(QStringLiteral("another sentence"));
    QVERIFY(document.sharedResult() != result);
    QCOMPARE(weights->rows(), 7);
}

void TestDocument::checkpointRunThatCannotFitIsRefused()
{
    // 16 layers × 64 heads over 32,768 tokens need 4.4 TB of maps: the window says so in place of
    // the result, and stays usable: a short text runs normally afterwards.
    QTemporaryDir dir;
    const QString model = dir.filePath(QStringLiteral("wide"));
    QVERIFY_OK(testing::writeRandomGpt2(model, {16, 64, 64, 50257, 32768}));
    AttentionDocument document;
    QVERIFY(openModelAndWait(document, model));
    QSignalSpy notices(&document, &AttentionDocument::noticeChanged);
    document.editText(QStringLiteral(" a").repeated(40000));
    QTRY_VERIFY_WITH_TIMEOUT(!document.isBusy(), 60000);
    QVERIFY2(document.result().notice.contains(QStringLiteral("not enough memory for this run: it needs about 4.4 TB")),
             qPrintable(document.result().notice));
    QVERIFY(!notices.isEmpty());
    QCOMPARE(document.tokenCount(), 0);
    QCOMPARE(document.result().layers, 16);
    document.editText(QStringLiteral("The cat sat on the mat."));
    QTRY_VERIFY_WITH_TIMEOUT(!document.isBusy(), 60000);
    QVERIFY(document.result().notice.isEmpty());
    QCOMPARE(document.tokenCount(), 7);
}

void TestDocument::tenThousandTokensStayResponsiveAndBounded()
{
    QString text;
    for (int i = 0; i < 10000; ++i)
        text += QStringLiteral("word%1 ").arg(i % 50);
    AttentionDocument document;
    QSignalSpy notices(&document, &AttentionDocument::noticeChanged);
    QSignalSpy results(&document, &AttentionDocument::resultChanged);
    document.editText(text);
    // The edit returns before the result exists: the work runs off the GUI thread.
    QVERIFY(document.isBusy());
    QCOMPARE(results.count(), 0);
    QTRY_VERIFY_WITH_TIMEOUT(!document.isBusy(), 60000);
    QCOMPARE(document.tokenCount(), kMaxTeachingTokens);
    QVERIFY(document.result().notice.contains(QStringLiteral("10000 tokens")));
    QVERIFY(!notices.isEmpty());
    // A short edit afterwards is computed at once and clears the notice.
    document.editText(QStringLiteral("short again"));
    QCOMPARE(document.tokenCount(), 2);
    QVERIFY(document.result().notice.isEmpty());
}

void TestDocument::newerWorkspaceVersion()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("future.json"));
    QJsonObject json = workspaceToJson(defaultWorkspace(QStringLiteral("x")));
    json.insert(QStringLiteral("version"), kWorkspaceFormatVersion + 1);
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QJsonDocument(json).toJson());
    file.close();
    AttentionDocument document;
    const QString error = document.openWorkspace(path).error;
    QVERIFY2(error.contains(QStringLiteral("newer version")), qPrintable(error));
    QCOMPARE(document.workspace().text, QStringLiteral("The cat sat on the mat.")); // unchanged
}

void TestDocument::twoWindowsSavingTheSameFile()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("shared.json"));
    QVERIFY_OK(saveWorkspace(defaultWorkspace(QStringLiteral("original")), path));
    AttentionDocument first, second;
    QVERIFY_OK(first.openWorkspace(path));
    QVERIFY_OK(second.openWorkspace(path));
    // The first window's file is longer than the original, so the change is seen by its size even
    // where the file system's times are too coarse to tell the two saves apart.
    first.editText(QStringLiteral("from the first window"));
    QVERIFY_OK(first.saveWorkspaceAs(path));
    second.editText(QStringLiteral("from the second window"));
    const SaveReport conflict = second.saveWorkspaceAs(path);
    QCOMPARE(conflict.outcome, SaveOutcome::Conflict);
    QVERIFY2(conflict.error.contains(QStringLiteral("changed by another window")), qPrintable(conflict.error));
    QVERIFY(loadWorkspace(path).value->text == QStringLiteral("from the first window")); // not overwritten
    QVERIFY_OK(second.saveWorkspaceAs(path, true)); // the user chose to overwrite
    QCOMPARE(loadWorkspace(path).value->text, QStringLiteral("from the second window"));
    QVERIFY(!second.isModified());
}

void TestDocument::autosaveIsOfferedAfterACrashAndRemovedAfterSave()
{
    QString leftover;
    {
        auto *crashed = new AttentionDocument;
        crashed->editText(QStringLiteral("unsaved work"));
        crashed->autosaveNow();
        leftover = crashed->autosavePath();
        QVERIFY(QFile::exists(leftover));
        // While its window lives, nobody else is offered it.
        QVERIFY(!Autosave::recoverable().contains(leftover));
        // The window "crashes": it is never destroyed normally, but its lock goes with the process.
        // Simulated by deleting the document while it is still modified (the autosave stays).
        delete crashed;
    }
    QVERIFY(QFile::exists(leftover));
    QCOMPARE(Autosave::recoverable(), QStringList{leftover});
    AttentionDocument document;
    QVERIFY_OK(document.recoverFrom(leftover));
    QCOMPARE(document.workspace().text, QStringLiteral("unsaved work"));
    QVERIFY(document.isModified());
    // The recovered work is autosaved by its new window at once, and only then is the old file gone.
    QVERIFY(QFile::exists(document.autosavePath()));
    QCOMPARE(loadWorkspace(document.autosavePath()).value->text, QStringLiteral("unsaved work"));
    QVERIFY(!QFile::exists(leftover));
    QTemporaryDir dir;
    QVERIFY_OK(document.saveWorkspaceAs(dir.filePath(QStringLiteral("kept.json"))));
    QVERIFY(!QFile::exists(document.autosavePath()));
    // Undo after saving makes it unsaved again; discarding removes the autosave.
    document.undoStack()->undo();
    document.autosaveNow();
    QVERIFY(QFile::exists(document.autosavePath()));
    document.discardAutosave();
    QVERIFY(!QFile::exists(document.autosavePath()));
    QVERIFY(Autosave::recoverable().isEmpty());
}

void TestDocument::recoveryKeepsItsFileUntilTheWorkIsSafeAgain()
{
    QString leftover;
    {
        AttentionDocument crashed;
        crashed.editText(QStringLiteral("work that must survive"));
        crashed.autosaveNow();
        leftover = crashed.autosavePath();
    } // its window went away while modified: the autosave stays
    QVERIFY(QFile::exists(leftover));
    // The new window cannot write its own autosave (the process may write files of 1 KiB at most,
    // as on a full disk): the recovered work is shown, and the old file stays on disk.
    AttentionDocument document;
    Status recovered;
    {
        const testing::ScopedFileSizeLimit limit(1024, testing::ScopedFileSizeLimit::IgnoreSignal);
        QVERIFY(limit.isSet());
        recovered = document.recoverFrom(leftover);
    }
    QVERIFY2(!recovered, qPrintable(QFileInfo(document.autosavePath()).size() ? QStringLiteral("autosave of %1 bytes").arg(QFileInfo(document.autosavePath()).size()) : QStringLiteral("no autosave")));
    QCOMPARE(document.workspace().text, QStringLiteral("work that must survive"));
    QVERIFY(QFile::exists(leftover));
    QCOMPARE(loadWorkspace(leftover).value->text, QStringLiteral("work that must survive"));
}

void TestDocument::recoveredWorkKeepsItsFileName()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("lesson.attention.json"));
    QString leftover;
    {
        AttentionDocument first;
        first.editText(QStringLiteral("the lesson"));
        QVERIFY_OK(first.saveWorkspaceAs(path));
        first.editText(QStringLiteral("the lesson, changed but not saved"));
        first.autosaveNow();
        leftover = first.autosavePath();
    } // the window went away with unsaved changes
    QCOMPARE(Autosave::sourceOf(leftover).file, QFileInfo(path).absoluteFilePath());
    AttentionDocument document;
    QVERIFY_OK(document.recoverFrom(leftover));
    QCOMPARE(document.currentFile(), QFileInfo(path).absoluteFilePath());
    QVERIFY(document.isModified());
    // Save writes it back to its file, with no conflict: the file is as it was when autosaved.
    QVERIFY_OK(document.saveWorkspaceAs(document.currentFile()));
    QCOMPARE(loadWorkspace(path).value->text, QStringLiteral("the lesson, changed but not saved"));

    // Had the file changed since, saving over it is a conflict.
    {
        AttentionDocument second;
        QVERIFY_OK(second.openWorkspace(path));
        second.editText(QStringLiteral("second unsaved change"));
        second.autosaveNow();
        leftover = second.autosavePath();
    }
    QTest::qWait(20); // a later modification time
    QVERIFY_OK(saveWorkspace(defaultWorkspace(QStringLiteral("written elsewhere meanwhile")), path));
    AttentionDocument third;
    QVERIFY_OK(third.recoverFrom(leftover));
    QCOMPARE(third.saveWorkspaceAs(third.currentFile()).outcome, SaveOutcome::Conflict);
    third.discardAutosave();
}

void TestDocument::autosaveFolderAndLeftoverLocks()
{
    // One folder named after the program, not "Attention Studio/Attention Studio".
    QVERIFY2(Autosave::folder().endsWith(QStringLiteral("/attention-studio/autosave")), qPrintable(Autosave::folder()));
    QVERIFY(!Autosave::folder().contains(QStringLiteral("Attention Studio/Attention Studio")));
    // A window that crashed before its first autosave left a lock alone: it is cleared, while a
    // running window's lock stays.
    QDir().mkpath(Autosave::folder());
    const QString orphan = QDir(Autosave::folder()).filePath(QStringLiteral("0000-orphan.lock"));
    {
        QFile lock(orphan);
        QVERIFY(lock.open(QIODevice::WriteOnly));
        // QLockFile's content: the pid (of no running process), the program, the host.
        lock.write("999999999\nattention-studio\n" + QSysInfo::machineHostName().toUtf8() + "\n");
    }
    AttentionDocument running;
    const QString runningLock = QFileInfo(running.autosavePath()).dir().filePath(QFileInfo(running.autosavePath()).completeBaseName() + QStringLiteral(".lock"));
    QVERIFY(QFile::exists(runningLock));
    QVERIFY(Autosave::recoverable().isEmpty());
    QVERIFY(!QFile::exists(orphan));
    QVERIFY(QFile::exists(runningLock));
}

void TestDocument::invisibleTokensAreLabelledVisibly()
{
    AttentionDocument document;
    document.editText(QStringLiteral("pay\u200Bpal \u202Eevil"));
    QCOMPARE(document.result().labels, (QStringList{QStringLiteral("pay"), QStringLiteral("⟨U+200B⟩"), QStringLiteral("pal"),
                                                    QStringLiteral("⟨U+202E⟩"), QStringLiteral("evil")}));
    QCOMPARE(document.result().pieces.at(1), QStringLiteral("\u200B")); // the model reads the character itself
}

void TestDocument::closingDuringARunIsSafe()
{
    // A window closed while its document still runs: the run ends later, with nobody to deliver to.
    // (Qt 6.4's QFuture::then(context, …) asserted here in debug builds.)
    {
        AttentionDocument document;
        document.editText(longText(QStringLiteral("beta"), 600));
        QVERIFY(document.isBusy());
    }
    {
        AttentionDocument document;
        QVERIFY(openModelAndWait(document, kGpt2));
        document.editText(QStringLiteral("one more run that nobody waits for"));
        QVERIFY(document.isBusy());
    }
    QThreadPool::globalInstance()->waitForDone();
    QCoreApplication::processEvents();
    QCoreApplication::processEvents();
}

void TestDocument::translationShowsEachKindOfAttention()
{
    AttentionDocument document;
    QVERIFY(openModelAndWait(document, kMarian));
    QVERIFY(document.isTranslation() && !document.isTeaching());
    document.editText(QStringLiteral("She sees the small elephant."));
    document.editTextPair(QStringLiteral("Sie sieht."));
    QTRY_VERIFY(!document.isBusy());
    const auto checkpoint = openTranslationCheckpoint(kMarian);
    QVERIFY_OK(checkpoint);
    const auto prepared = prepareTranslation(**checkpoint.value, QStringLiteral("She sees the small elephant."), QStringLiteral("Sie sieht."));
    QVERIFY_OK(prepared);
    const TranslationTrace trace = (*checkpoint.value)->model->forward(prepared.value->input);
    const int source = int(prepared.value->input.sourceIds.size());
    const int target = int(prepared.value->input.decoderIds.size());
    // Cross-attention first: target rows, source columns, the same numbers as the model's own run.
    QCOMPARE(document.attentionKind(), AttentionKind::Cross);
    QCOMPARE(document.tokenCount(), target);
    QCOMPARE(document.result().keyCount(), source);
    QCOMPARE(document.result().labels.first(), QStringLiteral("<pad>"));
    QCOMPARE(document.result().columnLabels().last(), QStringLiteral("</s>"));
    QVERIFY(document.result().weights(1, 2) == (*trace.cross)[1][2]);
    // The key selection follows the source's length, not the target's (here the longer).
    QVERIFY(source > target);
    document.selectKey(source - 1);
    QCOMPARE(document.selectedKey(), source - 1);
    // The step-through's head: q from the decoder, k and v from the encoder's output.
    document.selectHead(1, 2);
    const HeadDetails &cross = document.selectedDetails();
    QCOMPARE(cross.trace.q.rows(), Eigen::Index(target));
    QCOMPARE(cross.trace.k.rows(), Eigen::Index(source));
    QCOMPARE(cross.keyInput.rows(), Eigen::Index(source));
    QVERIFY(cross.trace.weights == (*trace.cross)[1][2]);
    // The other kinds, from the same run.
    QSignalSpy kinds(&document, &AttentionDocument::attentionKindChanged);
    document.selectAttentionKind(AttentionKind::Encoder);
    QCOMPARE(kinds.count(), 1);
    QCOMPARE(document.tokenCount(), source);
    QVERIFY(document.result().keyLabels.isEmpty());
    QVERIFY(document.result().weights(0, 1) == (*trace.encoder)[0][1]);
    QVERIFY(document.selectedKey() < source);
    document.selectAttentionKind(AttentionKind::Decoder);
    QCOMPARE(document.tokenCount(), target);
    QVERIFY(document.result().weights(1, 0) == (*trace.decoder)[1][0]);
    QVERIFY(document.selectedKey() < target);
    QCOMPARE(document.selectedDetails().trace.k.rows(), Eigen::Index(target));
    // Next-token prediction and comparison belong to single-stack models; nothing crashes asking.
    QVERIFY(!document.predictionJob()->available());
    document.generate(2, {}, false, 0);
    QTRY_VERIFY(!document.isGenerating());
    QVERIFY(document.modelDescription().contains(QStringLiteral("Marian")));
    // Back to the teaching model.
    document.useTeachingModel();
    QTRY_VERIFY(!document.isBusy());
    QVERIFY(!document.isTranslation());
    QVERIFY(!document.result().attentionKind.has_value());
}

void TestDocument::translateWritesTheGreedyTargetAStepPerUndo()
{
    const QJsonObject reference = [] {
        QFile file(kData + QStringLiteral("/reference/marian-random-tiny.json"));
        return file.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(file.readAll()).object() : QJsonObject();
    }();
    std::vector<int> greedy;
    for (const QJsonValue &id : reference.value(QStringLiteral("greedy")).toObject().value(QStringLiteral("ids")).toArray())
        greedy.push_back(id.toInt());
    QCOMPARE(int(greedy.size()), 8);
    AttentionDocument document;
    QVERIFY(openModelAndWait(document, kMarian));
    document.editText(reference.value(QStringLiteral("source_text")).toString());
    document.editTextPair(QStringLiteral("typed first"));
    QTRY_VERIFY(!document.isBusy());
    const int undoBefore = document.undoStack()->index();
    QSignalSpy stopped(&document, &AttentionDocument::generationStopped);
    document.translate(5);
    QVERIFY(document.isGenerating());
    QTRY_VERIFY_WITH_TIMEOUT(!document.isGenerating() && !document.isBusy(), 30000);
    // One undo step clears the typed target, then one per token: the reference's greedy ids.
    QCOMPARE(document.undoStack()->index(), undoBefore + 1 + 5);
    QVERIFY(document.target().ids.has_value());
    QCOMPARE(*document.target().ids, std::vector<int>(greedy.begin(), greedy.begin() + 5));
    QVERIFY(!document.target().text.isEmpty());
    // The views show the decoder reading [start] + those ids.
    QCOMPARE(document.tokenCount(), 6);
    QCOMPARE(document.result().pieces.first(), QStringLiteral("<pad>"));
    QVERIFY(document.undoStack()->undoText().startsWith(QStringLiteral("Translate")));
    // Undo removes a step, and the views follow.
    document.undoStack()->undo();
    QTRY_VERIFY(!document.isBusy());
    QCOMPARE(*document.target().ids, std::vector<int>(greedy.begin(), greedy.begin() + 4));
    QCOMPARE(document.tokenCount(), 5);
    // Typing a target replaces the translation with the typed text (teacher forcing).
    document.editTextPair(QStringLiteral("Die Katze"));
    QTRY_VERIFY(!document.isBusy());
    QVERIFY(!document.target().ids.has_value());
    QCOMPARE(document.target().text, QStringLiteral("Die Katze"));
    document.undoStack()->undo();
    QTRY_VERIFY(!document.isBusy());
    QCOMPARE(*document.target().ids, std::vector<int>(greedy.begin(), greedy.begin() + 4));
    // An edit of the source during a translation stops it.
    document.translate(8);
    QVERIFY(document.isGenerating());
    document.editText(QStringLiteral("The cat."));
    QVERIFY(!document.isGenerating());
    QTRY_VERIFY(!document.isBusy());
}

void TestDocument::translationScenesKeepTheirKind()
{
    AttentionDocument document;
    QVERIFY(openModelAndWait(document, kMarian));
    document.editText(QStringLiteral("The cat sleeps."));
    document.editTextPair(QStringLiteral("Die Katze schläft."));
    QTRY_VERIFY(!document.isBusy());
    document.selectAttentionKind(AttentionKind::Encoder);
    document.selectHead(1, 3);
    const Scene scene = document.captureScene(QStringLiteral("encoder"), QStringLiteral("heatmap"));
    QCOMPARE(scene.attentionKind, QStringLiteral("encoder"));
    QCOMPARE(scene.textPair, QStringLiteral("Die Katze schläft."));
    document.editScenes({scene}, QStringLiteral("Add scene"));
    // Elsewhere: the teaching model, then back to the scene.
    document.useTeachingModel();
    QTRY_VERIFY(!document.isBusy());
    document.goToScene(0);
    QTRY_VERIFY_WITH_TIMEOUT(document.isTranslation() && !document.isBusy() && document.selectedLayer() == 1, 30000);
    QCOMPARE(document.attentionKind(), AttentionKind::Encoder);
    QCOMPARE(document.selectedHead(), 3);
    QCOMPARE(document.textPair(), QStringLiteral("Die Katze schläft."));
    QVERIFY(document.result().attentionKind == AttentionKind::Encoder);
}

void TestDocument::generationAppendsWhatAFreshRunPredicts()
{
    AttentionDocument document;
    QVERIFY(openModelAndWait(document, kGpt2));
    const auto checkpoint = openCheckpoint(kGpt2);
    QVERIFY_OK(checkpoint);
    const Checkpoint &c = **checkpoint.value;
    document.editText(QStringLiteral("The animal didn't cross the street because"));
    QTRY_VERIFY(!document.isBusy());
    const QString start = document.workspace().text;
    const int undoBefore = document.undoStack()->index();
    QSignalSpy changes(&document, &AttentionDocument::generationChanged);
    document.generate(3, {}, false, 0);
    QVERIFY(document.isGenerating());
    QTRY_VERIFY_WITH_TIMEOUT(!document.isGenerating() && !document.isBusy(), 30000);
    QCOMPARE(document.undoStack()->index(), undoBefore + 3); // one step per token
    QVERIFY(changes.count() >= 4);
    // Each appended piece is the greedy choice of a fresh forward pass over the text before it.
    QString text = start;
    for (int step = 0; step < 3; ++step) {
        const auto input = prepareInput(c, text);
        QVERIFY_OK(input);
        ForwardOptions options;
        options.keepFinalHidden = true;
        const ModelTrace trace = c.model->forward(input.value->forward, options);
        const int id = greedyToken(c.model->logits(trace.finalHidden.row(trace.finalHidden.rows() - 1)));
        text += QString::fromUtf8(c.tokenizer->tokenText(c.tokenizer->tokenForId(id)));
    }
    QCOMPARE(document.workspace().text, text);
    // The views show the fresh run of the longer text.
    const auto input = prepareInput(c, text);
    QVERIFY_OK(input);
    QCOMPARE(document.tokenCount(), int(input.value->encoding.ids.size()));
    const ModelTrace fresh = c.model->forward(input.value->forward);
    QVERIFY(document.result().weights(1, 3) == fresh.attentions[1][3]);
    // Undo removes the last token.
    document.undoStack()->undo();
    QTRY_VERIFY(!document.isBusy());
    QVERIFY(document.workspace().text.size() < text.size());
    QVERIFY(text.startsWith(document.workspace().text));
    QVERIFY(document.undoStack()->undoText().startsWith(QStringLiteral("Generate")));
}

void TestDocument::sampledGenerationRepeatsWithItsSeed()
{
    AttentionDocument document;
    QVERIFY(openModelAndWait(document, kGpt2));
    document.editText(QStringLiteral("Hello world, this is"));
    QTRY_VERIFY(!document.isBusy());
    // A warm temperature, so that the draw matters.
    const SamplingSettings warm{3.0, 0, 1.0};
    auto run = [&](quint64 seed) {
        const int index = document.undoStack()->index();
        document.generate(4, warm, true, seed);
        [&] { QTRY_VERIFY_WITH_TIMEOUT(!document.isGenerating() && !document.isBusy(), 30000); }();
        const QString text = document.workspace().text;
        while (document.undoStack()->index() > index)
            document.undoStack()->undo();
        [&] { QTRY_VERIFY(!document.isBusy()); }();
        return text;
    };
    const QString first = run(7);
    QCOMPARE(document.workspace().text, QStringLiteral("Hello world, this is"));
    QCOMPARE(run(7), first);
    QStringList others;
    for (quint64 seed = 8; seed < 12; ++seed)
        others.append(run(seed));
    QVERIFY2(std::any_of(others.begin(), others.end(), [&](const QString &t) { return t != first; }), qPrintable(first));
    // Stop ends it at once; an edit by the user ends it too.
    document.generate(50, warm, true, 1);
    document.editText(QStringLiteral("Typed"));
    QVERIFY(!document.isGenerating());
}

void TestDocument::generationNeedsALanguageModel()
{
    AttentionDocument teaching;
    QSignalSpy stopped(&teaching, &AttentionDocument::generationStopped);
    teaching.generate(2, {}, false, 0);
    QCOMPARE(stopped.count(), 1);
    QVERIFY(stopped.first().first().toString().contains(QStringLiteral("no vocabulary")));
    QVERIFY(!teaching.isGenerating());
    QCOMPARE(teaching.workspace().text, QStringLiteral("The cat sat on the mat."));

    AttentionDocument bert;
    QVERIFY(openModelAndWait(bert, kData + QStringLiteral("/checkpoints/bert-random-tiny")));
    QSignalSpy bertStopped(&bert, &AttentionDocument::generationStopped);
    bert.generate(2, {}, false, 0);
    QTRY_COMPARE(bertStopped.count(), 1);
    QVERIFY(bertStopped.first().first().toString().contains(QStringLiteral("not a left-to-right language model")));
}

void TestDocument::flowIsComputedOnRequestAndResetByANewResult()
{
    AttentionDocument document;
    QVERIFY(openModelAndWait(document, kGpt2));
    document.editText(QStringLiteral("The animal didn't cross the street"));
    QTRY_VERIFY(!document.isBusy());
    FlowJob *job = document.flowJob();
    QCOMPARE(job->state(), FlowJob::State::Idle);
    job->request();
    QCOMPARE(job->state(), FlowJob::State::Running);
    QTRY_COMPARE(job->state(), FlowJob::State::Ready);
    const auto expected = attentionFlow(*document.result().maps);
    QVERIFY(expected && *job->flow() == *expected);
    document.editText(QStringLiteral("Another sentence"));
    QTRY_VERIFY(!document.isBusy());
    QCOMPARE(job->state(), FlowJob::State::Idle);
    QVERIFY(!job->flow());
    // A text too long for the window's limit is refused with the estimate (the teaching model's
    // one layer reaches it past 211 tokens).
    AttentionDocument teaching;
    teaching.editText(longText(QStringLiteral("w"), 300));
    QTRY_VERIFY_WITH_TIMEOUT(!teaching.isBusy(), 30000);
    QCOMPARE(teaching.tokenCount(), 300);
    QCOMPARE(teaching.flowJob()->state(), FlowJob::State::TooLarge);
    QVERIFY(teaching.flowJob()->statusText().contains(QStringLiteral("trace --aggregate flow")));
    teaching.flowJob()->request();
    QCOMPARE(teaching.flowJob()->state(), FlowJob::State::TooLarge);
}

QTEST_MAIN(TestDocument)
#include "tst_document.moc"
