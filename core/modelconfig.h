#pragma once

#include "result.h"

#include <QJsonObject>
#include <QString>

#include <optional>
#include <vector>

namespace studio {

// The model families the forward pass runs. Everything that differs between them is described by
// ArchitectureTraits; the family itself only names the description and its tensor names.
enum class Architecture { Gpt2, Bert, Llama, Mistral, Qwen2 };

enum class NormKind { LayerNorm, RmsNorm };   // (x − mean) / √(var + ε) · γ + β;  x / √(mean(x²) + ε) · γ
enum class NormPlacement { PreLN, PostLN };   // before each sublayer (GPT-2) or after its residual add (BERT)
enum class Activation { GeluTanh, GeluErf, Silu, Relu }; // GPT-2 "gelu_new"; BERT "gelu" (exact erf form); Llama "silu" x·σ(x); max(0, x)
enum class PositionKind { Learned, Sinusoidal, Rotary, None };
enum class LinearLayout { InByOut, OutByIn }; // Conv1D [in, out] (y = x W + b); Linear [out, in] (y = x Wᵀ + b)

// Where each weight lives in a checkpoint, relative to a layer's prefix. Empty = the family has none.
struct TensorNames {
    QStringList prefixes;       // tried in order before every name: "" and the task model's ("transformer.")
    QString tokenEmbedding;
    QString positionEmbedding;
    QString typeEmbedding;
    QString embeddingNorm;
    QString layerPrefix;        // "h.%1." with the layer index
    QString fusedQkv;           // q, k, v in one matrix, in that order, heads contiguous
    QString query, key, value;  // separate projections
    QString attentionOutput;
    QString attentionNorm;
    QString mlpGate;            // gated MLPs: down(act(gate(x)) ⊙ up(x)), with mlpIn the up projection
    QString mlpIn, mlpOut;
    QString mlpNorm;
    QString finalNorm;          // after the last layer (causal language models)
    QString outputHead;         // the output projection to the vocabulary, (vocab, C), when not tied
};

// What a family does, described once, read by the forward pass, the views and the trace JSON.
struct ArchitectureTraits {
    QString modelType;   // config.json's model_type: "gpt2"
    QString displayName; // "GPT-2"
    bool causal = false; // a query sees only itself and earlier tokens
    NormKind norm = NormKind::LayerNorm;
    NormPlacement normPlacement = NormPlacement::PreLN;
    bool normalisesEmbeddings = false; // a norm right after the embeddings (BERT)
    bool tokenTypes = false;           // sentence-pair token-type embeddings (BERT)
    PositionKind positions = PositionKind::Learned;
    LinearLayout linearLayout = LinearLayout::InByOut;
    bool gatedMlp = false;             // SwiGLU-style MLP (Llama)
    TensorNames names;
};

const ArchitectureTraits &architectureTraits(Architecture architecture);
QString architectureName(Architecture architecture); // the model_type: "gpt2", "bert"
QString activationName(Activation activation);
// Hugging Face's activation names: "gelu_new" and "gelu_pytorch_tanh" are the tanh approximation,
// "gelu" the exact erf form, "silu" and "swish" x·σ(x), "relu".
std::optional<Activation> activationFromConfigName(const QString &name);

// Sizes beyond any real model are refused before anything is allocated or multiplied, so every
// product of two sizes fits comfortably in 64 bits and each size in an int.
inline constexpr qint64 kMaxWidth = 1 << 20;  // d_model, MLP width
inline constexpr qint64 kMaxCount = 1 << 24;  // vocabulary, positions, token types
inline constexpr qint64 kMaxLayers = 1 << 12; // layers, heads
// A positive whole number of at most `largest` from the first of config.json's keys present, or
// the default (0 = required); a message naming the key otherwise.
Result<int> readSize(const QJsonObject &json, const std::vector<const char *> &keys, qint64 largest, qint64 fallback = 0);
QString positionKindName(PositionKind kind); // "learned", "sinusoidal", "rotary", "none"

// Rotary positions (RoPE, rotate-half layout): pair i of a head rotates by position · inv_freq[i],
// inv_freq[i] = θ^(−2i/d), adjusted by the scaling kind.
enum class RopeScaling { None, Linear, Llama3 };
struct RopeConfig {
    double theta = 10000.0;
    RopeScaling scaling = RopeScaling::None;
    double factor = 1.0;             // linear and llama3
    double lowFreqFactor = 1.0;      // llama3
    double highFreqFactor = 4.0;     // llama3
    int originalMaxPositions = 8192; // llama3

    // The rotation frequency of each of the head's d/2 pairs.
    std::vector<double> inverseFrequencies(int headDim) const;
};

// What the forward pass needs from config.json.
struct ModelConfig {
    Architecture architecture = Architecture::Gpt2;
    int layers = 0;
    int heads = 0;
    int kvHeads = 0;      // key/value heads; equal to heads for plain multi-head attention
    int hidden = 0;       // d_model
    int intermediate = 0; // MLP width
    int vocabSize = 0;
    int maxPositions = 0;
    int typeVocabSize = 0; // token types, where the family has them
    int headDimension = 0; // config's head_dim; 0 = hidden / heads
    double normEps = 1e-5;
    Activation activation = Activation::GeluTanh;
    bool qkvBias = true;       // biases on the query, key and value projections
    bool outputBias = true;    // on the attention's output projection
    bool mlpBias = true;
    RopeConfig rope;           // families with rotary positions
    std::vector<int> slidingWindows; // per layer: a query sees only its last W keys; 0 (or empty) = all
    // The output projection is the token embedding itself (tie_word_embeddings; transformers'
    // default is true, Llama's, Mistral's and Qwen2's false).
    bool tiedOutput = true;

    const ArchitectureTraits &traits() const { return architectureTraits(architecture); }
    int headDim() const { return headDimension > 0 ? headDimension : heads > 0 ? hidden / heads : 0; }
    // Query heads per key/value head; query head h reads key/value head h / groupSize().
    int groupSize() const { return kvHeads > 0 ? heads / kvHeads : 1; }
    int kvHeadOf(int head) const { return head / groupSize(); }
    int slidingWindow(int layer) const { return layer >= 0 && layer < int(slidingWindows.size()) ? slidingWindows[size_t(layer)] : 0; }
};

// Reads GPT-2 (gpt2), BERT (bert), Llama (llama), Mistral (mistral) and Qwen2 (qwen2)
// configurations as Hugging Face transformers reads them; refuses other architectures, settings
// this forward pass does not implement and inconsistent sizes with a message that says why.
Result<ModelConfig> parseModelConfig(const QJsonObject &json);

} // namespace studio
