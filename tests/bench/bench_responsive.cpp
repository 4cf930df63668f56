// Measures how long the GUI thread is blocked while a GPT-2-small-sized checkpoint opens and runs
// at 512 tokens in a real window, and the model view is then brought to the front: a 1 ms timer
// records the longest gap between its ticks.
// A measurement, not a test.   bench_responsive [model folder]
#include "attentiondocument.h"
#include "benchcheckpoint.h"
#include "mainwindow.h"

#include <QApplication>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QStandardPaths>
#include <QTextStream>
#include <QTimer>

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
    const QString folder = *prepared.value;
    MainWindow window;
    window.resize(1600, 1000);
    window.show();
    QApplication::processEvents();
    AttentionDocument *document = window.document();

    QElapsedTimer sinceTick;
    qint64 longest = 0;
    QString phase = QStringLiteral("open");
    QString longestPhase;
    QTimer ticker;
    ticker.setInterval(1);
    QObject::connect(&ticker, &QTimer::timeout, [&] {
        const qint64 gap = sinceTick.restart();
        if (gap > longest) {
            longest = gap;
            longestPhase = phase;
        }
    });
    QElapsedTimer total;
    total.start();
    sinceTick.start();
    ticker.start();

    QStringList words;
    for (int i = 0; i < 512; ++i)
        words.append(QStringLiteral("token"));
    bool ran = false;
    QObject::connect(document, &AttentionDocument::modelChanged, [&] {
        phase = QStringLiteral("run 512 tokens");
        document->editText(QStringLiteral("x") + words.join(QLatin1Char(' ')).mid(1));
    });
    QObject::connect(document, &AttentionDocument::noticeChanged, [&](const QString &notice) {
        if (!notice.isEmpty())
            QTextStream(stderr) << notice << Qt::endl;
    });
    QObject::connect(document, &AttentionDocument::resultChanged, [&] {
        if (!document->isTeaching() && document->tokenCount() >= 500 && !ran) {
            ran = true;
            phase = QStringLiteral("views update");
            // Then the model view's tab is brought to the front: its 144 thumbnails of 512 tokens.
            QTimer::singleShot(500, &app, [&] {
                phase = QStringLiteral("model view shown");
                if (auto *dock = window.findChild<QDockWidget *>(QStringLiteral("gridDock")))
                    dock->raise();
            });
            QTimer::singleShot(1500, &app, [] { QCoreApplication::exit(0); }); // exit, not quit: no unsaved-changes prompt
        }
    });
    QObject::connect(document, &AttentionDocument::modelFailed, [&](const QString &error) {
        QTextStream(stderr) << error << Qt::endl;
        app.exit(1);
    });
    document->openModel(folder);
    const int code = app.exec();
    QTextStream(stdout) << QStringLiteral("open + run at %1 tokens: %2 ms in all; longest GUI-thread stall %3 ms (during %4)\n")
                               .arg(document->tokenCount()).arg(total.elapsed()).arg(longest).arg(longestPhase);
    return code;
}
