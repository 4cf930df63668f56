// Measures the forward pass with every attention on a GPT-2 folder: by default its own
// GPT-2-small-shaped checkpoint (12 layers, 12 heads, n_embd 768, vocab 50257, random weights,
// ~500 MB, written beside the executable the first time), or the one given. Also the machine's fp32
// peak in the same run, and the linear layers' share of it. A measurement, not a test.
//   bench_forward [--model DIR] [--threads N] [--T 8,32,128] [--precision fp32|bf16] [--json]
// --json prints one line per length:
//   {"T": 128, "threads": 2, "precision": "fp32", "median_ms": …, "min_ms": …, "linear_gflops": …,
//    "peak_gflops": …, "linear_share_of_peak": …}   (bf16 adds "max_deviation" from the fp32 run)
#include "benchcheckpoint.h"
#include "checkpoint.h"
#include "embedding.h"
#include "peak.h"

#include <QCommandLineParser>
#include <QCoreApplication>
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

// Multiply-adds ×2 in one forward pass's linear layers at T tokens (without keepFinalHidden the
// last layer's MLP is not run: nothing the views show depends on it).
double linearFlops(const ModelConfig &config, int tokens)
{
    const double c = config.hidden, inner = config.intermediate, d = config.headDim();
    const double attention = c * (config.heads + 2.0 * config.kvHeads) * d + config.heads * d * c; // q, k, v; W_O
    const double mlp = (config.traits().gatedMlp ? 3.0 : 2.0) * c * inner;
    return 2.0 * tokens * (attention * config.layers + mlp * (config.layers - 1));
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Times the forward pass with every attention on a GPT-2 checkpoint."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("model"), QStringLiteral("GPT-2 folder (default: a random GPT-2-small-shaped one)."), QStringLiteral("dir")});
    parser.addOption({QStringLiteral("threads"), QStringLiteral("Threads (default 2)."), QStringLiteral("n"), QStringLiteral("2")});
    parser.addOption({QStringLiteral("T"), QStringLiteral("Lengths (default 8,32,128,512,1024)."), QStringLiteral("list"), QStringLiteral("8,32,128,512,1024")});
    parser.addOption({QStringLiteral("precision"), QStringLiteral("fp32 (default) or bf16."), QStringLiteral("mode"), QStringLiteral("fp32")});
    parser.addOption({QStringLiteral("json"), QStringLiteral("One JSON line per length.")});
    parser.process(app);

    const auto precision = precisionFromName(parser.value(QStringLiteral("precision")));
    if (!precision) {
        out << "--precision is fp32 or bf16\n";
        return 2;
    }
    if (*precision == Precision::Bf16 && !bf16Supported()) {
        out << bf16Unavailable() << Qt::endl;
        return 2;
    }
    const int threads = std::max(1, parser.value(QStringLiteral("threads")).toInt());
    QList<int> lengths;
    for (const QString &part : parser.value(QStringLiteral("T")).split(QLatin1Char(','), Qt::SkipEmptyParts))
        if (const int t = part.toInt(); t > 0)
            lengths.push_back(t);
    const bool json = parser.isSet(QStringLiteral("json"));

    QString folder = parser.value(QStringLiteral("model"));
    if (folder.isEmpty()) {
        char *none[] = {argv[0]};
        const Result<QString> prepared = bench::gpt2SmallFolder(1, none);
        if (!prepared) {
            out << prepared.error << Qt::endl;
            return 1;
        }
        folder = *prepared.value;
    }
    // Before anything else runs threads: the peak is what the cores do with nothing in the way.
    const double peak = bench::measuredPeakGflops(threads);
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
    if (!json) {
        out << QStringLiteral("open: %1 ms (file %2 MB; resident %3 MB before, %4 MB after open)\n")
                   .arg(openMs, 0, 'f', 1).arg(double(c.weightBytes) / 1e6, 0, 'f', 0).arg(before, 0, 'f', 0).arg(residentMegabytes(), 0, 'f', 0);
        out << QStringLiteral("fp32 peak of %1 thread(s): %2 GFLOP/s\n").arg(threads).arg(peak, 0, 'f', 1);
        out << QStringLiteral("forward with all attentions, %1, %2 thread(s)\n     T   median ms    min ms   linear GFLOP/s (of peak)%3\n")
                   .arg(precisionName(*precision)).arg(threads).arg(*precision == Precision::Bf16 ? QStringLiteral("   max deviation") : QString());
    }
    SplitMix64 rng(7);
    for (int tokens : lengths) {
        tokens = std::min(tokens, c.model->config().maxPositions);
        ForwardInput input;
        for (int t = 0; t < tokens; ++t)
            input.ids.push_back(int(rng.next() % quint64(c.model->config().vocabSize)));
        ForwardOptions options;
        options.threads = threads;
        options.precision = *precision;
        ModelTrace first = c.model->forward(input, options); // warms the mapping (and makes bf16's copies)
        c.model->compareWithFp32(input, options, first);     // bf16: its deviation from fp32
        const double deviation = *precision == Precision::Bf16 ? first.maxDeviation : -1;
        const int runs = tokens >= 1024 ? 5 : tokens >= 512 ? 7 : 21;
        std::vector<double> times;
        qint64 linearNanoseconds = 0;
        options.linearNanoseconds = &linearNanoseconds;
        for (int r = 0; r < runs; ++r) {
            timer.restart();
            const ModelTrace trace = c.model->forward(input, options);
            times.push_back(double(timer.nsecsElapsed()) / 1e6);
        }
        std::sort(times.begin(), times.end());
        const double median = times[times.size() / 2];
        const double linearGflops = linearFlops(c.model->config(), tokens) * runs / double(linearNanoseconds);
        if (json) {
            QJsonObject line{{QStringLiteral("T"), tokens},
                             {QStringLiteral("threads"), threads},
                             {QStringLiteral("precision"), precisionName(*precision)},
                             {QStringLiteral("median_ms"), std::round(median * 100) / 100},
                             {QStringLiteral("min_ms"), std::round(times.front() * 100) / 100},
                             {QStringLiteral("linear_gflops"), std::round(linearGflops * 10) / 10},
                             {QStringLiteral("peak_gflops"), std::round(peak * 10) / 10},
                             {QStringLiteral("linear_share_of_peak"), std::round(linearGflops / peak * 1000) / 1000}};
            if (deviation >= 0)
                line.insert(QStringLiteral("max_deviation"), deviation);
            out << QJsonDocument(line).toJson(QJsonDocument::Compact) << Qt::endl;
        } else {
            out << QStringLiteral("%1   %2  %3   %4 (%5 %)").arg(tokens, 4).arg(median, 9, 'f', 1).arg(times.front(), 8, 'f', 1)
                       .arg(linearGflops, 8, 'f', 1).arg(100.0 * linearGflops / peak, 0, 'f', 0);
            if (deviation >= 0)
                out << QStringLiteral("   %1").arg(deviation, 0, 'g', 3);
            out << Qt::endl;
        }
    }
    if (!json)
        out << QStringLiteral("resident after the runs: %1 MB\n").arg(residentMegabytes(), 0, 'f', 0);
    return 0;
}
