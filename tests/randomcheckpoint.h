#pragma once

// A GPT-2-family checkpoint of any shape with random weights and the GPT-2 tokenizer files, for
// tests and benchmarks that need sizes the stored checkpoints do not have.

#include "embedding.h"
#include "result.h"
#include "safetensorswriter.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>

#include <vector>

namespace studio::testing {

struct Gpt2Shape {
    int layers = 12;
    int heads = 12;
    int hidden = 768;
    int vocab = 50257; // GPT-2's tokenizer needs every id below 50257
    int positions = 1024;
};

inline Status writeRandomGpt2(const QString &folder, const Gpt2Shape &shape)
{
    QDir().mkpath(folder);
    const int layers = shape.layers, c = shape.hidden, vocab = shape.vocab, positions = shape.positions;
    QFile config(folder + QStringLiteral("/config.json"));
    if (!config.open(QIODevice::WriteOnly))
        return Status::failure(QStringLiteral("cannot write config.json"));
    config.write(QJsonDocument(QJsonObject{
        {QStringLiteral("model_type"), QStringLiteral("gpt2")}, {QStringLiteral("n_layer"), layers},
        {QStringLiteral("n_head"), shape.heads}, {QStringLiteral("n_embd"), c}, {QStringLiteral("vocab_size"), vocab},
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
    auto add = [&](const QString &name, std::vector<qint64> dims, double scale, double offset = 0.0) {
        qint64 count = 1;
        for (qint64 d : dims)
            count *= d;
        tensors.push_back({name, DType::F32, dims, random(count, scale, offset)});
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

} // namespace studio::testing
