#pragma once

#include "tensor.h"

#include <QList>
#include <QString>

#include <vector>

namespace studio {

enum class MaskMode {
    None,   // every query sees every key
    Causal, // query i sees keys 0..i
    Keys,   // the keys listed in AttentionSettings::maskedKeys are hidden from every query
};

QString maskModeName(MaskMode mode);
bool maskModeFromName(const QString &name, MaskMode *mode);

struct AttentionSettings {
    MaskMode mask = MaskMode::None;
    QList<int> maskedKeys;    // key positions hidden when mask == Keys; out-of-range ones are ignored
    double temperature = 1.0; // τ > 0
    bool scale = true;        // divide scores by √d_head

    friend bool operator==(const AttentionSettings &, const AttentionSettings &) = default;
};

// The projections of one head. No biases: X W is the whole projection.
struct HeadWeights {
    QString name;
    QString description;
    Matrix wQ; // (d_model, d_head)
    Matrix wK; // (d_model, d_head)
    Matrix wV; // (d_model, d_head)

    int dModel() const { return int(wQ.rows()); }
    int dHead() const { return int(wQ.cols()); }
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
};

// Which (query, key) cells the settings hide. (T, T), true = masked.
Eigen::Array<bool, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>
maskFor(const AttentionSettings &settings, int tokenCount);

// Numerically stable softmax of each row of logits / τ. Cells equal to −∞ get weight exactly 0.
// A row whose cells are all −∞ (a query that may see no key) is all zeros: it attends to nothing,
// so its output is the zero vector and its entropy 0. Finite for any finite logits and τ > 0.
// Scores that overflowed to +∞ (from huge weights) share the row equally, the limit of softmax;
// a row with a NaN score (from NaN weights) is all NaN, so views can show it as undefined.
Matrix softmaxRows(const Matrix &logits, double temperature); // (T, T) -> (T, T)

// Shannon entropy in bits of each row of a weight matrix. (T, T) -> (T)
Vector rowEntropyBits(const Matrix &weights);

// All stages of one head on input X (T, d_model).
HeadTrace computeHead(const Matrix &input, const HeadWeights &head, const AttentionSettings &settings);

// Element-wise aggregations across heads of the same size. An empty list gives an empty matrix.
Matrix meanOverHeads(const std::vector<Matrix> &weights); // (T, T): (1/H) Σ_h W_h
Matrix maxOverHeads(const std::vector<Matrix> &weights);  // (T, T): max_h W_h

} // namespace studio
