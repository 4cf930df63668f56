// The document alone, without a window: edits, undo across model switches, background runs.
#include "attentiondocument.h"
#include "testsupport.h"

#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>
#include <QThreadPool>

using namespace studio;

namespace {

const QString kData = QStringLiteral(STUDIO_TEST_DATA);
const QString kGpt2 = kData + QStringLiteral("/checkpoints/gpt2-random-tiny");

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
    return changed.wait(10000) && QTest::qWaitFor([&] { return !document.isBusy(); }, 10000);
}

} // namespace

class TestDocument : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
    void undoAfterSwitchingModelsRecomputes();
    void undoOfTheTextWithACheckpointLoaded();
    void staleBackgroundResultsAreDropped();
    void cancelStopsARunningRun();
    void settingsEditsMergeByKindAndDropNoOps();
    void selectionSignalsAreTyped();
    void resultsAreSharedNotCopied();
};

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

QTEST_MAIN(TestDocument)
#include "tst_document.moc"
