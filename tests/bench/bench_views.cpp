// Measures what a user waits for in the window: an edit recomputed and every visible view
// repainted, and single frames of the heatmap and head view at large token counts. Runs on Qt's
// raster engine (offscreen). A measurement, not a test.
#include "arcview.h"
#include "attentiondocument.h"
#include "distributionchart.h"
#include "heatmapview.h"
#include "mainwindow.h"
#include "modelgridview.h"
#include "stepthroughview.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QImage>
#include <QMouseEvent>
#include <QPainter>
#include <QStandardPaths>
#include <QTextStream>

#include <algorithm>
#include <functional>
#include <vector>

using namespace studio;

namespace {

QTextStream out(stdout);

QString sentenceOf(int tokens, int variant)
{
    static const QStringList words = {QStringLiteral("the"), QStringLiteral("cat"), QStringLiteral("sat"), QStringLiteral("on"),
                                      QStringLiteral("a"), QStringLiteral("warm"), QStringLiteral("mat"), QStringLiteral("because")};
    QStringList sentence;
    for (int i = 0; i < tokens; ++i)
        sentence.append(words.at((i + variant) % words.size()));
    return sentence.join(QLatin1Char(' '));
}

void report(const QString &what, int runs, const std::function<void()> &body)
{
    body(); // warm up
    std::vector<double> times;
    QElapsedTimer timer;
    for (int i = 0; i < runs; ++i) {
        timer.start();
        body();
        times.push_back(double(timer.nsecsElapsed()) / 1e6);
    }
    std::sort(times.begin(), times.end());
    out << QStringLiteral("%1  median %2 ms  p95 %3 ms  (%4 runs)\n")
               .arg(what.leftJustified(58)).arg(times[times.size() / 2], 7, 'f', 2)
               .arg(times[size_t(double(times.size() - 1) * 0.95)], 7, 'f', 2).arg(runs);
    out.flush();
}

void renderWidget(QWidget *widget)
{
    QImage image(widget->size(), QImage::Format_ARGB32_Premultiplied);
    widget->render(&image);
}

} // namespace

int main(int argc, char *argv[])
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QStandardPaths::setTestModeEnabled(true);
    MainWindow window;
    window.resize(1600, 1000);
    window.show();
    QApplication::processEvents();
    AttentionDocument *document = window.document();
    document->selectQuery(3);

    int variant = 0;
    document->editText(sentenceOf(32, 0));
    // The default layout shows the heatmap, the head view and the step-through; the model view,
    // distribution and weights wait in tabs and catch up when shown.
    report(QStringLiteral("edit → recompute → repaint visible views, 32 tokens"), 200, [&] {
        document->editText(sentenceOf(32, ++variant % 2));
        renderWidget(window.heatmap());
        renderWidget(window.arcs());
        renderWidget(window.steps());
    });
    report(QStringLiteral("edit → recompute only, 32 tokens"), 200, [&] { document->editText(sentenceOf(32, ++variant % 2)); });
    report(QStringLiteral("  heatmap render, 32 tokens"), 200, [&] { renderWidget(window.heatmap()); });
    report(QStringLiteral("  head view render, 32 tokens"), 200, [&] { renderWidget(window.arcs()); });
    report(QStringLiteral("  step-through render, 32 tokens"), 200, [&] { renderWidget(window.steps()); });
    report(QStringLiteral("edit → the window's own repaint, 32 tokens"), 200, [&] {
        document->editText(sentenceOf(32, ++variant % 2));
        window.repaint();
    });

    for (int tokens : {256, 1024}) {
        document->editText(sentenceOf(tokens, 0));
        report(QStringLiteral("heatmap frame, %1 tokens").arg(tokens), 50, [&] { renderWidget(window.heatmap()); });
    }
    for (int tokens : {64, 256}) {
        document->editText(sentenceOf(tokens, 0));
        ArcCanvas *canvas = window.arcs()->canvas();
        QEvent leave0(QEvent::Leave);
        QApplication::sendEvent(canvas, &leave0);
        report(QStringLiteral("head view frame (cached), %1 tokens, %2 heads").arg(tokens).arg(canvas->figure().heads.size()), 50,
               [&] { renderWidget(canvas); });
        report(QStringLiteral("head view redraw after an edit, %1 tokens").arg(tokens), 10,
               [&] { canvas->setFigure(canvas->figure()); renderWidget(canvas); });
        QEvent leave(QEvent::Leave);
        QApplication::sendEvent(canvas, &leave);
        QMouseEvent hover(QEvent::MouseMove, QPointF(20, canvas->height() / 2.0), QPointF(20, canvas->height() / 2.0), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
        QApplication::sendEvent(canvas, &hover);
        report(QStringLiteral("head view hover frame, %1 tokens").arg(tokens), 50, [&] { renderWidget(canvas); });
    }
    return 0;
}
