// Measures how long a user waits for the window: from starting a process to the first paint of the
// heatmap, as the app starts (QApplication, the main window on the teaching model, show). The
// benchmark runs itself as that process several times and reports the median, exec and dynamic
// linking included. A measurement, not a test.   bench_first_paint [runs]
#include "heatmapview.h"
#include "mainwindow.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QProcess>
#include <QStandardPaths>
#include <QTextStream>

#include <algorithm>
#include <cstdio>
#include <vector>

using namespace studio;

namespace {

// The child: the window as main() makes it; prints a line and leaves at the heatmap's first paint.
class FirstPaint : public QObject {
public:
    bool eventFilter(QObject *watched, QEvent *event) override
    {
        if (event->type() == QEvent::Paint) {
            std::puts("painted");
            std::fflush(stdout);
            std::_Exit(0); // nothing to tear down: the parent timed what it waited for
        }
        return QObject::eventFilter(watched, event);
    }
};

int child(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QStandardPaths::setTestModeEnabled(true);
    MainWindow window;
    FirstPaint watcher;
    window.heatmap()->installEventFilter(&watcher);
    window.resize(1600, 1000);
    window.show();
    return app.exec();
}

} // namespace

int main(int argc, char *argv[])
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    if (argc > 1 && QByteArray(argv[1]) == "--child")
        return child(argc, argv);
    QCoreApplication app(argc, argv);
    const int runs = argc > 1 ? std::max(1, QString::fromLocal8Bit(argv[1]).toInt()) : 9;
    std::vector<double> times;
    for (int i = 0; i < runs + 1; ++i) { // the first warms the page cache
        QProcess process;
        QElapsedTimer timer;
        timer.start();
        process.start(QCoreApplication::applicationFilePath(), {QStringLiteral("--child")});
        if (!process.waitForFinished(30000) || !process.readAllStandardOutput().contains("painted")) {
            QTextStream(stderr) << "the window did not paint: " << process.readAllStandardError() << Qt::endl;
            return 1;
        }
        if (i > 0)
            times.push_back(double(timer.nsecsElapsed()) / 1e6);
    }
    std::sort(times.begin(), times.end());
    QTextStream(stdout) << QStringLiteral("process start → first paint of the window: median %1 ms, min %2 ms (%3 runs)\n")
                               .arg(times[times.size() / 2], 0, 'f', 1).arg(times.front(), 0, 'f', 1).arg(runs);
    return 0;
}
