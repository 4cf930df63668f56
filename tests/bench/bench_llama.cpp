// A TinyLlama-shaped BF16 checkpoint (22 layers, hidden 2048, 32 heads sharing 4 key/value heads,
// MLP 5632, vocab 32000, random weights, ≈ 2.2 GB): time to open, the forward pass at 128 tokens
// on 2 threads, and this process's peak resident memory beside the file's size. The weights stay
// in the mapped file as BF16 (converted 64 outputs at a time), so the peak is the file plus the
// activations. A measurement, not a test.
//   bench_llama [folder]   (default: tinyllama-bf16-random beside the executable; written if missing)
#include "../randomcheckpoint.h"
#include "checkpoint.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QTextStream>

#include <sys/resource.h>

#include <algorithm>
#include <vector>

using namespace studio;

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QTextStream out(stdout);
    const QString folder = argc > 1 ? QString::fromLocal8Bit(argv[1])
                                    : QCoreApplication::applicationDirPath() + QStringLiteral("/tinyllama-bf16-random");
    if (!QFile::exists(folder + QStringLiteral("/model.safetensors"))) {
        out << "writing " << folder << " (about 2.2 GB) ..." << Qt::endl;
        if (const Status written = testing::writeRandomLlama(folder, testing::LlamaShape{}, DType::BF16); !written) {
            out << written.error << Qt::endl;
            return 1;
        }
    }
    QElapsedTimer timer;
    timer.start();
    const auto checkpoint = openCheckpoint(folder);
    if (!checkpoint) {
        out << checkpoint.error << Qt::endl;
        return 1;
    }
    const double openMs = timer.nsecsElapsed() / 1e6;
    const Checkpoint &c = **checkpoint.value;
    QString text;
    for (int i = 0; text.isEmpty() || prepareInput(c, text).value->forward.ids.size() < 128; ++i)
        text += QStringLiteral("The quick brown fox jumps over the lazy dog. ");
    auto input = prepareInput(c, text);
    input.value->forward.ids.resize(128);
    ForwardOptions options;
    options.threads = 2;
    std::vector<double> runs;
    for (int run = 0; run < 3; ++run) {
        timer.restart();
        const ModelTrace trace = c.model->forward(input.value->forward, options);
        runs.push_back(timer.nsecsElapsed() / 1e6);
    }
    std::sort(runs.begin(), runs.end());
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const double fileMb = c.weightBytes / 1e6;
    const double peakMb = usage.ru_maxrss * 1024.0 / 1e6;
    out << "file " << QString::number(fileMb, 'f', 0) << " MB, converted copies "
        << QString::number(c.model->convertedBytes() / 1e6, 'f', 2) << " MB" << Qt::endl;
    out << "open " << QString::number(openMs, 'f', 0) << " ms (maps the file, reads every weight once for non-finite values)" << Qt::endl;
    out << "forward, 128 tokens, 2 threads: median " << QString::number(runs[1], 'f', 0) << " ms (runs "
        << QString::number(runs[0], 'f', 0) << " / " << QString::number(runs[2], 'f', 0) << ")" << Qt::endl;
    out << "peak resident " << QString::number(peakMb, 'f', 0) << " MB = " << QString::number(peakMb / fileMb, 'f', 2)
        << " x the file" << Qt::endl;
    return 0;
}
