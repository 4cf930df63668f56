// Measures the window while it works on what attention is for, on a GPT-2-small-sized checkpoint:
// generating 20 tokens one run after another (with the next-token panel and the heatmap shown),
// then attention flow at the window's limit (12 layers × 71 tokens) shown in the heatmap. A 1 ms
// timer records the longest gap between its ticks: the longest the window stood still.
// A measurement, not a test.   bench_generate [model folder]
#include "attentiondocument.h"
#include "attentionflow.h"
#include "benchcheckpoint.h"
#include "flowjob.h"
#include "heatmapview.h"
#include "stallmeter.h"
#include "mainwindow.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QStandardPaths>
#include <QTextStream>

using namespace studio;

int main(int argc, char *argv[])
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QStandardPaths::setTestModeEnabled(true);
    const Result<QString> prepared = bench::gpt2SmallFolder(argc, argv);
    if (!prepared) {
        QTextStream(stderr) << prepared.error << Qt::endl;
        return 1;
    }
    MainWindow window;
    window.resize(1600, 1000);
    window.show();
    QApplication::processEvents();
    AttentionDocument *document = window.document();

    bench::StallMeter stalls;
    const auto waitFor = [&](const std::function<bool()> &done) {
        while (!done())
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 50);
    };

    document->openModel(*prepared.value);
    waitFor([&] { return !document->isTeaching() && !document->isBusy(); });
    document->editText(QStringLiteral("The animal didn't cross the street because it was too tired, so"));
    waitFor([&] { return !document->isBusy(); });
    const int start = document->tokenCount();

    QElapsedTimer clock;
    stalls.start();
    clock.start();
    document->generate(20, {}, false, 0);
    waitFor([&] { return !document->isGenerating() && !document->isBusy(); });
    const qint64 generation = clock.elapsed();
    const qint64 generationStall = stalls.longestMs();
    QTextStream(stdout) << QStringLiteral("generate 20 tokens (%1 → %2 tokens): %3 ms in all, %4 ms a token; longest GUI-thread stall %5 ms\n")
                               .arg(start).arg(document->tokenCount()).arg(generation).arg(double(generation) / 20, 0, 'f', 0)
                               .arg(generationStall);

    QStringList words;
    for (int i = 0; i < 70; ++i) // "A" and 70 words: 71 tokens, the window's limit at 12 layers
        words.append(QStringLiteral(" word"));
    document->editText(QStringLiteral("A") + words.join(QString()));
    waitFor([&] { return !document->isBusy(); });
    stalls.start();
    clock.restart();
    window.heatmap()->setStage(HeatmapStage::Flow);
    FlowJob *flow = document->flowJob();
    if (flow->state() == FlowJob::State::TooLarge) {
        QTextStream(stdout) << flow->statusText() << Qt::endl;
        return 1;
    }
    waitFor([&] { return flow->state() == FlowJob::State::Ready; });
    QTextStream(stdout) << QStringLiteral("attention flow, %1 layers × %2 tokens (cost %3, estimate %4 s): %5 ms; longest GUI-thread stall %6 ms\n")
                               .arg(document->result().layers).arg(document->tokenCount())
                               .arg(attentionFlowCost(document->result().layers, document->tokenCount()), 0, 'g', 3)
                               .arg(flow->estimatedSeconds(), 0, 'f', 1).arg(clock.elapsed()).arg(stalls.longestMs());
    return 0;
}
