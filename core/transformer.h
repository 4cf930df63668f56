#pragma once

#include "attention.h"
#include "modelconfig.h"
#include "safetensors.h"

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace studio {

// A weight matrix in row-major float: either inside the memory-mapped file (F32, aligned) or in a
// converted copy owned by the model (F16, BF16, or unaligned F32).
struct WeightRef {
    const float *data = nullptr;
    int rows = 0;
    int cols = 0;

    Eigen::Map<const Matrix> matrix() const { return {data, rows, cols}; }
    Eigen::Map<const RowVector> row() const { return {data, qint64(rows) * cols}; }
};

// A linear layer. GPT-2's Conv1D stores W as [in, out] (y = x W + b); BERT's Linear as [out, in]
// (y = x Wᵀ + b). Both stay as stored: no transposed copy.
struct LinearWeights {
    WeightRef weight;
    WeightRef bias;
    bool outByIn = false; // true for [out, in] storage

    int inputs() const { return outByIn ? weight.cols : weight.rows; }
    int outputs() const { return outByIn ? weight.rows : weight.cols; }
};

struct LayerNormWeights {
    WeightRef gain;
    WeightRef bias;
};

struct LayerWeights {
    LayerNormWeights attentionNorm; // GPT-2 ln_1 (before attention); BERT attention.output.LayerNorm (after)
    LinearWeights qkv;              // GPT-2 c_attn: q, k, v fused in that order, heads contiguous
    LinearWeights query, key, value; // BERT
    LinearWeights attentionOutput;  // GPT-2 attn.c_proj; BERT attention.output.dense
    LayerNormWeights mlpNorm;       // GPT-2 ln_2 (before MLP); BERT output.LayerNorm (after)
    LinearWeights mlpIn;            // GPT-2 mlp.c_fc; BERT intermediate.dense
    LinearWeights mlpOut;           // GPT-2 mlp.c_proj; BERT output.dense
};

struct ForwardInput {
    std::vector<int> ids;
    std::vector<int> tokenTypes;    // BERT: 0 for the first sentence, 1 for the second; empty = all 0
    std::vector<int> attentionMask; // 1 = real token, 0 = padding (hidden as a key); empty = all 1
};

struct ForwardOptions {
    int threads = 2;
    // Up to this many tokens a linear layer is bound by reading its weights, not by arithmetic:
    // each weight row is streamed once and used for every token, instead of a blocked GEMM that
    // packs W first. (Measured on GPT-2-small shapes: faster up to 16 tokens.)
    int streamingTokenLimit = 16;
    // (layer, head) pairs whose every stage (q, k, v, scores, scaled, masked, weights, output) is kept.
    std::vector<std::pair<int, int>> stageHeads;
    // Keep the X each layer's attention reads (trace.layerInputs) for every layer, so that the
    // stages of any head can be recomputed later with headStages() without another forward pass.
    bool keepLayerInputs = false;
    const std::atomic<bool> *cancel = nullptr; // checked between layers
    std::function<void(int layersDone)> progress;
};

struct ModelTrace {
    std::vector<std::vector<Matrix>> attentions; // [layer][head]  (T, T)
    std::map<std::pair<int, int>, HeadTrace> stages;
    std::map<int, Matrix> layerInputs;           // X fed to the attention of layers with stage heads (T, C)
    Matrix embeddings;                           // token + position (+ type) embeddings (T, C)
    bool cancelled = false;
};

// A GPT-2 or BERT model whose weights are views into memory-mapped safetensors files.
class TransformerModel {
public:
    // Binds every tensor the forward pass needs, checking names and shapes against the config.
    // `tensors` maps names to views; the files that hold them must outlive the model.
    static Result<std::shared_ptr<TransformerModel>> bind(const ModelConfig &config,
                                                          const QHash<QString, TensorView> &tensors);

    const ModelConfig &config() const { return m_config; }
    // Empty when the forward pass can run on the input, else why not (ids, length, types, mask).
    QString validate(const ForwardInput &input) const;
    // Every layer; input must pass validate().
    ModelTrace forward(const ForwardInput &input, const ForwardOptions &options = {}) const;
    // The query, key and value projection of one head, sliced out of the layer's weights:
    // W (d_model, d_head) and bias (d_head).
    struct HeadProjection {
        Matrix wQ, wK, wV;
        RowVector bQ, bK, bV;
    };
    HeadProjection headProjection(int layer, int head) const;
    // Every stage of one head from its layer's attention input X (T, C): q = X W_Q + b_Q, … with
    // the model's own masking (causal for GPT-2, padding keys from input.attentionMask).
    HeadTrace headStages(const Matrix &layerInput, int layer, int head, const ForwardInput &input) const;

private:
    TransformerModel() = default;
    ModelConfig m_config;
    WeightRef m_tokenEmbedding;    // (vocab, C)
    WeightRef m_positionEmbedding; // (positions, C)
    WeightRef m_typeEmbedding;     // BERT (types, C)
    LayerNormWeights m_embeddingNorm; // BERT
    std::vector<LayerWeights> m_layers;
    std::deque<std::vector<float>> m_converted; // owned copies of converted tensors
};

// y = x W + b for either storage order. (T, in) -> (T, out), split over threads by output column;
// streaming reads W row by row once (short inputs), else a blocked GEMM.
void applyLinear(const LinearWeights &linear, const Eigen::Ref<const Matrix> &x, Matrix &y, int threads, bool streaming);
// Per row: (x − mean) / √(var + ε) · gain + bias.
void layerNorm(const LayerNormWeights &norm, double eps, Matrix &x);
// GELU in place, vectorised: the tanh approximation (GPT-2's gelu_new) or the exact erf form (BERT).
void applyGelu(Matrix &x, bool tanhForm, int threads);
float geluTanh(float x); // scalar reference forms
float geluErf(float x);

} // namespace studio
