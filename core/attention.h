#pragma once

#include "tensor.h"

#include <QList>
#include <QString>

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

namespace studio {

enum class MaskMode {
    None,   // every query sees every key
    Causal, // query i sees keys 0..i
    Keys,   // older workspaces' "hidden keys only": read as None (hidden keys now apply with any mode)
};

QString maskModeName(MaskMode mode);
std::optional<MaskMode> maskModeFromName(const QString &name);

struct AttentionSettings {
    MaskMode mask = MaskMode::None;
    QList<int> maskedKeys;    // key positions hidden when mask == Keys; out-of-range ones are ignored
    double temperature = 1.0; // τ > 0
    bool scale = true;        // divide scores by √d_head

    // Element by element: Qt 6.4's QList comparison hands memcmp a null pointer when an empty list
    // has no storage, which is undefined behaviour.
    friend bool operator==(const AttentionSettings &a, const AttentionSettings &b)
    {
        return a.mask == b.mask && a.temperature == b.temperature && a.scale == b.scale
            && std::equal(a.maskedKeys.cbegin(), a.maskedKeys.cend(), b.maskedKeys.cbegin(), b.maskedKeys.cend());
    }
};

// The three projections of a head: queries, keys, values.
// A head's matrices: the projections of X into q, k and v, and O, the head's share of the output
// projection (its d_head rows of W_O), which takes its output back to d_model.
enum class Projection { Q, K, V, O };
inline constexpr Projection kProjections[] = {Projection::Q, Projection::K, Projection::V}; // of X
inline constexpr Projection kHeadMatrices[] = {Projection::Q, Projection::K, Projection::V, Projection::O};
QString projectionName(Projection projection);       // "q", "k", "v", "o"
QString projectionMatrixName(Projection projection); // "W_Q", "W_K", "W_V", "W_O"
std::optional<Projection> projectionFromName(const QString &name);

// The projections of one head. No biases: X W is the whole projection.
struct HeadWeights {
    QString name;
    QString description;
    Matrix wQ; // (d_model, d_head)
    Matrix wK; // (d_model, d_head)
    Matrix wV; // (d_model, d_head)
    Matrix wO; // (d_head, d_model): the head's rows of the output projection

    int dModel() const { return int(wQ.rows()); }
    int dHead() const { return int(wQ.cols()); }
    Matrix &weight(Projection projection);
    const Matrix &weight(Projection projection) const;
};

// Every stage of one head, kept so that a view can show any of them.
struct HeadTrace {
    Matrix q;       // q = X W_Q                              (T, d_head)
    Matrix k;       // k = X W_K                              (T, d_head)
    Matrix v;       // v = X W_V                              (T, d_head)
    Matrix scores;  // scores = q kᵀ                          (T, T)
    Matrix scaled;  // scaled = scores / √d_head (or scores)  (T, T)
    Matrix masked;  // masked = scaled, −∞ where masked       (T, T)
    Matrix weights; // weights = softmax_keys(masked / τ)     (T, T)
    Matrix output;  // output = weights v                     (T, d_head)
    Vector entropy; // H_i = −Σ_j w_ij log₂ w_ij, in bits     (T)
    Matrix bias;    // relative position models (T5): the bias added to the scores (T, S); else empty
    Matrix qPreRope; // rotary models: q and k before rotation (T, d_head); q and k
    Matrix kPreRope; // above are after it. Empty for other models.

    const Matrix &projected(Projection projection) const; // q, k or v (O: the output)
};

// What one head's queries may see, the single description every model's mask is built from.
struct KeyVisibility {
    bool causal = false;          // query i sees keys 0..i only
    int window = 0;               // with causal, > 0: query i sees only keys i−window+1..i (sliding window)
    std::vector<char> hiddenKeys; // per key position, 1 = hidden from every query; empty = none hidden
};

// The teaching model's settings as key visibility for a sentence of tokenCount tokens.
KeyVisibility keyVisibility(const AttentionSettings &settings, int tokenCount);

// How scores become weights in the one attention kernel.
struct KernelOptions {
    float scale = 1.0f;       // scores are multiplied by this (1/√d_head, or 1 when not scaled)
    // Added to the scaled scores, (T, S) like them: a learned bias per relative position (T5). Null = none.
    const Matrix *bias = nullptr;
    double temperature = 1.0; // τ > 0
    KeyVisibility visibility;
};

// The attention kernel, for the teaching model and every checkpoint alike:
//   scores  = q kᵀ                              (T, T)
//   scaled  = (q · scale) kᵀ = scores · scale   (T, T)   (+ bias, where one is given: T5)
//   masked  = scaled, −∞ where a key is hidden  (T, T)
//   weights = softmax_keys(masked / τ)          (T, T)
//   output  = weights v                         (T, d_v)
// q (T, d), k (T, d), v (T, d_v). weights is resized; output must be (T, d_v). When stages is given
// every intermediate is kept there; without it only the weights and the output are computed, with
// the same arithmetic, so both give the same bits.
// Precision: products, scaling and exponentials in float; each row's sum of 64-cell float blocks
// added up in double. A weight is
// within a few float ulps (≈ 3·10⁻⁷ relative) of the exact softmax of the float logits; weights
// below the smallest normal float (1.2·10⁻³⁸) are exactly 0, as are hidden keys.
void attend(const Eigen::Ref<const Matrix> &q, const Eigen::Ref<const Matrix> &k, const Eigen::Ref<const Matrix> &v,
            const KernelOptions &options, Matrix &weights, Eigen::Ref<Matrix> output, HeadTrace *stages = nullptr);

// Numerically stable softmax of each row of logits / τ (the kernel's softmax, with its precision).
// Cells equal to −∞ get weight exactly 0.
// A row whose cells are all −∞ (a query that may see no key) is all zeros: it attends to nothing,
// so its output is the zero vector and its entropy 0. Finite for any finite logits and τ > 0.
// Scores that overflowed to +∞ (from huge weights) share the row equally, the limit of softmax;
// a row with a NaN score (from NaN weights) is all NaN, so views can show it as undefined.
// As τ → 0 (1/τ overflowing) the limit is the argmax, shared equally among tied maxima.
Matrix softmaxRows(const Matrix &logits, double temperature); // (T, T) -> (T, T)

// Shannon entropy in bits of each row of a weight matrix. (T, T) -> (T)
Vector rowEntropyBits(const Matrix &weights);

// The attention sink: the share of a head's attention that goes to the first token, the mean over
// queries of w_i0. (T, T) -> [0, 1]; 0 for an empty matrix.
double firstTokenShare(const Matrix &weights);

// All stages of one head on input X (T, d_model).
HeadTrace computeHead(const Matrix &input, const HeadWeights &head, const AttentionSettings &settings);

// Every layer's and head's attention weights: [layer][head] (T, T). Built once per run, then shared
// (never copied) by the document, the views and their figures.
using AttentionMaps = std::vector<std::vector<Matrix>>;
using SharedAttentionMaps = std::shared_ptr<const AttentionMaps>;

// Element-wise aggregations across heads of the same size. An empty list gives an empty matrix.
Matrix meanOverHeads(const std::vector<Matrix> &weights); // (T, T): (1/H) Σ_h W_h
Matrix maxOverHeads(const std::vector<Matrix> &weights);  // (T, T): max_h W_h

} // namespace studio
