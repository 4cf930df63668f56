// Measures a GPT-2-small-shaped checkpoint (12 layers, 12 heads, n_embd 768, vocab 50257, random
// weights, ~500 MB): time to open (memory-mapped), resident memory, and the forward pass with every
// attention at T = 8 … 1024 on 1 and 2 threads. A measurement, not a test.
//   bench_forward [folder]   (default: gpt2-small-random beside the executable; written if missing)
#include "checkpoint.h"
#include "embedding.h"
#include "safetensorswriter.h"

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

Status writeGpt2Small(const QString &folder)
{
    QDir().mkpath(folder);
    const int layers = 12, c = 768, vocab = 50257, positions = 1024;
    QFile config(folder + QStringLiteral("/config.json"));
    if (!config.open(QIODevice::WriteOnly))
        return Status::failure(QStringLiteral("cannot write config.json"));
    config.write(QJsonDocument(QJsonObject{
        {QStringLiteral("model_type"), QStringLiteral("gpt2")}, {QStringLiteral("n_layer"), layers},
        {QStringLiteral("n_head"), 12}, {QStringLiteral("n_embd"), c}, {QStringLiteral("vocab_size"), vocab},
        {QStringLiteral("n_positions"), positions}, {QStringLiteral("layer_norm_epsilon"), 1e-5},
        {QStringLiteral("activation_function"), QStringLiteral("gelu_new")}}).toJson());
    config.close();
    const QString tokenizers = QStringLiteral(STUDIO_TEST_DATA "/tokenizers/gpt2/");
    QFile::copy(tokenizers + QStringLiteral("vocab.json"), folder + QStringLiteral("/vocab.json"));
    QFile::copy(tokenizers + QStringLiteral("merges.txt"), folder + QStringLiteral("/merges.txt"));

    std::uint64_t seed = 1;
    auto random = [&seed](qint64 count, double scale, double offset = 0.0) {
        const std::uint64_t s = seed++;
        return [count, scale, offset, s] {
            SplitMix64 rng(s);
            std::vector<float> values(static_cast<size_t>(count));
            for (float &v : values)
                v = float(offset + (rng.uniform() * 2 - 1) * scale);
            return encodeFloats(values, DType::F32);
        };
    };
    std::vector<TensorToWrite> tensors;
    auto add = [&](const QString &name, std::vector<qint64> shape, double scale, double offset = 0.0) {
        qint64 count = 1;
        for (qint64 d : shape)
            count *= d;
        tensors.push_back({name, DType::F32, shape, random(count, scale, offset)});
    };
    add(QStringLiteral("wte.weight"), {vocab, c}, 0.1);
    add(QStringLiteral("wpe.weight"), {positions, c}, 0.02);
    for (int l = 0; l < layers; ++l) {
        const QString p = QStringLiteral("h.%1.").arg(l);
        add(p + QStringLiteral("ln_1.weight"), {c}, 0.1, 1.0);
        add(p + QStringLiteral("ln_1.bias"), {c}, 0.02);
        add(p + QStringLiteral("attn.c_attn.weight"), {c, 3 * c}, 0.06);
        add(p + QStringLiteral("attn.c_attn.bias"), {3 * c}, 0.02);
        add(p + QStringLiteral("attn.c_proj.weight"), {c, c}, 0.03);
        add(p + QStringLiteral("attn.c_proj.bias"), {c}, 0.02);
        add(p + QStringLiteral("ln_2.weight"), {c}, 0.1, 1.0);
        add(p + QStringLiteral("ln_2.bias"), {c}, 0.02);
        add(p + QStringLiteral("mlp.c_fc.weight"), {c, 4 * c}, 0.03);
        add(p + QStringLiteral("mlp.c_fc.bias"), {4 * c}, 0.02);
        add(p + QStringLiteral("mlp.c_proj.weight"), {4 * c, c}, 0.015);
        add(p + QStringLiteral("mlp.c_proj.bias"), {c}, 0.02);
    }
    add(QStringLiteral("ln_f.weight"), {c}, 0.1, 1.0);
    add(QStringLiteral("ln_f.bias"), {c}, 0.02);
    return writeSafetensors(folder + QStringLiteral("/model.safetensors"), tensors);
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    const QString folder = argc > 1 ? QString::fromLocal8Bit(argv[1])
                                    : QCoreApplication::applicationDirPath() + QStringLiteral("/gpt2-small-random");
    if (!QFile::exists(folder + QStringLiteral("/model.safetensors"))) {
        out << "writing " << folder << " ..." << Qt::endl;
        if (const Status written = writeGpt2Small(folder); !written) {
            out << written.error << Qt::endl;
            return 1;
        }
    }
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
