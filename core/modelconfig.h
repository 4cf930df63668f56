#pragma once

#include "result.h"

#include <QJsonObject>
#include <QString>

namespace studio {

// The model families the forward pass runs. Everything that differs between them is described by
// ArchitectureTraits; the family itself only names the description and its tensor names.
enum class Architecture { Gpt2, Bert };

enum class NormKind { LayerNorm };            // (x − mean) / √(var + ε) · γ + β
enum class NormPlacement { PreLN, PostLN };   // before each sublayer (GPT-2) or after its residual add (BERT)
enum class Activation { GeluTanh, GeluErf };  // GPT-2 "gelu_new"; BERT "gelu" (exact erf form)
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
    QString mlpIn, mlpOut;
    QString mlpNorm;
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
    bool attentionBias = true;
    bool mlpBias = true;
    TensorNames names;
};

const ArchitectureTraits &architectureTraits(Architecture architecture);
QString architectureName(Architecture architecture); // the model_type: "gpt2", "bert"
QString activationName(Activation activation);

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
    double normEps = 1e-5;
    Activation activation = Activation::GeluTanh;

    const ArchitectureTraits &traits() const { return architectureTraits(architecture); }
    int headDim() const { return heads > 0 ? hidden / heads : 0; }
};

// Reads GPT-2 (model_type gpt2) and BERT (model_type bert) configurations; refuses other
// architectures and inconsistent sizes with a message that says why.
Result<ModelConfig> parseModelConfig(const QJsonObject &json);

} // namespace studio
