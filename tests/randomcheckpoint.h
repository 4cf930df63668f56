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

// Tensors of uniform random values, each produced only when the file is written.
struct RandomTensors {
    explicit RandomTensors(DType type) : dtype(type) {}
    void add(const QString &name, std::vector<qint64> dims, double scale, double offset = 0.0)
    {
        qint64 count = 1;
        for (qint64 d : dims)
            count *= d;
        const std::uint64_t s = seed++;
        const DType type = dtype;
        list.push_back({name, type, dims, [count, scale, offset, s, type] {
                            SplitMix64 rng(s);
                            std::vector<float> values(static_cast<size_t>(count));
                            for (float &v : values)
                                v = float(offset + (rng.uniform() * 2 - 1) * scale);
                            return encodeFloats(values, type);
                        }});
    }
    DType dtype;
    std::uint64_t seed = 1;
    std::vector<TensorToWrite> list;
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

    RandomTensors tensors(DType::F32);
    auto add = [&tensors](const QString &name, std::vector<qint64> dims, double scale, double offset = 0.0) {
        tensors.add(name, std::move(dims), scale, offset);
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
    return writeSafetensors(folder + QStringLiteral("/model.safetensors"), tensors.list);
}

struct LlamaShape {
    int layers = 22;
    int heads = 32;
    int kvHeads = 4;
    int hidden = 2048;
    int intermediate = 5632;
    int vocab = 32000;
    int positions = 2048;
};

// A Llama-family checkpoint (TinyLlama's shape by default) with random weights in the given dtype
// and the Llama-2 (Phi-3) tokenizer of tests/data/checkpoints/llama-random-tiny.
inline Status writeRandomLlama(const QString &folder, const LlamaShape &shape, DType dtype)
{
    QDir().mkpath(folder);
    QFile config(folder + QStringLiteral("/config.json"));
    if (!config.open(QIODevice::WriteOnly))
        return Status::failure(QStringLiteral("cannot write config.json"));
    config.write(QJsonDocument(QJsonObject{
        {QStringLiteral("model_type"), QStringLiteral("llama")}, {QStringLiteral("num_hidden_layers"), shape.layers},
        {QStringLiteral("num_attention_heads"), shape.heads}, {QStringLiteral("num_key_value_heads"), shape.kvHeads},
        {QStringLiteral("hidden_size"), shape.hidden}, {QStringLiteral("intermediate_size"), shape.intermediate},
        {QStringLiteral("vocab_size"), shape.vocab}, {QStringLiteral("max_position_embeddings"), shape.positions},
        {QStringLiteral("rms_norm_eps"), 1e-5}, {QStringLiteral("rope_theta"), 10000.0}, {QStringLiteral("hidden_act"), QStringLiteral("silu")}}).toJson());
    config.close();
    QFile::copy(QStringLiteral(STUDIO_TEST_DATA "/checkpoints/llama-random-tiny/tokenizer.json"), folder + QStringLiteral("/tokenizer.json"));
    const int c = shape.hidden, d = shape.hidden / shape.heads, inner = shape.intermediate;
    RandomTensors tensors(dtype);
    tensors.add(QStringLiteral("model.embed_tokens.weight"), {shape.vocab, c}, 0.05);
    for (int l = 0; l < shape.layers; ++l) {
        const QString p = QStringLiteral("model.layers.%1.").arg(l);
        tensors.add(p + QStringLiteral("input_layernorm.weight"), {c}, 0.1, 1.0);
        tensors.add(p + QStringLiteral("self_attn.q_proj.weight"), {shape.heads * d, c}, 0.04);
        tensors.add(p + QStringLiteral("self_attn.k_proj.weight"), {shape.kvHeads * d, c}, 0.04);
        tensors.add(p + QStringLiteral("self_attn.v_proj.weight"), {shape.kvHeads * d, c}, 0.02);
        tensors.add(p + QStringLiteral("self_attn.o_proj.weight"), {c, shape.heads * d}, 0.02);
        tensors.add(p + QStringLiteral("post_attention_layernorm.weight"), {c}, 0.1, 1.0);
        tensors.add(p + QStringLiteral("mlp.gate_proj.weight"), {inner, c}, 0.02);
        tensors.add(p + QStringLiteral("mlp.up_proj.weight"), {inner, c}, 0.02);
        tensors.add(p + QStringLiteral("mlp.down_proj.weight"), {c, inner}, 0.02);
    }
    tensors.add(QStringLiteral("model.norm.weight"), {c}, 0.1, 1.0);
    return writeSafetensors(folder + QStringLiteral("/model.safetensors"), tensors.list);
}

struct MarianShape {
    int layers = 6; // encoder and decoder each (opus-mt)
    int heads = 8;
    int hidden = 512;
    int ffn = 2048;
    int vocab = 58101;
    int positions = 512;
};

// A Marian (opus-mt-shaped by default) translation model with random weights and the tokenizer
// files of tests/data/checkpoints/marian-random-tiny (their ids are all below the vocabulary size).
inline Status writeRandomMarian(const QString &folder, const MarianShape &shape)
{
    QDir().mkpath(folder);
    const QString tiny = QStringLiteral(STUDIO_TEST_DATA "/checkpoints/marian-random-tiny/");
    for (const char *name : {"source.spm", "target.spm", "vocab.json", "tokenizer_config.json"})
        QFile::copy(tiny + QLatin1String(name), folder + QLatin1Char('/') + QLatin1String(name));
    QFile config(folder + QStringLiteral("/config.json"));
    if (!config.open(QIODevice::WriteOnly))
        return Status::failure(QStringLiteral("cannot write config.json"));
    config.write(QJsonDocument(QJsonObject{
        {QStringLiteral("model_type"), QStringLiteral("marian")}, {QStringLiteral("is_encoder_decoder"), true},
        {QStringLiteral("encoder_layers"), shape.layers}, {QStringLiteral("decoder_layers"), shape.layers},
        {QStringLiteral("encoder_attention_heads"), shape.heads}, {QStringLiteral("decoder_attention_heads"), shape.heads},
        {QStringLiteral("d_model"), shape.hidden}, {QStringLiteral("encoder_ffn_dim"), shape.ffn}, {QStringLiteral("decoder_ffn_dim"), shape.ffn},
        {QStringLiteral("vocab_size"), shape.vocab}, {QStringLiteral("max_position_embeddings"), shape.positions},
        {QStringLiteral("activation_function"), QStringLiteral("swish")}, {QStringLiteral("scale_embedding"), true},
        {QStringLiteral("pad_token_id"), shape.vocab - 1}, {QStringLiteral("decoder_start_token_id"), shape.vocab - 1},
        {QStringLiteral("eos_token_id"), 0}}).toJson());
    config.close();
    const int c = shape.hidden;
    RandomTensors tensors(DType::F32);
    tensors.add(QStringLiteral("model.shared.weight"), {shape.vocab, c}, 0.05);
    tensors.add(QStringLiteral("final_logits_bias"), {1, shape.vocab}, 0.0);
    const auto attention = [&](const QString &p, const QString &norm) {
        for (const char *projection : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
            tensors.add(p + QLatin1Char('.') + QLatin1String(projection) + QStringLiteral(".weight"), {c, c}, 0.06);
            tensors.add(p + QLatin1Char('.') + QLatin1String(projection) + QStringLiteral(".bias"), {c}, 0.02);
        }
        tensors.add(norm + QStringLiteral(".weight"), {c}, 0.1, 1.0);
        tensors.add(norm + QStringLiteral(".bias"), {c}, 0.02);
    };
    const auto feedForward = [&](const QString &p) {
        tensors.add(p + QStringLiteral("fc1.weight"), {shape.ffn, c}, 0.03);
        tensors.add(p + QStringLiteral("fc1.bias"), {shape.ffn}, 0.02);
        tensors.add(p + QStringLiteral("fc2.weight"), {c, shape.ffn}, 0.015);
        tensors.add(p + QStringLiteral("fc2.bias"), {c}, 0.02);
        tensors.add(p + QStringLiteral("final_layer_norm.weight"), {c}, 0.1, 1.0);
        tensors.add(p + QStringLiteral("final_layer_norm.bias"), {c}, 0.02);
    };
    for (int l = 0; l < shape.layers; ++l) {
        const QString e = QStringLiteral("model.encoder.layers.%1.").arg(l);
        attention(e + QStringLiteral("self_attn"), e + QStringLiteral("self_attn_layer_norm"));
        feedForward(e);
        const QString d = QStringLiteral("model.decoder.layers.%1.").arg(l);
        attention(d + QStringLiteral("self_attn"), d + QStringLiteral("self_attn_layer_norm"));
        attention(d + QStringLiteral("encoder_attn"), d + QStringLiteral("encoder_attn_layer_norm"));
        feedForward(d);
    }
    return writeSafetensors(folder + QStringLiteral("/model.safetensors"), tensors.list);
}

} // namespace studio::testing
