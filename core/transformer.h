#pragma once

#include "attention.h"
#include "gemm.h"
#include "modelconfig.h"
#include "safetensors.h"

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace studio {

// A weight matrix, row-major, in one of two forms. Float: inside the memory-mapped file (F32,
// aligned) or in a converted copy owned by the model (small tensors, F64, unaligned F32).
// Half: a large F16 or BF16 matrix left in the mapped file and converted a block at a time as it
// is used, so that a half-precision checkpoint never exists whole as float.
struct WeightRef {
    const float *data = nullptr; // float form
    const uchar *half = nullptr; // half form: 16-bit floats, little-endian
    DType halfType = DType::BF16;
    int rows = 0;
    int cols = 0;

    bool present() const { return data || half; }
    bool isHalf() const { return half != nullptr; }
    // The float form only.
    Eigen::Map<const Matrix> matrix() const { return {data, rows, cols}; }
    Eigen::Map<const RowVector> row() const { return {data, qint64(rows) * cols}; }
    // Either form: rows [first, first + count) into out (count × cols), or columns
    // [first, first + count) into out (rows × count), as float.
    void rowsAsFloat(int first, int count, float *out) const;
    void columnsAsFloat(int first, int count, float *out) const;
    // The whole matrix as float (for small slices and tests).
    Matrix toMatrix() const;
};

// A linear layer, in the storage order of its family (ArchitectureTraits::linearLayout): Conv1D
// [in, out] (y = x W + b) or Linear [out, in] (y = x Wᵀ + b). It stays as stored: no transposed copy.
// How linear layers run: on how many threads, and in bf16 with the model's bfloat16 copies of its
// weights (null: fp32).
struct LinearRun {
    int threads = 2;
    Bf16Weights *bf16 = nullptr;
};

struct LinearWeights {
    WeightRef weight;
    WeightRef bias;     // empty (no data) when the family has no bias here
    bool outByIn = false; // true for [out, in] storage

    int inputs() const { return outByIn ? weight.cols : weight.rows; }
    int outputs() const { return outByIn ? weight.rows : weight.cols; }
};

struct LayerNormWeights {
    WeightRef gain;
    WeightRef bias; // empty for RMSNorm
};

// One layer's weights; which norm sits where is the family's NormPlacement.
struct LayerWeights {
    LayerNormWeights attentionNorm;
    LinearWeights qkv;               // fused q | k | v, heads contiguous (families with TensorNames::fusedQkv)
    LinearWeights query, key, value; // separate projections (the others)
    LinearWeights attentionOutput;
    LayerNormWeights mlpNorm;
    LinearWeights mlpGate;           // gated MLPs (Llama): down(act(gate(x)) ⊙ up(x)), mlpIn being up
    LinearWeights mlpIn;
    LinearWeights mlpOut;
};

// cos and sin of every position's rotation angle for each of a head's d/2 pairs (T, d/2), in the
// rotate-half layout: pair i is (x_i, x_{i+d/2}).
struct RotaryTable {
    Matrix cos, sin;
};
RotaryTable rotaryTable(const RopeConfig &rope, int tokens, int headDim);
// Rotates every head of x (T, heads·d) in place: x_i' = x_i cos − x_{i+d/2} sin,
// x_{i+d/2}' = x_{i+d/2} cos + x_i sin.
void applyRotary(const RotaryTable &table, int heads, int headDim, Matrix &x);

struct ForwardInput {
    std::vector<int> ids;
    std::vector<int> tokenTypes;    // families with token types: 0 for the first sentence, 1 for the second; empty = all 0
    std::vector<int> attentionMask; // 1 = real token, 0 = padding (hidden as a key); empty = all 1
    // An experiment, not the model as trained: every attention softmax divides its logits by τ (1 =
    // as trained). Later layers then see different inputs, so every attention changes.
    double attentionTemperature = 1.0;
};

struct ModelTrace;

// What one layer does with its heads' outputs, for every token: the rest of the block.
struct BlockTrace {
    Matrix residualIn;     // h, the residual stream entering the layer           (T, C)
    Matrix context;        // the heads' outputs side by side                     (T, H·d_head)
    Matrix attentionOut;   // context · W_O + b_O                                 (T, C)
    Matrix afterAttention; // h + attentionOut (post-LN: then normalised)         (T, C)
    Matrix mlpInput;       // the MLP's input (pre-LN: norm(afterAttention))      (T, C)
    Matrix mlpHidden;      // act(x W₁ + b₁), gated: act(x W_gate) ⊙ x W_up       (T, inner)
    Matrix mlpOut;         // mlpHidden · W₂ + b₂                                 (T, C)
    Matrix residualOut;    // afterAttention + mlpOut (post-LN: then normalised)  (T, C)
    Matrix finalNormed;    // the last layer of a language model: the final norm  (T, C)
};

struct ForwardOptions {
    int threads = 2;
    // Fp32 (exact to float rounding) or Bf16 (the linear layers' products in bfloat16 with float
    // sums, where bf16Supported(); approximate).
    Precision precision = Precision::Fp32;
    // (layer, head) pairs whose every stage (q, k, v, scores, scaled, masked, weights, output) is kept.
    std::vector<std::pair<int, int>> stageHeads;
    // Keep the X each layer's attention reads (trace.layerInputs) and the residual stream entering
    // it (trace.residualInputs) for every layer, so that the stages of any head (headStages) and
    // the rest of any layer's block (blockStages) can be recomputed later without another pass.
    bool keepLayerInputs = false;
    // Run the last layer's MLP and the final norm too, and keep the result (trace.finalHidden), from
    // which logits() gives any position's next-token logits. Only where canPredict().
    bool keepFinalHidden = false;
    // Keep ‖f_h(x_j)‖ for every layer, head and token (trace.valueNorms): the size of what token j
    // adds to the layer's output through head h, f_h(x) = (x W_V^h + b_V^h) W_O^h (Kobayashi et
    // al. 2020), so that value-weighted attention is α_ij · ‖f_h(x_j)‖.
    bool keepValueNorms = false;
    // When set, the time the linear layers take is added here, in nanoseconds (for benchmarks).
    qint64 *linearNanoseconds = nullptr;
    const std::atomic<bool> *cancel = nullptr; // checked between layers
    std::function<void(int layersDone)> progress;
    // Called as each layer's attention is done, with the trace holding that layer's maps, stages
    // and input. A caller that streams the trace writes and frees them there, so that the run holds
    // one layer's maps at a time instead of every layer's.
    std::function<void(int layer, ModelTrace &trace)> layerDone;
};

struct ModelTrace {
    std::vector<std::vector<Matrix>> attentions; // [layer][head]  (T, T)
    std::map<int, Matrix> residualInputs;        // with keepLayerInputs: the residual stream entering each layer (T, C)
    std::map<std::pair<int, int>, HeadTrace> stages;
    std::map<int, Matrix> layerInputs;           // X fed to the attention of layers with stage heads (T, C)
    Matrix embeddings;                           // token + position (+ type) embeddings (T, C)
    Matrix finalHidden;                          // after the final norm, with keepFinalHidden (T, C)
    std::vector<Matrix> valueNorms;              // [layer] ‖f_h(x_j)‖, with keepValueNorms (T, H)
    Precision precision = Precision::Fp32;       // how the linear layers multiplied
    // Bf16: the largest |w_bf16 − w_fp32| of any attention weight against the fp32 run of the same
    // input (compareWithFp32); 0 for fp32.
    double maxDeviation = 0;
    bool cancelled = false;
};

// The largest |a − b| over two traces' attention weights of the layers both hold (0 for none).
double largestAttentionDeviation(const std::vector<std::vector<Matrix>> &a, const std::vector<std::vector<Matrix>> &b);

// A model of any family the configuration describes, whose weights are views into the
// memory-mapped safetensors files it owns (or into converted copies it owns).
class TransformerModel {
public:
    // Takes the opened files and binds every tensor the forward pass needs, checking names and
    // shapes against the config. A tensor in more than one file is refused.
    static Result<std::shared_ptr<const TransformerModel>> bind(const ModelConfig &config,
                                                                std::vector<std::unique_ptr<SafetensorsFile>> files);
    // The memory a first bf16 run still needs for its bfloat16 copies of the linear layers' weights
    // (0 once they are made).
    qint64 bf16CopyBytesToMake() const;
    // For a bf16 trace: runs the same input in fp32 (attention weights only) and sets
    // trace.maxDeviation. Nothing for an fp32 trace.
    void compareWithFp32(const ForwardInput &input, const ForwardOptions &options, ModelTrace &trace) const;
    // Binds tensors held elsewhere (tests, fuzzing): the bytes behind the views must outlive the model.
    static Result<std::shared_ptr<const TransformerModel>> bind(const ModelConfig &config,
                                                                const QHash<QString, TensorView> &tensors);

    const ModelConfig &config() const { return m_config; }
    const std::vector<std::unique_ptr<SafetensorsFile>> &files() const { return m_files; }
    // The bound tensors that hold NaN or ±∞, by their names in the file.
    const QStringList &nonFiniteTensors() const { return m_nonFiniteTensors; }
    // Bytes of weights held as converted float copies (small tensors, F64): half-precision
    // matrices are not among them.
    qint64 convertedBytes() const;
    // Whether the forward pass can run on the input, else why not (ids, length, types, mask).
    Status validate(const ForwardInput &input) const;
    // Every layer; input must pass validate().
    ModelTrace forward(const ForwardInput &input, const ForwardOptions &options = {}) const;
    // The query, key and value projection of one head, sliced out of the layer's weights:
    // W (d_model, d_head) and bias (d_head; empty where the family has no attention bias).
    struct HeadProjection {
        Matrix wQ, wK, wV; // wK and wV are the head's key/value head's, shared with its group
        RowVector bQ, bK, bV;
    };
    HeadProjection headProjection(int layer, int head) const;
    // The rows of the attention's output projection that read head h's context: W_O^h (d_head, C).
    Matrix headOutputProjection(int layer, int head) const;
    // The rest of one layer's block from the residual stream entering it (trace.residualInputs):
    // the heads, W_O, the residual add, the MLP and the second residual add, run as forward() runs
    // them (the same bits), and for the last layer of a language model the final norm.
    BlockTrace blockStages(const Matrix &residualIn, int layer, const ForwardInput &input, const ForwardOptions &options = {}) const;
    // Whether the checkpoint predicts the next token: a causal family with its final norm and an
    // output projection (its own, or the token embedding where tied).
    bool canPredict() const { return m_outputHead.present() && m_finalNorm.gain.present(); }
    // Why not, when it cannot (for messages).
    QString predictionUnavailableReason() const;
    // The next-token logits of one position from its final hidden state (C): h · W_outᵀ, (vocab).
    RowVector logits(const Eigen::Ref<const RowVector> &finalHidden, int threads = 2) const;
    // Every stage of one head from its layer's attention input X (T, C): q = X W_Q + b_Q, … with
    // the model's own masking (causal where the family is, padding keys from input.attentionMask).
    // The projections and the kernel run as in forward() with the same options, so the weights are
    // the same bits as the forward pass's.
    HeadTrace headStages(const Matrix &layerInput, int layer, int head, const ForwardInput &input,
                         const ForwardOptions &options = {}) const;

private:
    TransformerModel() = default;
    Status bindTensors(const ModelConfig &config, const QHash<QString, TensorView> &tensors);
    // q, k and v of every head as the forward pass computes them: one fused (T, 3C) product or
    // three (T, C) ones. The buffers are reused from layer to layer.
    struct Projections {
        Matrix fused;   // q | k | v, for families with a fused projection
        Matrix q, k, v; // for the others: q (T, H·d), k and v (T, KV·d)
        Matrix qPreRope, kPreRope; // before rotation, kept only when stages are
    };
    // keepPreRope: also keep q and k before their rotation (for kept stages).
    void project(const LayerWeights &layer, const Matrix &x, Projections &out, const LinearRun &run,
                 const RotaryTable &rotary, bool keepPreRope, qint64 *linearNanoseconds = nullptr) const;
    KernelOptions layerKernelOptions(const KernelOptions &base, int layer) const;
    LinearRun linearRun(const ForwardOptions &options) const;
    // Buffers a layer uses, reused from layer to layer.
    struct LayerScratch {
        Projections qkv;
        Matrix normed, context, projected, inner, gate;
    };
    // Layer l on hidden (T, C) in place: the heads (maps and kept stages into trace), W_O and the
    // residual, then the MLP and its residual when runMlp; block, when given, keeps each step.
    void runLayer(int l, Matrix &hidden, LayerScratch &work, const KernelOptions &kernel, const RotaryTable &rotary,
                  const ForwardOptions &options, ModelTrace &trace, bool runMlp, BlockTrace *block) const;
    // One head's slice of q, k or v (T, d_head), a view into the projections.
    Eigen::Ref<const Matrix> headSlice(const Projections &projections, Projection which, int head) const;
    KernelOptions kernelOptions(const ForwardInput &input) const;
    void normalise(const LayerNormWeights &norm, Matrix &x) const;

    ModelConfig m_config;
    std::vector<std::unique_ptr<SafetensorsFile>> m_files; // the mappings the weights point into
    WeightRef m_tokenEmbedding;    // (vocab, C)
    WeightRef m_positionEmbedding; // (positions, C)
    WeightRef m_typeEmbedding;     // token types (types, C), where the family has them
    LayerNormWeights m_embeddingNorm; // where the family normalises its embeddings
    LayerNormWeights m_finalNorm;     // after the last layer, where the family predicts tokens
    WeightRef m_outputHead;           // (vocab, C): lm_head, or the token embedding where tied
    QString m_noPrediction;           // why canPredict() is false
    std::vector<LayerWeights> m_layers;
    std::deque<std::vector<float>> m_converted; // owned copies of converted tensors
    mutable Bf16Weights m_bf16Weights;          // bfloat16 copies, made by the first bf16 run
    QStringList m_nonFiniteTensors;
};

// y = x W + b for either storage order. (T, in) -> (T, out), on oneDNN's kernels (gemm.h) straight
// from the mapped weights; half-precision weights are converted to float a block at a time.
void applyLinear(const LinearWeights &linear, const Eigen::Ref<const Matrix> &x, Matrix &y, const LinearRun &run);
// Per row: (x − mean) / √(var + ε) · gain + bias.
void layerNorm(const LayerNormWeights &norm, double eps, Matrix &x);
// Per row: x / √(mean(x²) + ε) · gain.
void rmsNorm(const WeightRef &gain, double eps, Matrix &x);
// The activation in place, vectorised: GELU's tanh approximation (gelu_new) or its exact erf form.
void applyActivation(Matrix &x, Activation activation, int threads);
float geluTanh(float x); // scalar reference forms
float geluErf(float x);

} // namespace studio
