// Measures translation on an opus-mt-shaped Marian model (6 + 6 layers, 8 heads, d_model 512,
// 58,101-token vocabulary, random weights): the forward pass with every attention of the three
// kinds at several lengths, then Translate in the window, a run and an undo step per token,
// with a 1 ms timer recording the longest the window stood still.
// A measurement, not a test.   bench_translate [model folder]
#include "../randomcheckpoint.h"
#include "attentiondocument.h"
#include "mainwindow.h"
#include "stallmeter.h"
#include "translationcheckpoint.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QStandardPaths>
#include <QTextStream>

#include <algorithm>

using namespace studio;

int main(int argc, char *argv[])
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QStandardPaths::setTestModeEnabled(true);
    const QString folder = argc > 1 ? QString::fromLocal8Bit(argv[1]) : QCoreApplication::applicationDirPath() + QStringLiteral("/marian-opus-mt-random");
    if (!QFile::exists(folder + QStringLiteral("/model.safetensors")))
        if (const Status written = testing::writeRandomMarian(folder, {}); !written) {
            QTextStream(stderr) << written.error << Qt::endl;
            return 1;
        }
    const auto opened = openTranslationCheckpoint(folder);
    if (!opened) {
        QTextStream(stderr) << opened.error << Qt::endl;
        return 1;
    }
    const TranslationCheckpoint &checkpoint = **opened.value;
    QTextStream out(stdout);

    // The forward pass: source and target of T tokens each, median of 7 runs, 2 threads.
    for (int tokens : {8, 32, 128}) {
        TranslationInput input;
        for (int t = 0; t < tokens; ++t) {
            input.sourceIds.push_back(2 + (t * 37) % 600);
            input.decoderIds.push_back(t == 0 ? checkpoint.config.decoderStartId : 2 + (t * 53) % 600);
        }
        std::vector<double> times;
        for (int round = 0; round < 7; ++round) {
            QElapsedTimer clock;
            clock.start();
            const TranslationTrace trace = checkpoint.model->forward(input);
            times.push_back(double(clock.nsecsElapsed()) / 1e6);
        }
        std::sort(times.begin(), times.end());
        out << QStringLiteral("forward, source and target of %1 tokens (every map of the three kinds): median %2 ms, min %3 ms\n")
                   .arg(tokens).arg(times[3], 0, 'f', 1).arg(times[0], 0, 'f', 1);
    }

    MainWindow window;
    window.resize(1600, 1000);
    window.show();
    QApplication::processEvents();
    AttentionDocument *document = window.document();
    const auto waitFor = [&](const std::function<bool()> &done) {
        while (!done())
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 50);
    };
    document->openModel(folder);
    waitFor([&] { return document->isTranslation() && !document->isBusy(); });
    document->editText(QStringLiteral("The animal didn't cross the street because it was too tired, so it sat down and waited."));
    waitFor([&] { return !document->isBusy(); });
    bench::StallMeter stalls;
    QElapsedTimer clock;
    stalls.start();
    clock.start();
    document->translate(30);
    waitFor([&] { return !document->isGenerating() && !document->isBusy(); });
    const qint64 elapsed = clock.elapsed();
    const int written = document->target().ids ? int(document->target().ids->size()) : 0;
    out << QStringLiteral("Translate in the window, %1 source tokens: %2 tokens in %3 ms, %4 ms a token; longest GUI-thread stall %5 ms\n")
               .arg(document->sourceTokenCount()).arg(written).arg(elapsed).arg(written > 0 ? double(elapsed) / written : 0.0, 0, 'f', 0)
               .arg(stalls.longestMs());
    return 0;
}
