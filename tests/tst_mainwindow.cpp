#include "aggregation.h"
#include "arcview.h"
#include "attentiondocument.h"
#include "comparisonpanel.h"
#include "controlspanel.h"
#include "flowjob.h"
#include "distributionchart.h"
#include "downloaddialog.h"
#include "exportactions.h"
#include "heatmapview.h"
#include "mainwindow.h"
#include "predictionpanel.h"
#include "presenterfit.h"
#include "presenterwindow.h"
#include "scenespanel.h"
#include "modelgridview.h"
#include "stepexplainer.h"
#include "stepthroughview.h"
#include "viewoptions.h"
#include "weighteditor.h"
#include "fakehub.h"
#include "figuresupport.h"
#include "testsupport.h"

#include <QAbstractButton>
#include <QCheckBox>
#include <QListWidget>
#include <QPainter>
#include <QProcess>
#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTableView>
#include <QTest>
#include <QToolButton>
#include <QTreeWidget>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QTextBrowser>
#include <QSpinBox>
#include <QScopeGuard>
#include <QXmlStreamReader>

using namespace studio;
using studio::testing::opensAs;

namespace {

void raiseDock(QMainWindow *window, const QString &name)
{
    if (auto *dock = window->findChild<QDockWidget *>(name)) {
        dock->raise();
        QApplication::processEvents();
    }
}

} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void translationModelInTheWindow();
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
    void init();
    void typingRecomputesEveryView();
    void weightEditorKeepsTheExactFloat();
    void rotaryModelHasItsRopeStage();
    void predictionPanelShowsAndGenerates();
    void heatmapShowsTheAnalyses();
    void comparingTwoSentences();
    void clickingACellSelectsTheQueryEverywhere();
    void choosingAHeadShowsItEverywhere();
    void editingAWeightChangesTheTraceAndUndoRestoresIt();
    void nonFiniteWeightsAreShownAndKeptOutOfFiles();
    void scrubDragIsOneUndoStep();
    void weightModelIsAWellBehavedModel();
    void stepThroughShowsTheRightStage();
    void temperatureDragIsOneUndoStep();
    void ctrlClickHidesAKey();
    void dimensionsChangeAndUndo();
    void exportsWriteFilesThatOpen_data();
    void exportsWriteFilesThatOpen();
    void exportAllHeadsAndMatrices();
    void saveMarksCleanAndOpenRestores();
    void loadedCheckpointWorksInEveryView();
    void textLongerThanTheModelIsCutWithANotice();
    void badModelFolderShowsAMessage();
    void longTextsAreKeptWhole();
    void largeThumbnailsArriveFromAWorker();
    void downloadDialogFetchesAndOpensAModel();
    void clickerKeysStepWhateverHasFocus();
    void helpMenuHasAQuickStartAndTheShortcuts();
    void presenterModeStepsWithAClicker();
    void presenterModeReadsFromTheBackRow();
    void scenesPlayInPresenterModeAndRevealOnCue();
    void challengePanelFollowsTheEdits();
    void handoutHasAPagePerScene();
    void textTheTokenizerRefusesIsExplainedInTheView();
    void projectorWindowLabelsEveryToken();
    void exportSaysWhichViewItWrites();
    void distributionLabelsAreWholeTokens();
    void weightTooltipWritesTheSoftmaxOut();

private:
    std::unique_ptr<MainWindow> m_window;
};

void TestMainWindow::init()
{
    m_window = std::make_unique<MainWindow>();
    m_window->resize(1400, 900);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
}

void TestMainWindow::typingRecomputesEveryView()
{
    auto *sentence = m_window->findChild<QLineEdit *>(QStringLiteral("sentence"));
    QVERIFY(sentence);
    QCOMPARE(m_window->heatmap()->figure().rowLabels.size(), 7); // The cat sat on the mat .
    QSignalSpy spy(m_window->document(), &AttentionDocument::resultChanged);
    sentence->selectAll();
    QTest::keyClicks(sentence, QStringLiteral("a dog ran"));
    QVERIFY(spy.count() >= 1);
    const QStringList tokens{QStringLiteral("a"), QStringLiteral("dog"), QStringLiteral("ran")};
    QCOMPARE(m_window->document()->workspace().text, QStringLiteral("a dog ran"));
    QCOMPARE(m_window->heatmap()->figure().rowLabels, tokens);
    QCOMPARE(m_window->heatmap()->figure().values(), m_window->document()->teachingTrace().heads[0].weights);
    QCOMPARE(m_window->arcs()->canvas()->figure().labels, tokens);
    QCOMPARE(m_window->steps()->canvas()->figure().rowLabels, tokens);
    // Views in hidden tabs catch up when shown.
    raiseDock(m_window.get(), QStringLiteral("chartDock"));
    QCOMPARE(m_window->chart()->values().size(), 3);
}

void TestMainWindow::clickingACellSelectsTheQueryEverywhere()
{
    HeatmapView *heatmap = m_window->heatmap();
    const HeatmapLayout layout = heatmap->currentLayout();
    QVERIFY(layout.cellSize() > 4);
    QTest::mouseClick(heatmap, Qt::LeftButton, {}, layout.cellRect(3, 5).center().toPoint());
    AttentionDocument *document = m_window->document();
    QCOMPARE(document->selectedQuery(), 3);
    QCOMPARE(document->selectedKey(), 5);
    QCOMPARE(heatmap->figure().selectedRow, 3);
    QCOMPARE(m_window->steps()->canvas()->figure().selectedRow, 3);
    raiseDock(m_window.get(), QStringLiteral("chartDock"));
    QVERIFY(m_window->chart()->title().contains(QStringLiteral("Query 3 “on”")));
    const Matrix &weights = document->result().weights(0, 0);
    const QList<double> bars = m_window->chart()->values();
    for (int k = 0; k < 7; ++k)
        QCOMPARE(float(bars.at(k)), weights(3, k));
    QVERIFY(m_window->steps()->explanationHtml().contains(QStringLiteral("position 3")));
    // Keyboard: Down moves the query.
    heatmap->setFocus();
    QTest::keyClick(heatmap, Qt::Key_Down);
    QCOMPARE(document->selectedQuery(), 4);
}

void TestMainWindow::choosingAHeadShowsItEverywhere()
{
    raiseDock(m_window.get(), QStringLiteral("gridDock"));
    auto *head = m_window->findChild<QComboBox *>(QStringLiteral("head"));
    QCOMPARE(head->count(), 3);
    QTest::mouseClick(m_window->grid(), Qt::LeftButton, {}, m_window->grid()->currentLayout().cell(0, 2).center().toPoint());
    QCOMPARE(m_window->document()->selectedHead(), 2);
    QCOMPARE(head->currentIndex(), 2);
    QCOMPARE(m_window->heatmap()->figure().values(), m_window->document()->teachingTrace().heads[2].weights);
    QCOMPARE(m_window->weights()->model(Projection::Q)->valueAt(m_window->weights()->model(Projection::Q)->index(0, 0)),
             m_window->document()->workspace().heads[2].wQ(0, 0));
}

void TestMainWindow::editingAWeightChangesTheTraceAndUndoRestoresIt()
{
    AttentionDocument *document = m_window->document();
    WeightTableModel *wq = m_window->weights()->model(Projection::Q);
    const Matrix before = document->teachingTrace().heads[0].scores;
    const float original = document->workspace().heads[0].wQ(0, 0);
    QVERIFY(wq->setData(wq->index(0, 0), QStringLiteral("2.5"), Qt::EditRole));
    QCOMPARE(document->workspace().heads[0].wQ(0, 0), 2.5f);
    QVERIFY(document->teachingTrace().heads[0].scores != before);
    QCOMPARE(m_window->heatmap()->figure().values(), document->teachingTrace().heads[0].weights);
    // Text that is not a number never enters the model.
    QVERIFY(!wq->setData(wq->index(0, 1), QStringLiteral("abc"), Qt::EditRole));
    QVERIFY(!wq->setData(wq->index(0, 1), QStringLiteral("1e39"), Qt::EditRole)); // beyond float
    document->undoStack()->undo();
    QCOMPARE(document->workspace().heads[0].wQ(0, 0), original);
    QCOMPARE(document->teachingTrace().heads[0].scores, before);
    document->undoStack()->redo();
    QCOMPARE(document->workspace().heads[0].wQ(0, 0), 2.5f);
}

void TestMainWindow::weightEditorKeepsTheExactFloat()
{
    // Through the table's own editor, as a user double-clicks a cell and presses Enter.
    AttentionDocument *document = m_window->document();
    raiseDock(m_window.get(), QStringLiteral("weightDock"));
    QTableView *table = m_window->weights()->table(Projection::Q);
    WeightTableModel *wq = m_window->weights()->model(Projection::Q);
    const QModelIndex cell = wq->index(1, 0);
    const int head = document->selectedHead();
    auto stored = [&] { return document->workspace().heads[size_t(head)].wQ(1, 0); };
    auto sameBits = [](float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; };
    // The delegate commits on Enter through a queued call: let it run before looking.
    auto pressEnter = [](QLineEdit *editor) {
        QTest::keyClick(editor, Qt::Key_Return);
        QCoreApplication::processEvents();
    };
    auto openEditor = [&]() -> QLineEdit * {
        table->edit(cell);
        for (QLineEdit *editor : table->viewport()->findChildren<QLineEdit *>())
            if (editor->isVisible())
                return editor;
        return nullptr;
    };
    // Enter on an untouched cell: the exact value shown, kept, and no undo step.
    const float original = stored();
    const int steps = document->undoStack()->index();
    QLineEdit *editor = openEditor();
    QVERIFY(editor);
    QCOMPARE(editor->text(), exactFloatText(original));
    QVERIFY(sameBits(editor->text().toFloat(), original));
    pressEnter(editor);
    QVERIFY(sameBits(stored(), original));
    QCOMPARE(document->undoStack()->index(), steps);
    // Typed values keep every digit, scientific notation, NaN, ±∞ and the typographic minus.
    const std::vector<std::pair<QString, float>> typed{
        {QStringLiteral("0.125"), 0.125f}, {QStringLiteral("1e9"), 1e9f}, {QStringLiteral("-inf"), -std::numeric_limits<float>::infinity()},
        {QStringLiteral("inf"), std::numeric_limits<float>::infinity()}, {QStringLiteral("−2.5"), -2.5f},
        {QStringLiteral("0.1"), 0.1f}};
    for (const auto &[text, expected] : typed) {
        editor = openEditor();
        QVERIFY(editor);
        editor->selectAll();
        editor->insert(text); // as typed (QTest cannot type the typographic minus)
        pressEnter(editor);
        QVERIFY2(sameBits(stored(), expected), qPrintable(text + QStringLiteral(" stored as ") + exactFloatText(stored())));
    }
    editor = openEditor();
    QVERIFY(editor);
    QCOMPARE(editor->text(), QStringLiteral("0.1")); // the shortest text, not 0.100000001
    editor->selectAll();
    QTest::keyClicks(editor, QStringLiteral("nan"));
    pressEnter(editor);
    QVERIFY(std::isnan(stored()));
    QCOMPARE(document->undoStack()->index(), steps + int(typed.size()) + 1); // one step per typed value
    while (document->undoStack()->index() > steps)
        document->undoStack()->undo();
    QVERIFY(sameBits(stored(), original));
}

void TestMainWindow::nonFiniteWeightsAreShownAndKeptOutOfFiles()
{
    AttentionDocument *document = m_window->document();
    WeightTableModel *wk = m_window->weights()->model(Projection::K);
    QVERIFY(wk->setData(wk->index(0, 0), QStringLiteral("nan"), Qt::EditRole));
    QVERIFY(std::isnan(document->workspace().heads[0].wK(0, 0)));
    // Rows whose scores used the NaN are undefined, shown as such, and the window says why.
    const Matrix &w = document->result().weights(0, 0);
    QVERIFY(w.array().isNaN().any());
    QCOMPARE(heatmapBodyImage(m_window->heatmap()->figure()).pixel(0, 0), ColorMap::kInvalid);
    QVERIFY(m_window->findChild<QLabel *>(QStringLiteral("notice"))->text().contains(QStringLiteral("w_k[0][0] is NaN")));
    QCOMPARE(wk->data(wk->index(0, 0), Qt::BackgroundRole).value<QColor>(), QColor(255, 120, 120));
    // The other heads keep working.
    QVERIFY(document->result().weights(0, 1).allFinite());
    // Saving refuses and says which weight; nothing is written.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("nan.json"));
    QVERIFY(document->saveWorkspaceAs(path).error.contains(QStringLiteral("w_k[0][0] is NaN")));
    QVERIFY(!QFile::exists(path));
    // Infinite and huge weights: scores overflow, the row shares its weight among the overflowing keys.
    QVERIFY(wk->setData(wk->index(0, 0), QStringLiteral("1e30"), Qt::EditRole));
    QVERIFY(wk->setData(wk->index(1, 1), QStringLiteral("-inf"), Qt::EditRole));
    for (int i = 0; i < document->result().weights(0, 0).rows(); ++i) {
        const auto row = document->result().weights(0, 0).row(i);
        QVERIFY(row.allFinite() || row.array().isNaN().all());
    }
    for (int k = 0; k < 3; ++k)
        document->undoStack()->undo();
    QVERIFY(document->result().weights(0, 0).allFinite());
    QVERIFY(m_window->findChild<QLabel *>(QStringLiteral("notice"))->text().isEmpty());
}

void TestMainWindow::scrubDragIsOneUndoStep()
{
    AttentionDocument *document = m_window->document();
    QTableView *table = m_window->weights()->table(Projection::K);
    const QRect cell = table->visualRect(table->model()->index(2, 1));
    QVERIFY(cell.isValid());
    const float start = document->workspace().heads[0].wK(2, 1);
    const int steps = document->undoStack()->count();
    QTest::mousePress(table->viewport(), Qt::LeftButton, {}, cell.center());
    for (int dy = 2; dy <= 20; dy += 2) {
        QMouseEvent move(QEvent::MouseMove, QPointF(cell.center().x(), cell.center().y() - dy), table->viewport()->mapToGlobal(QPointF(cell.center().x(), cell.center().y() - dy)),
                         Qt::NoButton, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(table->viewport(), &move);
    }
    QTest::mouseRelease(table->viewport(), Qt::LeftButton, {}, QPoint(cell.center().x(), cell.center().y() - 20));
    // 20 px up at 0.01 per pixel.
    QVERIFY(std::abs(document->workspace().heads[0].wK(2, 1) - (start + 0.2f)) < 1e-5f);
    QCOMPARE(document->undoStack()->count(), steps + 1);
    document->undoStack()->undo();
    QCOMPARE(document->workspace().heads[0].wK(2, 1), start);
}

void TestMainWindow::weightModelIsAWellBehavedModel()
{
    QAbstractItemModelTester tester(m_window->weights()->model(Projection::V), QAbstractItemModelTester::FailureReportingMode::QtTest);
    m_window->document()->selectHead(1);
    m_window->document()->editText(QStringLiteral("new words here"));
    m_window->document()->editConfig(TeachingConfig{12, 6, 2, true});
    QCOMPARE(m_window->weights()->model(Projection::V)->rowCount(), 12);
    QCOMPARE(m_window->weights()->model(Projection::V)->columnCount(), 6);
}

void TestMainWindow::stepThroughShowsTheRightStage()
{
    AttentionDocument *document = m_window->document();
    StepThroughView *steps = m_window->steps();
    document->selectQuery(1);
    document->selectKey(0);
    auto *scoresButton = steps->findChild<QAbstractButton *>(QStringLiteral("stage-scores"));
    QVERIFY(scoresButton);
    QTest::mouseClick(scoresButton, Qt::LeftButton);
    QCOMPARE(document->stage(), Stage::Scores);
    QVERIFY(steps->formulaText().contains(QStringLiteral("scores = q·kᵀ")));
    const HeadTrace &t = document->teachingTrace().heads[0];
    QCOMPARE(steps->canvas()->figure().values(), t.scores);
    // The dot product is written out with the score it sums to.
    QVERIFY(steps->explanationHtml().contains(number(t.scores(1, 0))));
    steps->next();
    QCOMPARE(document->stage(), Stage::Scaled);
    QCOMPARE(steps->canvas()->figure().values(), t.scaled);
    steps->next();
    steps->next();
    QCOMPARE(document->stage(), Stage::Weights);
    QVERIFY(steps->explanationHtml().contains(number(t.weights(1, 0))));
    steps->next();
    QCOMPARE(document->stage(), Stage::Output);
    QCOMPARE(steps->canvas()->figure().values(), t.output);
    // Then the rest of the teaching block: the heads through W_O, the residual add, and no further.
    steps->next();
    QCOMPARE(document->stage(), Stage::HeadsOut);
    QCOMPARE(steps->canvas()->figure().values(), document->teachingTrace().attentionOut);
    steps->next();
    steps->next(); // stays on the last stage
    QCOMPARE(document->stage(), Stage::Residual);
    QCOMPARE(steps->canvas()->figure().values(), Matrix(document->teachingTrace().input + document->teachingTrace().attentionOut));
    for (int s = 0; s < kStageCount; ++s)
        steps->previous();
    QCOMPARE(document->stage(), Stage::Embeddings);
    QCOMPARE(steps->canvas()->figure().values(), document->teachingTrace().input);
}

void TestMainWindow::temperatureDragIsOneUndoStep()
{
    AttentionDocument *document = m_window->document();
    auto *slider = m_window->findChild<QSlider *>(QStringLiteral("temperatureSlider"));
    QVERIFY(slider);
    const int steps = document->undoStack()->count();
    for (int position : {10, 20, 40, 100})
        slider->setValue(position);
    QCOMPARE(document->undoStack()->count(), steps + 1);
    QVERIFY(std::abs(document->workspace().settings.temperature - 10.0) < 1e-9);
    raiseDock(m_window.get(), QStringLiteral("chartDock"));
    QCOMPARE(m_window->chart()->barSetCount(), 2); // the row at τ = 1 for comparison
    document->undoStack()->undo();
    QCOMPARE(document->workspace().settings.temperature, 1.0);
    QCOMPARE(slider->value(), 0); // the control followed the document back
    QCOMPARE(m_window->chart()->barSetCount(), 1);
}

void TestMainWindow::ctrlClickHidesAKey()
{
    // With the causal mask on, Ctrl+click hides a key as well: the two combine.
    AttentionSettings causal = m_window->document()->workspace().settings;
    causal.mask = MaskMode::Causal;
    m_window->document()->editSettings(causal, AttentionDocument::SettingsEdit::Mask);
    HeatmapView *heatmap = m_window->heatmap();
    QTest::mouseClick(heatmap, Qt::LeftButton, Qt::ControlModifier, heatmap->currentLayout().cellRect(0, 2).center().toPoint());
    const AttentionSettings &settings = m_window->document()->workspace().settings;
    QCOMPARE(settings.mask, MaskMode::Causal);
    QCOMPARE(settings.maskedKeys, QList<int>{2});
    const Matrix &w = m_window->document()->result().weights(0, 1);
    for (int q = 0; q < w.rows(); ++q) {
        QVERIFY(w(q, 2) == 0.0f); // hidden
        for (int k = q + 1; k < w.cols(); ++k)
            QVERIFY(w(q, k) == 0.0f); // in the future
        if (q != 2)
            QVERIFY(std::abs(w.row(q).sum() - 1.0f) < 1e-6f);
    }
}

void TestMainWindow::dimensionsChangeAndUndo()
{
    auto *dModel = m_window->findChild<QSpinBox *>(QStringLiteral("dModel"));
    auto *heads = m_window->findChild<QSpinBox *>(QStringLiteral("heads"));
    QCOMPARE(dModel->value(), 16);
    dModel->setValue(24);
    QCOMPARE(m_window->document()->workspace().config.dModel, 24);
    QCOMPARE(m_window->document()->teachingTrace().input.cols(), 24);
    heads->setValue(5);
    QCOMPARE(m_window->document()->result().heads, 5);
    QCOMPARE(m_window->findChild<QComboBox *>(QStringLiteral("head"))->count(), 5);
    m_window->document()->undoStack()->undo();
    m_window->document()->undoStack()->undo();
    QCOMPARE(m_window->document()->workspace().config, TeachingConfig{});
    QCOMPARE(dModel->value(), 16);
}

void TestMainWindow::exportsWriteFilesThatOpen_data()
{
    QTest::addColumn<int>("kind");
    QTest::addColumn<int>("format");
    for (FigureKind kind : kFigureKinds)
        for (FigureFormat format : {FigureFormat::Png, FigureFormat::Svg, FigureFormat::Pdf})
            QTest::addRow("%s %s", qPrintable(figureKindName(kind)), qPrintable(figureFormatName(format))) << int(kind) << int(format);
}

void TestMainWindow::exportsWriteFilesThatOpen()
{
    QFETCH(int, kind);
    QFETCH(int, format);
    m_window->document()->selectQuery(2);
    FigureView *figure = m_window->figureView(FigureKind(kind));
    QCOMPARE(figure->figureKind(), FigureKind(kind));
    QTemporaryDir dir;
    const QString path = dir.filePath(figure->figureName() + QLatin1Char('.') + figureFormatName(FigureFormat(format)));
    QVERIFY_OK(exportView(*figure, FigureFormat(format), path, 96));
    QVERIFY(opensAs(path, FigureFormat(format)));
    if (FigureFormat(format) == FigureFormat::Png && FigureKind(kind) == FigureKind::Heatmap) {
        // Exactly as shown: the selected query row is outlined in the selection colour.
        QImage image(path);
        HeatmapLayout layout(7, 7, QRectF(QPointF(0, 0), m_window->heatmap()->figureSize()),
                             heatmapMargins(m_window->heatmap()->figure(), m_window->heatmap()->style()));
        const QRectF row = layout.cellRect(2, 3);
        const QColor edge = image.pixelColor(QPoint(int(row.center().x()), int(row.top())));
        QVERIFY2(edge.red() > 200 && edge.green() < 120, qPrintable(edge.name()));
    }
}

void TestMainWindow::exportAllHeadsAndMatrices()
{
    QTemporaryDir dir;
    const Result<int> written = exportAllHeads(*m_window->document(), *m_window->viewOptions(), dir.path(), FigureFormat::Svg, 96);
    QVERIFY_OK(written);
    QCOMPARE(*written.value, 3);
    for (int h = 0; h < 3; ++h)
        QVERIFY(opensAs(dir.filePath(QStringLiteral("layer0-head%1.svg").arg(h)), FigureFormat::Svg));
    QVERIFY(!exportAllHeads(*m_window->document(), *m_window->viewOptions(), dir.filePath(QStringLiteral("missing")), FigureFormat::Png, 96).error.isEmpty());
    QVERIFY_OK(exportMatrices(*m_window->document(), dir.filePath(QStringLiteral("head.csv"))));
    QFile csv(dir.filePath(QStringLiteral("head.csv")));
    QVERIFY(csv.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = csv.readAll().trimmed().split('\n');
    QCOMPARE(lines.size(), 8); // header + 7 queries
    QVERIFY(lines.at(0).contains("\"mat\""));
    QVERIFY_OK(exportMatrices(*m_window->document(), dir.filePath(QStringLiteral("head.json"))));
    QFile json(dir.filePath(QStringLiteral("head.json")));
    QVERIFY(json.open(QIODevice::ReadOnly));
    const QJsonObject stages = QJsonDocument::fromJson(json.readAll()).object();
    for (const char *key : {"input", "w_q", "q", "scores", "scaled", "masked", "weights", "output"})
        QVERIFY2(stages.contains(QLatin1String(key)), key);
}

void TestMainWindow::saveMarksCleanAndOpenRestores()
{
    AttentionDocument *document = m_window->document();
    document->editText(QStringLiteral("saved text"));
    QVERIFY(document->isModified());
    QVERIFY(m_window->isWindowModified());
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("w.json"));
    QVERIFY_OK(document->saveWorkspaceAs(path));
    QVERIFY(!document->isModified());
    QVERIFY(!m_window->isWindowModified());
    document->editText(QStringLiteral("changed"));
    QVERIFY(document->isModified());
    QVERIFY_OK(document->openWorkspace(path));
    QCOMPARE(document->workspace().text, QStringLiteral("saved text"));
    QCOMPARE(m_window->findChild<QLineEdit *>(QStringLiteral("sentence"))->text(), QStringLiteral("saved text"));
    QVERIFY(!document->isModified());
    // A bad file leaves the document as it was and says why.
    QVERIFY(document->openWorkspace(dir.filePath(QStringLiteral("nope.json"))).error.contains(QStringLiteral("cannot read")));
    QCOMPARE(document->workspace().text, QStringLiteral("saved text"));
}

void TestMainWindow::translationModelInTheWindow()
{
    AttentionDocument *document = m_window->document();
    auto *translate = m_window->findChild<QToolButton *>(QStringLiteral("translate"));
    auto *kinds = m_window->findChild<QComboBox *>(QStringLiteral("attentionKind"));
    auto *target = m_window->findChild<QLineEdit *>(QStringLiteral("pair"));
    QVERIFY(translate && kinds && target);
    QVERIFY(translate->isHidden() && kinds->isHidden()); // not for the teaching model
    document->openModel(QStringLiteral(STUDIO_TEST_DATA "/checkpoints/marian-random-tiny"));
    QTRY_VERIFY(document->isTranslation());
    QTRY_VERIFY(!document->isBusy());
    QVERIFY(!translate->isHidden() && !kinds->isHidden() && !target->isHidden());
    QVERIFY(target->placeholderText().contains(QStringLiteral("Translate")));
    document->editText(QStringLiteral("She sees the small elephant."));
    QTest::keyClicks(target, QStringLiteral("Sie"));
    QTRY_VERIFY(!document->isBusy());
    QCOMPARE(document->textPair(), QStringLiteral("Sie"));
    // The heatmap shows cross-attention: target rows, source columns.
    QCOMPARE(m_window->heatmap()->figure().colLabels, document->result().keyLabels);
    QCOMPARE(m_window->heatmap()->figure().rowLabels.size(), document->targetTokenCount());
    // Choosing the encoder shows the source × source maps everywhere.
    kinds->setCurrentIndex(kinds->findData(int(AttentionKind::Encoder)));
    Q_EMIT kinds->activated(kinds->currentIndex());
    QCOMPARE(document->attentionKind(), AttentionKind::Encoder);
    QCOMPARE(m_window->heatmap()->figure().rowLabels.size(), document->sourceTokenCount());
    // Translate writes the target a token at a time; the button stops it.
    QTest::mouseClick(translate, Qt::LeftButton);
    QVERIFY(document->isGenerating());
    QCOMPARE(translate->text(), QStringLiteral("Stop"));
    QTRY_VERIFY(document->targetTokenCount() >= 3);
    QTest::mouseClick(translate, Qt::LeftButton);
    QVERIFY(!document->isGenerating());
    QTRY_VERIFY(!document->isBusy());
    QCOMPARE(translate->text(), QStringLiteral("Translate"));
    QVERIFY(document->target().ids.has_value());
    QCOMPARE(target->text(), document->textPair()); // the field shows the translation
    // Back to the teaching model: the translation controls go.
    document->useTeachingModel();
    QTRY_VERIFY(!document->isBusy());
    QVERIFY(translate->isHidden() && kinds->isHidden());
}

void TestMainWindow::loadedCheckpointWorksInEveryView()
{
    AttentionDocument *document = m_window->document();
    document->openModel(QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny"));
    QTRY_VERIFY(!document->isTeaching());
    QTRY_VERIFY(!document->isBusy());
    QCOMPARE(document->result().layers, 2);
    QCOMPARE(document->result().heads, 4);
    QCOMPARE(m_window->findChild<QComboBox *>(QStringLiteral("head"))->count(), 8);
    QVERIFY(m_window->findChild<QComboBox *>(QStringLiteral("model"))->currentText().contains(QStringLiteral("gpt2-random-tiny")));
    // Typing reruns the model off the GUI thread.
    document->editText(QStringLiteral("Hello world"));
    QTRY_COMPARE(document->result().labels, (QStringList{QStringLiteral("H"), QStringLiteral("ell"), QStringLiteral("o"), QStringLiteral("␣world")}));
    // The grid: 2 layers × (4 heads + mean + max); clicking layer 1 head 3 selects it everywhere.
    raiseDock(m_window.get(), QStringLiteral("gridDock"));
    QTest::mouseClick(m_window->grid(), Qt::LeftButton, {}, m_window->grid()->currentLayout().cell(1, 3).center().toPoint());
    QCOMPARE(document->selectedLayer(), 1);
    QCOMPARE(document->selectedHead(), 3);
    QCOMPARE(m_window->heatmap()->figure().values(), document->result().weights(1, 3));
    // Step-through on a real head: the stages agree with the forward pass.
    document->setStage(Stage::Weights);
    const Matrix &shown = m_window->steps()->canvas()->figure().values();
    QVERIFY((shown - document->result().weights(1, 3)).cwiseAbs().maxCoeff() < 1e-6f);
    document->setStage(Stage::Masked);
    QVERIFY(std::isinf(m_window->steps()->canvas()->figure().values()(0, 1))); // causal
    // Real weights are read-only and show the bias.
    raiseDock(m_window.get(), QStringLiteral("weightDock"));
    WeightTableModel *wq = m_window->weights()->model(Projection::Q);
    QCOMPARE(wq->rowCount(), 65); // 64 inputs + bias
    QVERIFY(!(wq->flags(wq->index(0, 0)) & Qt::ItemIsEditable));
    QVERIFY(!wq->setData(wq->index(0, 0), 1.0, Qt::EditRole));
    // The temperature works on a loaded model too, and says that it changes the model.
    auto *temperature = m_window->findChild<QDoubleSpinBox *>(QStringLiteral("temperature"));
    auto *note = m_window->findChild<QLabel *>(QStringLiteral("temperatureNote"));
    QVERIFY(temperature->isEnabled());
    QVERIFY(note->text().isEmpty());
    const Matrix before = document->result().weights(1, 3);
    temperature->setValue(3.0);
    QTRY_VERIFY(!document->isBusy());
    QVERIFY(document->result().weights(1, 3) != before);
    QVERIFY2(note->text().contains(QStringLiteral("changes the model")), qPrintable(note->text()));
    QVERIFY(m_window->heatmap()->figure().caption.join(u' ').contains(QStringLiteral("τ = 3")));
    temperature->setValue(1.0);
    QTRY_VERIFY(!document->isBusy());
    QCOMPARE(document->result().weights(1, 3), before);
    QVERIFY(note->text().isEmpty());
    // bf16: the status bar says so and by how much; the step-through shows the heatmap's bits.
    auto *precision = m_window->findChild<QComboBox *>(QStringLiteral("precision"));
    auto *precisionLabel = m_window->findChild<QLabel *>(QStringLiteral("precisionLabel"));
    QVERIFY(precision && precisionLabel);
    QVERIFY(precisionLabel->isHidden());
    if (!bf16Supported()) {
        QVERIFY(!precision->isEnabled());
        QCOMPARE(precision->toolTip(), bf16Unavailable());
    } else {
        QVERIFY(precision->isEnabled());
        precision->setCurrentIndex(precision->findData(int(Precision::Bf16)));
        QTRY_VERIFY(!document->isBusy());
        QCOMPARE(document->result().precision, Precision::Bf16);
        const double deviation = document->result().maxDeviation;
        QVERIFY(deviation > 0 && deviation < 0.05);
        QVERIFY(double((document->result().weights(1, 3) - before).cwiseAbs().maxCoeff()) <= deviation); // the largest of all heads
        QVERIFY(!precisionLabel->isHidden());
        QVERIFY2(precisionLabel->text().contains(QStringLiteral("bf16")) && precisionLabel->text().contains(QString::number(deviation, 'g', 2)),
                 qPrintable(precisionLabel->text()));
        QVERIFY(m_window->heatmap()->figure().caption.join(u' ').contains(QStringLiteral("bf16")));
        // The step-through is a tab behind the weights: it catches up when shown, not before.
        document->setStage(Stage::Weights);
        QVERIFY(m_window->steps()->canvas()->figure().values() != document->result().weights(1, 3));
        raiseDock(m_window.get(), QStringLiteral("stepDock"));
        QCOMPARE(m_window->steps()->canvas()->figure().values(), document->result().weights(1, 3));
        precision->setCurrentIndex(precision->findData(int(Precision::Fp32)));
        QTRY_VERIFY(!document->isBusy());
        QCOMPARE(document->result().weights(1, 3), before);
        QVERIFY(precisionLabel->isHidden());
    }
    // Back to the teaching model.
    document->useTeachingModel();
    QTRY_VERIFY(document->isTeaching());
    QCOMPARE(document->result().layers, 1);
}

void TestMainWindow::predictionPanelShowsAndGenerates()
{
    AttentionDocument *document = m_window->document();
    auto *panel = m_window->findChild<PredictionPanel *>();
    QVERIFY(panel);
    raiseDock(m_window.get(), QStringLiteral("predictionDock"));
    // The teaching model: why there is nothing, and nothing to press.
    QVERIFY(panel->headline().contains(QStringLiteral("needs a language model checkpoint")));
    QVERIFY(!panel->findChild<QPushButton *>(QStringLiteral("generate"))->isEnabled());

    document->openModel(QStringLiteral(STUDIO_TEST_DATA "/checkpoints/llama-random-tiny"));
    QTRY_VERIFY(!document->isTeaching());
    document->editText(QStringLiteral("The animal didn't cross the street because it was too tired."));
    QTRY_VERIFY(!document->isBusy());
    QTRY_COMPARE(panel->figure().rows.size(), size_t(10));
    QVERIFY(panel->headline().contains(QStringLiteral("the last of %1 tokens").arg(document->tokenCount())));
    // The model's own probabilities do not move with the sampling settings; the chances do.
    const PredictionFigure before = panel->figure();
    panel->findChild<QDoubleSpinBox *>(QStringLiteral("samplingTemperature"))->setValue(0.5);
    const PredictionFigure colder = panel->figure();
    QCOMPARE(colder.rows.front().id, before.rows.front().id);
    QCOMPARE(colder.rows.front().probability, before.rows.front().probability);
    QVERIFY(colder.rows.front().chance > before.rows.front().chance);
    panel->findChild<QSpinBox *>(QStringLiteral("topK"))->setValue(3);
    QVERIFY(panel->figure().rows[2].kept && !panel->figure().rows[3].kept);
    QCOMPARE(panel->figure().rows[3].chance, 0.0);
    // Selecting a token shows its own next token.
    document->selectQuery(2);
    QTRY_VERIFY(panel->headline().contains(QStringLiteral("token 2 of")));
    QTRY_COMPARE(panel->figure().rows.size(), size_t(10));
    QVERIFY(panel->figure().rows.front().id != before.rows.front().id || panel->figure().rows.front().logit != before.rows.front().logit);
    document->selectQuery(-1);
    // Generate two tokens greedily: every view follows, and the status clears.
    const int tokens = document->tokenCount();
    panel->findChild<QSpinBox *>(QStringLiteral("generateCount"))->setValue(2);
    QTest::mouseClick(panel->findChild<QPushButton *>(QStringLiteral("generate")), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!document->isGenerating() && !document->isBusy(), 30000);
    QVERIFY(document->tokenCount() > tokens);
    QCOMPARE(m_window->heatmap()->figure().values().rows(), Eigen::Index(document->tokenCount()));
    QVERIFY(m_window->findChild<QLineEdit *>(QStringLiteral("sentence"))->text().startsWith(QStringLiteral("The animal didn't cross the street because it was too tired.")));
}

void TestMainWindow::heatmapShowsTheAnalyses()
{
    AttentionDocument *document = m_window->document();
    auto *stage = m_window->findChild<QComboBox *>(QStringLiteral("heatmapStage"));
    auto *leaveOut = m_window->findChild<QCheckBox *>(QStringLiteral("leaveOutSpecial"));
    QVERIFY(stage && leaveOut);
    QStringList names;
    for (int i = 0; i < stage->count(); ++i)
        names.append(stage->itemText(i));
    QVERIFY(names.contains(QStringLiteral("value-weighted ‖α·f(x)‖")));
    // The teaching model: value-weighted through each head's W_O; rollout; no special tokens to leave out.
    stage->setCurrentIndex(stage->findData(int(HeatmapStage::ValueWeighted)));
    QCOMPARE(m_window->heatmap()->figure().values().rows(), Eigen::Index(document->tokenCount()));
    QVERIFY(m_window->heatmap()->figure().values() == valueWeighted(document->result().weights(0, 0), document->teachingTrace().valueNorms.col(0)));
    QVERIFY(leaveOut->isHidden());
    stage->setCurrentIndex(stage->findData(int(HeatmapStage::Rollout)));
    QCOMPARE(m_window->heatmap()->figure().values().rows(), Eigen::Index(document->tokenCount()));
    // Kept for the result: a click shows the same matrix, not a recomputed one.
    const Matrix *kept = &m_window->heatmap()->figure().values();
    QVERIFY(*kept == attentionRollout(*document->result().maps).back());
    document->selectQuery(1);
    QCOMPARE(&m_window->heatmap()->figure().values(), kept);

    document->openModel(QStringLiteral(STUDIO_TEST_DATA "/checkpoints/bert-random-tiny"));
    QTRY_VERIFY(!document->isTeaching());
    document->editText(QStringLiteral("The animal didn't cross the street"));
    QTRY_VERIFY(!document->isBusy());
    // Flow is started by showing it, and shown once in.
    stage->setCurrentIndex(stage->findData(int(HeatmapStage::Flow)));
    QTRY_COMPARE(document->flowJob()->state(), FlowJob::State::Ready);
    QTRY_COMPARE(m_window->heatmap()->figure().values().rows(), Eigen::Index(document->tokenCount()));
    stage->setCurrentIndex(stage->findData(int(HeatmapStage::Weights)));
    QVERIFY(!leaveOut->isHidden());
    leaveOut->setChecked(true);
    QCOMPARE(m_window->heatmap()->figure().leftOut, document->result().special);
    QVERIFY(m_window->heatmap()->explain(0, 1).contains(QStringLiteral("special token")));
    stage->setCurrentIndex(stage->findData(int(HeatmapStage::ValueWeighted)));
    QCOMPARE(m_window->heatmap()->figure().values().rows(), Eigen::Index(document->tokenCount()));
    QVERIFY(m_window->heatmap()->explain(3, 2).contains(QStringLiteral("‖f(x_2)‖")));
}

void TestMainWindow::comparingTwoSentences()
{
    AttentionDocument *document = m_window->document();
    raiseDock(m_window.get(), QStringLiteral("comparisonDock"));
    auto *panel = m_window->findChild<ComparisonPanel *>();
    QVERIFY(panel);
    auto *field = panel->findChild<QLineEdit *>(QStringLiteral("comparisonText"));
    auto *heads = panel->findChild<QTreeWidget *>(QStringLiteral("comparisonHeads"));
    document->editText(QStringLiteral("the cat sat on the mat"));
    QTest::keyClicks(field, QStringLiteral("the dog sat on the mat"));
    QTRY_VERIFY(document->comparison());
    const auto comparison = document->comparison();
    QCOMPARE(comparison->alignment.size(), size_t(5)); // all but cat/dog
    QVERIFY(panel->summary().startsWith(QStringLiteral("5 of 6 tokens aligned")));
    QCOMPARE(heads->topLevelItemCount(), document->result().heads);
    // Listed by divergence, largest first; clicking one selects it in every view.
    const auto order = comparison->headsByDivergence();
    QTreeWidgetItem *second = heads->topLevelItem(1);
    QCOMPARE(second->data(1, Qt::UserRole).toInt(), order[1].second);
    heads->itemClicked(second, 0);
    QCOMPARE(document->selectedHead(), order[1].second);
    panel->view()->updateFigure();
    QCOMPARE(panel->view()->figure().values().rows(), Eigen::Index(5));
    // The same difference in the central heatmap, where there is room; a click there selects the
    // first sentence's token (aligned row 1 is "sat", position 2).
    auto *stage = m_window->findChild<QComboBox *>(QStringLiteral("heatmapStage"));
    stage->setCurrentIndex(stage->findData(int(HeatmapStage::Difference)));
    QVERIFY(m_window->heatmap()->figure().values() == panel->view()->figure().values());
    const HeatmapLayout layout = m_window->heatmap()->currentLayout();
    QTest::mouseClick(m_window->heatmap(), Qt::LeftButton, {}, layout.cellRect(1, 1).center().toPoint());
    QCOMPARE(document->selectedQuery(), 2);
    QVERIFY(m_window->heatmap()->explain(1, 0).contains(QStringLiteral("B − A")));
    stage->setCurrentIndex(stage->findData(int(HeatmapStage::Weights)));
    // The comparison follows every edit of the first sentence, and is undoable like typing.
    document->editText(QStringLiteral("the dog sat on the mat"));
    QTRY_VERIFY(document->comparison() && document->comparison()->alignment.size() == 6);
    QCOMPARE(document->comparison()->largest, 0.0);
    document->undoStack()->undo(); // the first sentence
    document->undoStack()->undo(); // the comparison sentence
    QCOMPARE(document->comparisonText(), QString());
    QTRY_VERIFY(!document->comparison());
    QVERIFY(field->text().isEmpty());
}

void TestMainWindow::rotaryModelHasItsRopeStage()
{
    AttentionDocument *document = m_window->document();
    StepThroughView *steps = m_window->steps();
    auto *ropeButton = steps->findChild<QAbstractButton *>(QStringLiteral("stage-rope"));
    QVERIFY(ropeButton);
    // The teaching model has no rotary positions: no RoPE stage, and Next goes past it.
    document->setStage(Stage::Projections);
    QVERIFY(ropeButton->isHidden());
    steps->next();
    QCOMPARE(document->stage(), Stage::Scores);

    document->openModel(QStringLiteral(STUDIO_TEST_DATA "/checkpoints/llama-random-tiny"));
    QTRY_VERIFY(!document->isTeaching());
    QTRY_VERIFY(!document->isBusy());
    document->editText(QStringLiteral("The animal didn't cross the street because it was too tired."));
    QTRY_VERIFY(!document->isBusy());
    QVERIFY(document->tokenCount() >= 12);
    document->selectHead(1, 3);
    QCOMPARE(m_window->findChild<QComboBox *>(QStringLiteral("head"))->currentText(), QStringLiteral("layer 1 · head 3 · kv 1"));
    document->selectQuery(5);
    document->setStage(Stage::Projections);
    QVERIFY(!ropeButton->isHidden());
    QCOMPARE(ropeButton->text(), QStringLiteral("3 RoPE"));
    steps->next();
    QCOMPARE(document->stage(), Stage::Rotary);
    // The canvas shows q after the rotation; the explanation gives the angles, the sharing of k
    // and v, and draws one pair's turn.
    const HeadDetails &details = document->selectedDetails();
    QCOMPARE(steps->canvas()->figure().values(), details.trace.q);
    const QString html = steps->explanationHtml();
    QVERIFY(html.contains(QStringLiteral("Rotary positions")));
    QVERIFY(html.contains(QStringLiteral("shared by query heads 2–3")));
    QVERIFY(html.contains(QStringLiteral("studio:rope-pair")));
    steps->previous();
    QCOMPARE(document->stage(), Stage::Projections);
    // The rest of the block is computed on a worker once one of its stages is shown, then drawn:
    // SwiGLU's neurons (the first 64 of 160), and the next token.
    QVERIFY(!steps->findChild<QAbstractButton *>(QStringLiteral("stage-mlp"))->isHidden());
    document->setStage(Stage::Mlp);
    QTRY_COMPARE(steps->canvas()->figure().values().rows(), Eigen::Index(document->tokenCount()));
    QCOMPARE(steps->canvas()->figure().values().cols(), Eigen::Index(64));
    QVERIFY(steps->explanationHtml().contains(QStringLiteral("silu(x·W_gate) ⊙ x·W_up")));
    document->setStage(Stage::Prediction);
    QTRY_COMPARE(steps->canvas()->figure().values().cols(), Eigen::Index(10));
    QVERIFY(steps->explanationHtml().contains(QStringLiteral("after the last layer")));
    document->useTeachingModel();
    QTRY_VERIFY(document->isTeaching());
}

void TestMainWindow::textLongerThanTheModelIsCutWithANotice()
{
    AttentionDocument *document = m_window->document();
    document->openModel(QStringLiteral(STUDIO_TEST_DATA "/checkpoints/bert-random-tiny")); // 64 positions
    QTRY_VERIFY(!document->isTeaching());
    QTRY_VERIFY(!document->isBusy());
    QString text;
    for (int i = 0; i < 100; ++i)
        text += QStringLiteral("the ");
    document->editText(text);
    QTRY_COMPARE(document->tokenCount(), 64);
    QVERIFY(m_window->findChild<QLabel *>(QStringLiteral("notice"))->text().contains(QStringLiteral("reads at most 64")));
    QCOMPARE(m_window->heatmap()->figure().values().rows(), 64);
}

void TestMainWindow::badModelFolderShowsAMessage()
{
    QTemporaryDir dir;
    QSignalSpy failed(m_window->document(), &AttentionDocument::modelFailed);
    m_window->document()->openModel(dir.path());
    QTRY_COMPARE(failed.count(), 1);
    QVERIFY(failed.at(0).at(0).toString().contains(QStringLiteral("config.json")));
    QVERIFY(m_window->document()->isTeaching());
    QVERIFY(!m_window->document()->isBusy());
    QVERIFY(m_window->findChild<QLabel *>(QStringLiteral("notice"))->text().contains(QStringLiteral("config.json")));
    // The error stays while nothing else happens, and goes once an edit works.
    QTest::qWait(50);
    QVERIFY(m_window->findChild<QLabel *>(QStringLiteral("notice"))->text().contains(QStringLiteral("config.json")));
    m_window->document()->editText(QStringLiteral("A later edit that works."));
    QTRY_COMPARE(m_window->findChild<QLabel *>(QStringLiteral("notice"))->text(), QString());
}

void TestMainWindow::downloadDialogFetchesAndOpensAModel()
{
    studio::testing::FakeHub hub;
    QVERIFY(hub.isListening());
    const auto repo = studio::testing::FakeHub::repoFromFolder(QStringLiteral(STUDIO_TEST_DATA "/checkpoints/hf-tiny-gpt2"),
                                                               QStringLiteral("fedcba9876543210fedcba9876543210fedcba98"));
    hub.addRepo(QStringLiteral("org/tiny"), repo);
    QTemporaryDir home;
    qputenv("HF_ENDPOINT", hub.endpoint().toUtf8());
    qputenv("HF_HOME", home.path().toUtf8());
    const auto restore = qScopeGuard([] {
        qunsetenv("HF_ENDPOINT");
        qunsetenv("HF_HOME");
    });

    // The Model box offers the download; choosing it opens the dialog and keeps the current model.
    auto *modelBox = m_window->findChild<QComboBox *>(QStringLiteral("model"));
    const int downloadItem = modelBox->findText(QStringLiteral("Download from Hugging Face…"));
    QVERIFY(downloadItem > 0);
    modelBox->setCurrentIndex(downloadItem);
    Q_EMIT modelBox->activated(downloadItem);
    DownloadDialog *dialog = m_window->downloadDialog();
    QVERIFY(dialog && dialog->isVisible());
    QCOMPARE(modelBox->currentText(), QStringLiteral("Teaching model"));
    QVERIFY(m_window->document()->isTeaching());

    // A missing model: the message, and the dialog ready for another try.
    dialog->setModelId(QStringLiteral("org/none"));
    auto *start = dialog->findChild<QPushButton *>(QStringLiteral("startDownload"));
    QTest::mouseClick(start, Qt::LeftButton);
    QTRY_VERIFY(!dialog->isDownloading());
    QVERIFY2(dialog->status().contains(QStringLiteral("no model org/none")), qPrintable(dialog->status()));
    QVERIFY(start->isEnabled());

    // The real one: downloaded, listed in the Model box, opened in the window.
    dialog->setModelId(QStringLiteral("org/tiny"));
    QTest::mouseClick(start, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!m_window->document()->isTeaching() && !m_window->document()->isBusy(), 20000);
    QCOMPARE(m_window->document()->checkpoint()->name, QStringLiteral("org/tiny"));
    QCOMPARE(m_window->document()->checkpoint()->directory,
             home.path() + QStringLiteral("/hub/models--org--tiny/snapshots/") + repo.commit);
    QCOMPARE(modelBox->currentText(), QStringLiteral("org/tiny"));
    QVERIFY(modelBox->findText(QStringLiteral("Download from Hugging Face…")) > modelBox->currentIndex());
    QVERIFY2(dialog->status().contains(QStringLiteral("ready")), qPrintable(dialog->status()));
    QCOMPARE(dialog->findChild<QProgressBar *>(QStringLiteral("progress"))->value(), 1000);
    // Close hides it; the window is untouched.
    QTest::mouseClick(dialog->findChild<QPushButton *>(QStringLiteral("cancelDownload")), Qt::LeftButton);
    QVERIFY(!dialog->isVisible());
    QCOMPARE(m_window->document()->checkpoint()->name, QStringLiteral("org/tiny"));
}

void TestMainWindow::clickerKeysStepWhateverHasFocus()
{
    AttentionDocument *document = m_window->document();
    QCOMPARE(document->stage(), Stage::Embeddings);
    auto *sentence = m_window->findChild<QLineEdit *>(QStringLiteral("sentence"));
    QVERIFY(sentence);
    sentence->setFocus();
    QApplication::setActiveWindow(m_window.get());
    QTRY_VERIFY(sentence->hasFocus());
    QTest::keyClick(sentence, Qt::Key_PageDown);
    QCOMPARE(document->stage(), Stage::Projections);
    auto *modelBox = m_window->findChild<QComboBox *>(QStringLiteral("model"));
    modelBox->setFocus();
    QTRY_VERIFY(modelBox->hasFocus());
    const int modelIndex = modelBox->currentIndex();
    QTest::keyClick(modelBox, Qt::Key_PageDown);
    QCOMPARE(document->stage(), Stage::Scores);
    QCOMPARE(modelBox->currentIndex(), modelIndex); // the key stepped, it did not change the model
    QTest::keyClick(modelBox, Qt::Key_PageUp);
    QCOMPARE(document->stage(), Stage::Projections);
    QVERIFY(document->isTeaching());
}

void TestMainWindow::helpMenuHasAQuickStartAndTheShortcuts()
{
    QMenu *help = nullptr;
    for (QAction *action : m_window->menuBar()->actions())
        if (action->text() == QStringLiteral("&Help"))
            help = action->menu();
    QVERIFY(help);
    QStringList items;
    for (QAction *action : help->actions())
        items.append(action->text());
    QVERIFY(items.contains(QStringLiteral("&Quick start")));
    QVERIFY(items.contains(QStringLiteral("&Keyboard shortcuts")));
    for (QAction *action : help->actions())
        if (action->text() == QStringLiteral("&Keyboard shortcuts"))
            action->trigger();
    auto *page = m_window->findChild<QDialog *>(QStringLiteral("shortcuts"));
    QVERIFY(page && page->isVisible());
    const QString text = page->findChild<QTextBrowser *>()->toPlainText();
    // Read from the menus: every menu shortcut is there with what it does.
    for (const char *expected : {"Ctrl+E", "Export heatmap", "Ctrl+Z", "Undo", "Ctrl+M", "Open model folder", "Page Down / Page Up"})
        QVERIFY2(text.contains(QLatin1String(expected)), expected);
    for (QAction *action : help->actions())
        if (action->text() == QStringLiteral("&Quick start"))
            action->trigger();
    auto *quickStart = m_window->findChild<QDialog *>(QStringLiteral("quickStart"));
    QVERIFY(quickStart && quickStart->isVisible());
    QVERIFY(quickStart->findChild<QTextBrowser *>()->toPlainText().contains(QStringLiteral("Type a sentence")));
}

void TestMainWindow::presenterModeStepsWithAClicker()
{
    AttentionDocument *document = m_window->document();
    document->editText(QStringLiteral("The animal didn't cross the street because it was too tired."));
    QVERIFY(!m_window->presenter());
    QTest::keyClick(m_window.get(), Qt::Key_F5);
    PresenterWindow *presenter = m_window->presenter();
    QVERIFY(presenter);
    QVERIFY(presenter->isFullScreen());
    QApplication::setActiveWindow(presenter); // as the window system does for a new full-screen window
    QTRY_VERIFY(presenter->isActiveWindow());
    QCOMPARE(document->selectedQuery(), 0); // the arithmetic needs a query: the first
    QCOMPARE(document->stage(), Stage::Embeddings);
    QVERIFY(presenter->titleText().startsWith(QStringLiteral("1. Embeddings")));
    QVERIFY(presenter->arithmeticText().contains(QStringLiteral("Query “The”")));

    // The clicker's keys reach it whatever was clicked in it. Opened on a stage, the arithmetic
    // is whole; Page Down goes to the next stage, which starts from its first step.
    QTest::mouseClick(presenter->canvas(), Qt::LeftButton, {}, QPoint(5, 5));
    QCOMPARE(presenter->shownSteps(), presenter->stepCount());
    QTest::keyClick(presenter, Qt::Key_PageDown);
    QCOMPARE(document->stage(), Stage::Projections);
    QCOMPARE(presenter->shownSteps(), 1);
    QVERIFY(presenter->stepCount() >= 3);
    QVERIFY(presenter->arithmeticText().contains(QStringLiteral("Query “The”")));
    QVERIFY(!presenter->arithmeticText().contains(QStringLiteral("Its first component")));
    // Each press shows one more step of the arithmetic, then goes on to the next stage.
    QTest::keyClick(presenter, Qt::Key_Right);
    QCOMPARE(presenter->shownSteps(), 2);
    QVERIFY(presenter->arithmeticText().contains(QStringLiteral("Its first component")));
    QTest::keyClick(presenter, Qt::Key_PageUp); // a step back
    QCOMPARE(presenter->shownSteps(), 1);
    QCOMPARE(document->stage(), Stage::Projections);
    while (presenter->shownSteps() < presenter->stepCount())
        QTest::keyClick(presenter, Qt::Key_Space);
    QCOMPARE(document->stage(), Stage::Projections);
    QTest::keyClick(presenter, Qt::Key_PageDown);
    QCOMPARE(document->stage(), Stage::Scores);
    QCOMPARE(presenter->shownSteps(), 1);
    // ↓ and ↑ go a whole stage at a time; back, a stage shows whole.
    QTest::keyClick(presenter, Qt::Key_Up);
    QCOMPARE(document->stage(), Stage::Projections);
    QCOMPARE(presenter->shownSteps(), presenter->stepCount());
    // After the last stage: the next query, from the first stage; and back again. From Q, K, V,
    // the teaching model's 9 stages (no RoPE, no MLP) leave 7 to the last, and one more to the next query.
    QCOMPARE(stagesFor(document->result()).size(), size_t(9));
    for (int i = 0; i < 8; ++i)
        QTest::keyClick(presenter, Qt::Key_Down);
    QCOMPARE(document->selectedQuery(), 1);
    QCOMPARE(document->stage(), Stage::Embeddings);
    QVERIFY(presenter->arithmeticText().contains(QStringLiteral("Query “animal”")));
    QTest::keyClick(presenter, Qt::Key_Up);
    QCOMPARE(document->selectedQuery(), 0);
    QCOMPARE(document->stage(), Stage::Residual);
    // B blacks the screen out and back; Esc leaves, the window keeps the stage reached.
    QTest::keyClick(presenter, Qt::Key_B);
    QVERIFY(presenter->isBlack());
    QTest::keyClick(presenter, Qt::Key_B);
    QVERIFY(!presenter->isBlack());
    QTest::keyClick(presenter, Qt::Key_Escape);
    QTRY_VERIFY(!m_window->presenter());
    QCOMPARE(document->stage(), Stage::Residual);
}

void TestMainWindow::presenterModeReadsFromTheBackRow()
{
    // On a 1280×720 projector, a 12-token sentence: every token label and every cell's number of
    // the attention weights is drawn, none cut or overlapping, in a font larger than the window's.
    AttentionDocument *document = m_window->document();
    document->editText(QStringLiteral("The animal didn't cross the street because it was too tired."));
    QCOMPARE(document->tokenCount(), 12);
    document->setStage(Stage::Weights);
    m_window->startPresenting();
    PresenterWindow *presenter = m_window->presenter();
    presenter->showNormal();
    presenter->resize(1280, 720);
    QTRY_COMPARE(presenter->size(), QSize(1280, 720));
    QApplication::processEvents();
    const HeatmapFigure &figure = presenter->canvas()->figure();
    QCOMPARE(figure.values().rows(), 12);
    QVERIFY(figure.showNumbers);
    QFont font = m_window->viewOptions()->font();
    font.setPixelSize(presenter->matrixFontPixels());
    const HeatmapReadability readability = heatmapReadability(figure, font, QSizeF(presenter->canvas()->size()));
    QVERIFY2(readability.everyLabel && readability.everyNumber,
             qPrintable(QStringLiteral("font %1 px, cell %2").arg(presenter->matrixFontPixels()).arg(readability.cell)));
    QVERIFY2(presenter->matrixFontPixels() > m_window->viewOptions()->fontSize(), qPrintable(QString::number(presenter->matrixFontPixels())));
    // Labels are whole: the label column is as wide as "because".
    QCOMPARE(presenter->canvas()->style().labelWidth, kUnlimitedLabelWidth);
    QVERIFY(PresenterWindow::baseFontPixels(720) >= 24);
    presenter->close();
}

void TestMainWindow::projectorWindowLabelsEveryToken()
{
    // The window on a 1280×720 projector with a 12-token sentence: the heatmap labels every token,
    // whole (a smaller font rather than every other label, or "beca…").
    m_window->resize(1280, 720);
    QApplication::processEvents();
    AttentionDocument *document = m_window->document();
    document->editText(QStringLiteral("The animal didn't cross the street because it was too tired."));
    QApplication::processEvents();
    HeatmapView *heatmap = m_window->heatmap();
    const HeatmapStyle shown = heatmap->screenStyle();
    const HeatmapReadability readability = heatmapReadability(heatmap->figure(), shown.font, QSizeF(heatmap->size()), shown.labelWidth);
    QVERIFY2(readability.everyLabel, qPrintable(QStringLiteral("%1 px in %2×%3").arg(shown.font.pixelSize()).arg(heatmap->width()).arg(heatmap->height())));
    QVERIFY(shown.labelWidth >= QFontMetricsF(shown.font).horizontalAdvance(QStringLiteral("because")));
    QVERIFY(shown.font.pixelSize() >= kMinScreenFont);
    // The step-through's matrix uses its pane's width, not a square in a corner (its rows are
    // labelled in full where the pane is taller, below; the selected row always is).
    document->selectQuery(7);
    QApplication::processEvents();
    MatrixCanvas *canvas = m_window->steps()->canvas();
    auto stepReadability = [canvas] {
        const HeatmapStyle style = canvas->screenStyle();
        HeatmapFigure figure = canvas->figure();
        figure.caption.clear();
        const HeatmapLayout layout(int(figure.values().rows()), int(figure.values().cols()), QRectF(canvas->rect()), heatmapMargins(figure, style));
        return std::pair{heatmapReadability(figure, style.font, QSizeF(canvas->size()), style.labelWidth, style.maxCellAspect),
                         layout.body().width() / canvas->width()};
    };
    QVERIFY2(stepReadability().second > 0.5, qPrintable(QString::number(stepReadability().second)));
    // Exports keep the chosen size.
    QCOMPARE(heatmap->style().font.pixelSize(), m_window->viewOptions()->fontSize());
    // Numbers on but the cells too small for them: the window says so beside the heatmap.
    m_window->viewOptions()->setShowNumbers(true);
    QApplication::processEvents();
    auto *note = m_window->findChild<QLabel *>(QStringLiteral("numbersNote"));
    QVERIFY(!everyNumberDrawn(heatmap->figure(), shown, QRectF(heatmap->rect())));
    QVERIFY2(note->text().contains(QStringLiteral("numbers that do not fit")), qPrintable(note->text()));
    // With room, every number is drawn and the note goes.
    m_window->resize(1900, 1200);
    raiseDock(m_window.get(), QStringLiteral("arcDock"));
    // The step-through's height on a large screen (the window sets it from the screen it opens on).
    m_window->resizeDocks({m_window->findChild<QDockWidget *>(QStringLiteral("stepDock"))}, {340}, Qt::Vertical);
    QApplication::processEvents();
    QVERIFY2(stepReadability().first.everyLabel, qPrintable(QStringLiteral("%1×%2").arg(canvas->width()).arg(canvas->height())));
    QVERIFY(stepReadability().first.everyNumber);
    QVERIFY(stepReadability().second > 0.5);
    m_window->viewOptions()->setShowNumbers(false);
    QTRY_COMPARE(note->text(), QString());
    m_window->viewOptions()->setShowNumbers(true); // a preference: leave it as the other tests expect
}

void TestMainWindow::exportSaysWhichViewItWrites()
{
    auto *exportView = m_window->findChild<QAction *>(QStringLiteral("exportView"));
    QVERIFY(exportView);
    QCOMPARE(exportView->text(), QStringLiteral("&Export heatmap…"));
    // A click in the head view's drawing (which takes no focus) makes it the view to export.
    raiseDock(m_window.get(), QStringLiteral("arcDock"));
    QTest::mouseClick(m_window->arcs(), Qt::LeftButton, {}, QPoint(10, 10));
    QCOMPARE(exportView->text(), QStringLiteral("&Export head view…"));
    QCOMPARE(dynamic_cast<QWidget *>(m_window->figureView(FigureKind::Arcs)), static_cast<QWidget *>(m_window->arcs()));
    QTest::mouseClick(m_window->steps()->canvas(), Qt::LeftButton, {}, QPoint(5, 5));
    QCOMPARE(exportView->text(), QStringLiteral("&Export step-through…"));
    QTest::mouseClick(m_window->heatmap(), Qt::LeftButton, {}, QPoint(5, 5));
    QCOMPARE(exportView->text(), QStringLiteral("&Export heatmap…"));
}

void TestMainWindow::distributionLabelsAreWholeTokens()
{
    m_window->resize(1280, 720);
    m_window->document()->editText(QStringLiteral("The animal didn't cross the street because it was too tired."));
    raiseDock(m_window.get(), QStringLiteral("chartDock"));
    QApplication::processEvents();
    QTRY_VERIFY(m_window->chart()->drawnTexts().contains(QStringLiteral("because")));
    for (const char *token : {"animal", "didn't", "street", "tired"})
        QVERIFY2(m_window->chart()->drawnTexts().contains(QLatin1String(token)), qPrintable(m_window->chart()->drawnTexts().join(QLatin1Char('|'))));
    for (const QString &text : m_window->chart()->drawnTexts())
        QVERIFY2(!text.endsWith(QStringLiteral("…")), qPrintable(text));
}

void TestMainWindow::weightTooltipWritesTheSoftmaxOut()
{
    // The tooltip of a weight gives the row's max and Σ, so the number can be redone by hand.
    AttentionDocument *document = m_window->document();
    const HeadTrace &t = document->teachingTrace().heads[0];
    const QString tip = m_window->heatmap()->explain(2, 1);
    double max = -INFINITY, sum = 0;
    for (int c = 0; c < t.masked.cols(); ++c)
        max = std::max(max, double(t.masked(2, c)));
    for (int c = 0; c < t.masked.cols(); ++c)
        sum += std::exp(double(t.masked(2, c)) - max);
    QVERIFY2(tip.contains(QStringLiteral("exp(%1 − %2) / %3 = %4").arg(number(t.masked(2, 1)), number(max), number(sum), number(std::exp(t.masked(2, 1) - max) / sum))),
             qPrintable(tip));
    QVERIFY(std::abs(std::exp(t.masked(2, 1) - max) / sum - t.weights(2, 1)) < 1e-6);
}

void TestMainWindow::longTextsAreKeptWhole()
{
    // A text longer than QLineEdit's default 32,767 characters, loaded and then edited in the
    // field: not a character may go.
    AttentionDocument *document = m_window->document();
    QString text;
    while (text.size() < 40000)
        text += QStringLiteral("The cat sat on the mat. ");
    document->editText(text);
    auto *sentence = m_window->findChild<QLineEdit *>(QStringLiteral("sentence"));
    QCOMPARE(sentence->text().size(), text.size());
    sentence->setFocus();
    sentence->end(false);
    QTest::keyClicks(sentence, QStringLiteral("Done."));
    QCOMPARE(document->workspace().text, text + QStringLiteral("Done."));
    // A paste beyond the old limit arrives whole too.
    sentence->clear();
    sentence->insert(text);
    QCOMPARE(sentence->text().size(), text.size());
}

void TestMainWindow::largeThumbnailsArriveFromAWorker()
{
    // 700 tokens × 3 heads are 1.5 million cells: the model view's thumbnails are made on a worker
    // and arrive later; an export waits for them.
    AttentionDocument *document = m_window->document();
    QStringList words;
    for (int i = 0; i < 700; ++i)
        words.append(QStringLiteral("w%1").arg(i % 50));
    document->editText(words.join(QLatin1Char(' ')));
    QTRY_VERIFY(!document->isBusy());
    QCOMPARE(document->result().tokenCount(), 700);
    raiseDock(m_window.get(), QStringLiteral("gridDock"));
    ModelGridView *grid = m_window->grid();
    const QPoint inside = grid->currentLayout().cell(0, 0).center().toPoint();
    QTRY_VERIFY(grid->grab().toImage().pixel(inside) != qRgb(255, 255, 255)); // a colour of the map, not the blank cell
    // The next result: an export made at once still has every thumbnail.
    document->editText(words.mid(1).join(QLatin1Char(' ')));
    QTRY_VERIFY(!document->isBusy());
    grid->updateFigure();
    QImage exported(grid->size(), QImage::Format_RGB32);
    exported.fill(Qt::white);
    {
        QPainter painter(&exported);
        grid->paintFigure(painter, QRectF(exported.rect()));
    }
    QVERIFY(exported.pixel(inside) != qRgb(255, 255, 255));
    document->editText(QStringLiteral("The cat sat on the mat."));
    QTRY_VERIFY(!document->isBusy());
}

void TestMainWindow::scenesPlayInPresenterModeAndRevealOnCue()
{
    AttentionDocument *document = m_window->document();
    ScenesPanel *scenes = m_window->scenes();
    QVERIFY(scenes);
    document->editText(QStringLiteral("The animal didn't cross the street because it was too tired."));
    document->selectQuery(7);
    document->setStage(Stage::Weights);
    scenes->addScene(QStringLiteral("Predict"));
    QCOMPARE(document->scenes().size(), size_t(1));
    QCOMPARE(scenes->selectedRow(), 0);
    auto *hide = scenes->findChild<QCheckBox *>(QStringLiteral("hideWeights"));
    QVERIFY(hide && hide->isEnabled());
    hide->click();
    QVERIFY(document->scenes()[0].hideWeights);
    document->editText(QStringLiteral("the cat saw the dog"));
    document->selectQuery(1);
    document->setStage(Stage::Scores);
    scenes->addScene(QStringLiteral("Second"));
    QCOMPARE(document->scenes().size(), size_t(2));
    auto *list = scenes->findChild<QListWidget *>(QStringLiteral("sceneList"));
    QCOMPARE(list->count(), 2);
    QCOMPARE(list->item(1)->text(), QStringLiteral("2. Second"));

    // Saved and opened again (or a new workspace), the panel lists what the file holds.
    QTemporaryDir dir;
    const QString lesson = dir.filePath(QStringLiteral("lesson.attention.json"));
    QVERIFY(document->saveWorkspaceAs(lesson));
    document->newWorkspace();
    QCOMPARE(list->count(), 0);
    QVERIFY_OK(document->openWorkspace(lesson));
    QCOMPARE(list->count(), 2);
    QCOMPARE(list->item(0)->text(), QStringLiteral("1. Predict"));

    // Reordering and deleting are undo steps.
    scenes->selectRow(1);
    scenes->moveSelected(-1);
    QCOMPARE(document->scenes()[0].name, QStringLiteral("Second"));
    document->undoStack()->undo();
    QCOMPARE(document->scenes()[0].name, QStringLiteral("Predict"));
    scenes->selectRow(1);
    scenes->deleteSelected();
    QCOMPARE(document->scenes().size(), size_t(1));
    document->undoStack()->undo();
    QCOMPARE(document->scenes().size(), size_t(2));

    // Present: from the first scene, its weights hidden for the class.
    scenes->selectRow(0);
    scenes->findChild<QPushButton *>(QStringLiteral("presentScenes"))->click();
    PresenterWindow *presenter = m_window->presenter();
    QVERIFY(presenter);
    QApplication::setActiveWindow(presenter);
    QTRY_VERIFY(presenter->isActiveWindow());
    QCOMPARE(document->activeScene(), 0);
    QCOMPARE(document->workspace().text, QStringLiteral("The animal didn't cross the street because it was too tired."));
    QVERIFY2(presenter->subtitleText().startsWith(QStringLiteral("Scene 1 of 2 · Predict · “The animal")), qPrintable(presenter->subtitleText()));
    QVERIFY(presenter->titleText().startsWith(QStringLiteral("6. Softmax")));
    QCOMPARE(presenter->canvas()->figure().hiddenRow, 7);
    QCOMPARE(m_window->heatmap()->figure().hiddenRow, 7); // the window hides them too
    raiseDock(m_window.get(), QStringLiteral("chartDock"));
    QTRY_VERIFY2(m_window->chart()->title().contains(QStringLiteral("hidden until revealed")), qPrintable(m_window->chart()->title()));
    raiseDock(m_window.get(), QStringLiteral("arcDock"));
    QTRY_COMPARE(m_window->arcs()->findChild<ArcCanvas *>()->figure().hiddenQuery, 7);
    QVERIFY(presenter->arithmeticText().contains(QStringLiteral("Predict first")));
    QVERIFY(list->item(0)->text().contains(QStringLiteral("showing")));
    // The clicker: the first Page Down reveals, the next goes to the next scene, Page Up comes back.
    QTest::keyClick(presenter, Qt::Key_PageDown);
    QVERIFY(!document->weightsHidden());
    QCOMPARE(presenter->canvas()->figure().hiddenRow, -1);
    QVERIFY(presenter->arithmeticText().contains(QStringLiteral("Softmax of row 7")));
    QCOMPARE(document->activeScene(), 0);
    QTest::keyClick(presenter, Qt::Key_PageDown);
    QCOMPARE(document->activeScene(), 1);
    QCOMPARE(document->workspace().text, QStringLiteral("the cat saw the dog"));
    QCOMPARE(document->stage(), Stage::Scores);
    QCOMPARE(document->selectedQuery(), 1);
    QVERIFY2(presenter->subtitleText().startsWith(QStringLiteral("Scene 2 of 2 · Second")), qPrintable(presenter->subtitleText()));
    QTest::keyClick(presenter, Qt::Key_PageDown); // the last scene stays
    QCOMPARE(document->activeScene(), 1);
    // Within a scene the arrows still step the stages.
    QTest::keyClick(presenter, Qt::Key_Right);
    QCOMPARE(document->stage(), Stage::Scaled);
    QTest::keyClick(presenter, Qt::Key_PageUp);
    QCOMPARE(document->activeScene(), 0);
    QVERIFY(document->weightsHidden()); // hidden again for the next class
    QTest::keyClick(presenter, Qt::Key_Escape);
    QTRY_VERIFY(!m_window->presenter());
    // The revealing button in the panel does the same.
    auto *reveal = scenes->findChild<QPushButton *>(QStringLiteral("reveal"));
    QVERIFY(reveal->isEnabled());
    reveal->click();
    QVERIFY(!document->weightsHidden());
    QVERIFY(!reveal->isEnabled());
}

void TestMainWindow::challengePanelFollowsTheEdits()
{
    AttentionDocument *document = m_window->document();
    ScenesPanel *scenes = m_window->scenes();
    document->editText(QStringLiteral("the cat saw the dog and the bird"));
    document->selectHead(2);
    scenes->addScene(QStringLiteral("Make a previous-token head"));
    auto *target = scenes->findChild<QComboBox *>(QStringLiteral("target"));
    const int index = target->findData(targetPatternName(TargetPattern::PreviousToken));
    QVERIFY(index > 0);
    target->setCurrentIndex(index);
    Q_EMIT target->activated(index);
    QCOMPARE(document->scenes()[0].target, TargetPattern::PreviousToken);
    scenes->goToSelected();
    const std::optional<AttentionDocument::Challenge> challenge = document->challenge();
    QVERIFY(challenge);
    QVERIFY2(scenes->challengeText().contains(QString::number(challenge->score.mean, 'f', 3)), qPrintable(scenes->challengeText()));
    QVERIFY(scenes->challengeText().contains(QStringLiteral("attend to the previous token")));
    QCOMPARE(scenes->challengeText().contains(QStringLiteral("Reached")), challenge->score.reached);
    // An edit of the head moves the score shown.
    HeadWeights edited = document->workspace().heads[2];
    edited.wQ = document->workspace().heads[0].wQ;
    edited.wK = document->workspace().heads[0].wK;
    document->editHead(2, edited, QStringLiteral("copy"));
    const std::optional<AttentionDocument::Challenge> after = document->challenge();
    QVERIFY(after && after->score.mean != challenge->score.mean);
    QVERIFY2(scenes->challengeText().contains(QString::number(after->score.mean, 'f', 3)), qPrintable(scenes->challengeText()));
}

void TestMainWindow::handoutHasAPagePerScene()
{
    const QString pdftotext = QStandardPaths::findExecutable(QStringLiteral("pdftotext"));
    QVERIFY2(!pdftotext.isEmpty(), "pdftotext (poppler-utils) is needed to read the handout back");
    AttentionDocument *document = m_window->document();
    QTemporaryDir dir;
    // Without scenes: a page per stage of the selected head, for the selected query.
    document->editText(QStringLiteral("The animal didn't cross the street because it was too tired."));
    document->selectQuery(7);
    const QString stagesPath = dir.filePath(QStringLiteral("stages.pdf"));
    QVERIFY_OK(exportHandout(*document, stagesPath));
    auto pagesOf = [&](const QString &path) {
        QProcess process;
        process.start(pdftotext, {path, QStringLiteral("-")});
        process.waitForFinished(30000);
        return QString::fromUtf8(process.readAllStandardOutput()).split(QChar(u'\f'), Qt::SkipEmptyParts);
    };
    const QStringList stagePages = pagesOf(stagesPath);
    QCOMPARE(stagePages.size(), qsizetype(stagesFor(document->result()).size()));
    QVERIFY(stagePages.at(0).contains(QStringLiteral("Query “it” (position 7)")));
    // With scenes: a page per scene, in order.
    m_window->scenes()->addScene(QStringLiteral("First idea"));
    document->editText(QStringLiteral("the cat saw the dog"));
    m_window->scenes()->addScene(QStringLiteral("Second idea"));
    const QString scenesPath = dir.filePath(QStringLiteral("scenes.pdf"));
    QVERIFY_OK(exportHandout(*document, scenesPath));
    const QStringList scenePages = pagesOf(scenesPath);
    QCOMPARE(scenePages.size(), 2);
    // The window's way: on a worker thread with a progress dialog, the same pages. A checkpoint
    // scene (the model opened for it, as the window has none) makes a third page.
    document->openModel(QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny"));
    QTRY_VERIFY(!document->isTeaching());
    QTRY_VERIFY(!document->isBusy());
    document->editText(QStringLiteral("Hello world"));
    QTRY_VERIFY(!document->isBusy());
    m_window->scenes()->addScene(QStringLiteral("GPT-2"));
    document->useTeachingModel();
    const QString workerPath = dir.filePath(QStringLiteral("worker.pdf"));
    QVERIFY_OK(exportHandoutWithProgress(m_window.get(), *document, workerPath));
    const QStringList workerPages = pagesOf(workerPath);
    QCOMPARE(workerPages.size(), 3);
    QVERIFY(workerPages.at(2).contains(QStringLiteral("Scene 3 of 3 · GPT-2")));
    QVERIFY(workerPages.at(2).contains(QStringLiteral("gpt2-random-tiny")));
    // A destination that cannot be written is reported, and nothing is left behind.
    QVERIFY(!exportHandoutWithProgress(m_window.get(), *document, dir.filePath(QStringLiteral("no/such/folder/h.pdf"))));
    QVERIFY2(scenePages.at(0).contains(QStringLiteral("Scene 1 of 2 · First idea")), qPrintable(scenePages.at(0)));
    QVERIFY(scenePages.at(1).contains(QStringLiteral("Scene 2 of 2 · Second idea")));
    QVERIFY(scenePages.at(1).contains(QStringLiteral("the cat saw the dog")));
}

void TestMainWindow::textTheTokenizerRefusesIsExplainedInTheView()
{
    // A GPT-2 folder whose vocabulary lacks a byte and whose unknown token is not in it: a text
    // with that byte has no tokens, and the heatmap says why where the user looks.
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("gpt2"));
    QDir().mkpath(folder);
    const QString source = QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny");
    for (const QString &name : QDir(source).entryList(QDir::Files))
        QVERIFY(QFile::copy(source + QLatin1Char('/') + name, folder + QLatin1Char('/') + name));
    QFile vocabFile(folder + QStringLiteral("/vocab.json"));
    QVERIFY(vocabFile.open(QIODevice::ReadOnly));
    QJsonObject vocab = QJsonDocument::fromJson(vocabFile.readAll()).object();
    vocabFile.close();
    vocab.remove(QStringLiteral("ð"));
    QVERIFY(QFile::remove(vocabFile.fileName()));
    QVERIFY(vocabFile.open(QIODevice::WriteOnly));
    vocabFile.write(QJsonDocument(vocab).toJson());
    vocabFile.close();
    QFile config(folder + QStringLiteral("/tokenizer_config.json"));
    QVERIFY(config.open(QIODevice::WriteOnly));
    config.write(R"({"unk_token": "<unk>"})");
    config.close();
    AttentionDocument *document = m_window->document();
    QSignalSpy changed(document, &AttentionDocument::modelChanged);
    document->openModel(folder);
    QTRY_VERIFY(changed.count() > 0);
    QTRY_VERIFY(!document->isBusy());
    document->editText(QStringLiteral("a cat 🐈"));
    QTRY_VERIFY(!document->isBusy());
    QCOMPARE(document->tokenCount(), 0);
    const QString shown = m_window->heatmap()->placeholderText();
    QVERIFY2(shown.contains(QStringLiteral("not in the vocabulary")), qPrintable(shown));
    // Typing on with text it takes brings the views back.
    document->editText(QStringLiteral("a cat"));
    QTRY_VERIFY(!document->isBusy());
    QVERIFY(document->tokenCount() > 0);
    document->useTeachingModel();
}

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
