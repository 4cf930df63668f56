// Measures a GPT-2-small-shaped checkpoint (12 layers, 12 heads, n_embd 768, vocab 50257, random
// weights, ~500 MB): time to open (memory-mapped), resident memory, and the forward pass with every
// attention at T = 8 … 1024 on 1 and 2 threads. A measurement, not a test.
//   bench_forward [folder]   (default: gpt2-small-random beside the executable; written if missing)
#include "checkpoint.h"
#include "embedding.h"
#include "benchcheckpoint.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTextStream>

#include <algorithm>
#include <vector>

using namespace studio;

namespace {

QTextStream out(stdout);

double residentMegabytes()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : status.readAll().split('\n'))
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').first().toDouble() / 1024.0;
    return -1;
}


} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    const Result<QString> prepared = bench::gpt2SmallFolder(argc, argv);
    if (!prepared) {
        out << prepared.error << Qt::endl;
        return 1;
    }
    const QString folder = *prepared.value;
    const double before = residentMegabytes();
    QElapsedTimer timer;
    timer.start();
    const auto checkpoint = openCheckpoint(folder);
    const double openMs = double(timer.nsecsElapsed()) / 1e6;
    if (!checkpoint) {
        out << checkpoint.error << Qt::endl;
        return 1;
    }
    const Checkpoint &c = **checkpoint.value;
    out << QStringLiteral("open: %1 ms (file %2 MB; resident %3 MB before, %4 MB after open)\n")
               .arg(openMs, 0, 'f', 1).arg(double(c.weightBytes) / 1e6, 0, 'f', 0).arg(before, 0, 'f', 0).arg(residentMegabytes(), 0, 'f', 0);

    const QList<int> lengths = argc > 2 ? QList<int>{QString::fromLocal8Bit(argv[2]).toInt()} : QList<int>{8, 32, 128, 512, 1024};
    out << "forward with all attentions: median (p95) ms\n   T   1 thread          2 threads\n";
    SplitMix64 rng(7);
    for (int tokens : lengths) {
        ForwardInput input;
        for (int t = 0; t < tokens; ++t)
            input.ids.push_back(int(rng.next() % 50257));
        out << QStringLiteral("%1").arg(tokens, 4);
        for (int threads : {1, 2}) {
            ForwardOptions options;
            options.threads = threads;
            const int runs = tokens >= 1024 ? 5 : tokens >= 512 ? 7 : 21;
            std::vector<double> times;
            c.model->forward(input, options); // warm the page cache and the mapping
            for (int r = 0; r < runs; ++r) {
                timer.restart();
                const ModelTrace trace = c.model->forward(input, options);
                times.push_back(double(timer.nsecsElapsed()) / 1e6);
            }
            std::sort(times.begin(), times.end());
            out << QStringLiteral("   %1 (%2)").arg(times[times.size() / 2], 8, 'f', 1).arg(times[size_t(double(times.size() - 1) * 0.95)], 7, 'f', 1);
        }
        out << Qt::endl;
    }
    out << QStringLiteral("resident after the runs: %1 MB\n").arg(residentMegabytes(), 0, 'f', 0);
    return 0;
}
