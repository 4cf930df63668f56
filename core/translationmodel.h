#pragma once

#include "attention.h"
#include "modelconfig.h"
#include "transformer.h"

#include <QJsonObject>
#include <QString>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace studio {

// The three kinds of attention of an encoder–decoder (translation) model: the encoder's
// self-attention over the source, the decoder's causal self-attention over the target, and the
// decoder's cross-attention from each target position (queries) to the source (keys and values:
// the encoder's output).
enum class AttentionKind { Encoder, Decoder, Cross };
inline constexpr AttentionKind kAttentionKinds[] = {AttentionKind::Encoder, AttentionKind::Decoder, AttentionKind::Cross};
QString attentionKindName(AttentionKind kind);  // "encoder", "decoder", "cross" (JSON keys, command line)
QString attentionKindTitle(AttentionKind kind); // "Encoder self-attention"
std::optional<AttentionKind> attentionKindFromName(const QString &name);

// The encoder–decoder families the forward pass runs. Marian (opus-mt): post-LayerNorm, sinusoidal
// positions, scores ÷ √d. T5: pre-RMSNorm, no position embeddings but a learned bias on the
// scores per relative-position bucket (shared by the layers of each stack), and no ÷ √d.
enum class TranslationFamily { Marian, T5 };

// What the forward pass needs from an encoder–decoder config.json, with the family's defaults
// (MarianConfig, T5Config) for absent keys.
struct TranslationConfig {
    TranslationFamily family = TranslationFamily::Marian;
    QString modelType = QStringLiteral("marian");
    int encoderLayers = 0;
    int decoderLayers = 0;
    int encoderHeads = 0; // the encoder's self-attention
    int decoderHeads = 0; // the decoder's self- and cross-attention
    int hidden = 0;       // d_model
    int encoderFfn = 0;
    int decoderFfn = 0;
    int vocabSize = 0;        // the encoder's (and the shared) vocabulary
    int decoderVocabSize = 0; // the decoder's and the output's
    int maxPositions = 1024;
    Activation activation = Activation::GeluErf;
    bool scaleEmbedding = false;  // embeddings × √d_model
    bool sharedEmbeddings = true; // one table for the encoder, the decoder and (tied) the output
    bool tiedOutput = true;       // the output projection is the decoder's token embedding
    int padId = 58100;
    int decoderStartId = 58100;
    int eosId = 0;
    std::vector<int> bannedIds; // bad_words_ids of one token: never generated
    double normEps = 1e-5;
    // T5 only.
    int headDimension = 0;       // d_kv; 0 = d_model / heads
    int relativeBuckets = 0;     // relative_attention_num_buckets
    int relativeMaxDistance = 0; // relative_attention_max_distance
    bool gatedFfn = false;       // v1.1 "gated-gelu": wo(act(x·wi_0) ⊙ x·wi_1)
    bool scaleOutput = false;    // tied output: the decoder's output × d_model^−½ before the projection

    bool t5() const { return family == TranslationFamily::T5; }
    int layers(AttentionKind kind) const { return kind == AttentionKind::Encoder ? encoderLayers : decoderLayers; }
    int heads(AttentionKind kind) const { return kind == AttentionKind::Encoder ? encoderHeads : decoderHeads; }
    int headDim(AttentionKind kind) const { return headDimension > 0 ? headDimension : heads(kind) > 0 ? hidden / heads(kind) : 0; }
    int innerWidth(AttentionKind kind) const { return heads(kind) * headDim(kind); }
};

// T5's relative position bucket of key j for query i (relative = j − i), as transformers computes
// it (in float): exact buckets for short distances, logarithmic ones up to maxDistance, half of
// them for keys after the query when bidirectional (the encoder), none of them when not (the
// decoder: only earlier keys).
int relativePositionBucket(int relative, bool bidirectional, int buckets, int maxDistance);

// Whether config.json describes an encoder–decoder model (is_encoder_decoder, or a known type).
bool isEncoderDecoderConfig(const QJsonObject &json);
// Reads a Marian (model_type "marian") config as transformers' MarianConfig does; refuses other
// encoder–decoder types by name, and sizes that do not fit.
Result<TranslationConfig> parseTranslationConfig(const QJsonObject &json);

// Marian's sinusoidal position table (positions, d): for column i < ⌈d/2⌉, sin(pos / 10000^(2i/d));
// column ⌈d/2⌉ + i holds the cos of the same angle — sin in the first half, cos in the second,
// not interleaved. Angles in double, stored in float as transformers stores them.
Matrix marianPositions(int positions, int dim);

struct TranslationInput {
    std::vector<int> sourceIds;   // the tokenized source, </s> included
    std::vector<int> sourceMask;  // 1 = real token, 0 = padding (hidden as a key); empty = all 1
    std::vector<int> decoderIds;  // [decoder start] + the target's ids (teacher forcing)
    // An experiment, not the model as trained: every attention softmax divides its logits by τ.
    double attentionTemperature = 1.0;
};

// Everything one run keeps. Every [layer][head] map is shared, never copied, by the views.
struct TranslationTrace {
    SharedAttentionMaps encoder = std::make_shared<const AttentionMaps>(); // [layer][head] (S, S)
    SharedAttentionMaps decoder = std::make_shared<const AttentionMaps>(); // [layer][head] (T, T), causal
    SharedAttentionMaps cross = std::make_shared<const AttentionMaps>();   // [layer][head] (T, S): target rows, source columns
    std::vector<Matrix> encoderInputs; // X of each encoder layer's self-attention  (S, C)
    std::vector<Matrix> decoderInputs; // X of each decoder layer's self-attention  (T, C)
    std::vector<Matrix> crossInputs;   // the queries' X of each cross-attention   (T, C)
    std::vector<Matrix> encoderBias;   // T5: [head] the relative position bias on the encoder's scores (S, S)
    std::vector<Matrix> decoderBias;   // T5: [head] the same for the decoder's self-attention (T, T)
    Matrix encoderOutput;              // the last encoder layer's output: every cross-attention's keys and values (S, C)
    Matrix decoderOutput;              // the last decoder layer's output, from which the logits come (T, C)
    bool cancelled = false;

    const SharedAttentionMaps &maps(AttentionKind kind) const;
};

// One greedy step: the token chosen after the decoder input so far.
struct GreedyStep {
    int id = 0;
    double logit = 0;
};

// A Marian encoder–decoder, whose weights are views into the memory-mapped files it owns.
class TranslationModel {
public:
    static Result<std::shared_ptr<const TranslationModel>> bind(const TranslationConfig &config,
                                                                std::vector<std::unique_ptr<SafetensorsFile>> files);
    // Tensors held elsewhere (tests): the bytes behind the views must outlive the model.
    static Result<std::shared_ptr<const TranslationModel>> bind(const TranslationConfig &config, const QHash<QString, TensorView> &tensors);

    const TranslationConfig &config() const { return m_config; }
    const QStringList &nonFiniteTensors() const { return m_nonFiniteTensors; }
    // Whether the model can run on the input, else why not (ids, lengths, mask).
    Status validate(const TranslationInput &input) const;
    // The encoder on the source, then the decoder on decoderIds (input must pass validate()).
    // encoded: an earlier run on the same source, whose encoder part is reused (greedy steps).
    TranslationTrace forward(const TranslationInput &input, int threads = 2, const std::atomic<bool> *cancel = nullptr,
                             const TranslationTrace *encoded = nullptr) const;
    // The next-token logits of one decoder position from its output (C): h · W_outᵀ + final_logits_bias (V).
    RowVector logits(const Eigen::Ref<const RowVector> &decoderHidden, int threads = 2) const;
    // The token greedy search takes after these logits: the largest, the banned ids never.
    GreedyStep greedyChoice(const RowVector &logits) const;
    // Every stage of one head, recomputed from the trace's kept inputs as forward() computes it:
    // for cross-attention, q from the decoder (crossInputs), k and v from the encoder's output.
    HeadTrace headStages(const TranslationTrace &trace, AttentionKind kind, int layer, int head, const TranslationInput &input) const;
    // The head's projections (d_model, d_head) and biases (d_head), sliced out of its layer.
    TransformerModel::HeadProjection headProjection(AttentionKind kind, int layer, int head) const;

private:
    struct AttentionBlock {
        LinearWeights query, key, value, output;
        LayerNormWeights norm; // Marian: after the residual add; T5: before the attention
    };
    struct FeedForward {
        LinearWeights in, gate, out; // gate: T5 v1.1's second input projection (wi_1)
        LayerNormWeights norm;       // Marian: after the residual add; T5: before
    };
    struct EncoderLayer {
        AttentionBlock self;
        FeedForward ffn;
    };
    struct DecoderLayer {
        AttentionBlock self, cross;
        FeedForward ffn;
    };

    TranslationModel() = default;
    Status bindTensors(const TranslationConfig &config, const QHash<QString, TensorView> &tensors);
    Status bindT5(const QHash<QString, TensorView> &tensors);
    KernelOptions kernelOptions(const TranslationInput &input, AttentionKind kind) const;
    const AttentionBlock &block(AttentionKind kind, int layer) const;
    // Embeddings (× √d where scaled) + positions for ids. (T, C)
    Matrix embed(const WeightRef &table, const std::vector<int> &ids) const;
    // One attention sublayer: x (queries' input, T, C) and memory (keys' and values' input, S, C)
    // to the heads' maps [head] (T, S) and the projected output (T, C).
    void attendBlock(const AttentionBlock &block, int heads, int headDim, const Matrix &x, const Matrix &memory, const KernelOptions &kernel,
                     const std::vector<Matrix> &bias, int threads, std::vector<Matrix> &maps, Matrix &out) const;
    // One sublayer with its residual: Marian x = LN(x + Attn(x)); T5 x = x + Attn(RMS(x)). input
    // gets what the attention's queries read.
    void attentionSublayer(const AttentionBlock &block, AttentionKind kind, Matrix &x, const Matrix *memory, const KernelOptions &kernel,
                           const std::vector<Matrix> &bias, int threads, std::vector<Matrix> &maps, std::vector<Matrix> &inputs) const;
    // The encoder's layers: fills trace's encoder inputs and output, returns its maps.
    SharedAttentionMaps encode(const TranslationInput &input, int threads, const std::atomic<bool> *cancel, TranslationTrace &trace) const;
    // x (T, C) in place: Marian x = LN(x + FFN(x)); T5 x = x + FFN(RMS(x)).
    void feedForward(const FeedForward &ffn, Matrix &x, int threads) const;
    void normalise(const LayerNormWeights &norm, Matrix &x) const;
    // T5: each head's bias (T, S) from its stack's table, for queries 0..T−1 and keys 0..S−1.
    std::vector<Matrix> positionBias(const WeightRef &table, int queries, int keys, bool bidirectional) const;

    TranslationConfig m_config;
    std::vector<std::unique_ptr<SafetensorsFile>> m_files;
    WeightRef m_encoderEmbedding; // (V, C)
    WeightRef m_decoderEmbedding; // (V_dec, C)
    WeightRef m_outputHead;       // (V_dec, C)
    WeightRef m_logitsBias;       // (1, V_dec); absent = 0
    LayerNormWeights m_encoderFinalNorm, m_decoderFinalNorm; // T5
    WeightRef m_encoderRelativeBias, m_decoderRelativeBias;   // T5: (buckets, heads)
    Matrix m_encoderPositions;    // (positions, C)
    Matrix m_decoderPositions;    // (positions, C)
    std::vector<EncoderLayer> m_encoder;
    std::vector<DecoderLayer> m_decoder;
    std::deque<std::vector<float>> m_converted;
    QStringList m_nonFiniteTensors;
};

} // namespace studio
