#include "attentiondocument.h"
#include "heatmapview.h"
#include "mainwindow.h"

#include <QComboBox>
#include <QLineEdit>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>

using namespace studio;

class TestMainWindow : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
    void typingRecomputesTheHeatmap();
    void undoRestoresTheSentence();
    void clickingACellSelectsTheQuery();
    void choosingAHeadShowsIt();
};

void TestMainWindow::typingRecomputesTheHeatmap()
{
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    auto *sentence = window.findChild<QLineEdit *>(QStringLiteral("sentence"));
    auto *heatmap = window.findChild<HeatmapView *>(QStringLiteral("heatmap"));
    QVERIFY(sentence && heatmap);
    QCOMPARE(heatmap->figure().rowLabels.size(), 7); // The cat sat on the mat .
    QSignalSpy spy(window.document(), &AttentionDocument::traceChanged);
    sentence->selectAll();
    QTest::keyClicks(sentence, QStringLiteral("a dog ran"));
    QVERIFY(spy.count() >= 1);
    QCOMPARE(window.document()->workspace().text, QStringLiteral("a dog ran"));
    QCOMPARE(heatmap->figure().rowLabels, (QStringList{QStringLiteral("a"), QStringLiteral("dog"), QStringLiteral("ran")}));
    QCOMPARE(heatmap->figure().values, window.document()->trace().heads[0].weights);
}

void TestMainWindow::undoRestoresTheSentence()
{
    MainWindow window;
    auto *sentence = window.findChild<QLineEdit *>(QStringLiteral("sentence"));
    const QString original = sentence->text();
    QTest::keyClicks(sentence, QStringLiteral(" Then"));
    QCOMPARE(window.document()->workspace().text, original + QStringLiteral(" Then"));
    // Consecutive keystrokes merge into one undo step.
    QCOMPARE(window.document()->undoStack()->count(), 1);
    window.document()->undoStack()->undo();
    QCOMPARE(window.document()->workspace().text, original);
    QCOMPARE(sentence->text(), original);
    QCOMPARE(window.document()->tokenCount(), 7);
    window.document()->undoStack()->redo();
    QCOMPARE(sentence->text(), original + QStringLiteral(" Then"));
}

void TestMainWindow::clickingACellSelectsTheQuery()
{
    MainWindow window;
    window.resize(900, 800);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    auto *heatmap = window.findChild<HeatmapView *>(QStringLiteral("heatmap"));
    const HeatmapLayout layout(7, 7, QRectF(heatmap->rect()), heatmapMargins(heatmap->figure(), heatmap->style()));
    QTest::mouseClick(heatmap, Qt::LeftButton, {}, layout.cellRect(3, 5).center().toPoint());
    QCOMPARE(window.document()->selectedQuery(), 3);
    QCOMPARE(heatmap->figure().selectedRow, 3);
}

void TestMainWindow::choosingAHeadShowsIt()
{
    MainWindow window;
    auto *head = window.findChild<QComboBox *>(QStringLiteral("head"));
    auto *heatmap = window.findChild<HeatmapView *>(QStringLiteral("heatmap"));
    QCOMPARE(head->count(), 3);
    head->setCurrentIndex(2);
    QCOMPARE(window.document()->selectedHead(), 2);
    QCOMPARE(heatmap->figure().values, window.document()->trace().heads[2].weights);
}

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
