#include "attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace studio {

QString maskModeName(MaskMode mode)
{
    switch (mode) {
    case MaskMode::None: return QStringLiteral("none");
    case MaskMode::Causal: return QStringLiteral("causal");
    case MaskMode::Keys: return QStringLiteral("keys");
    }
    return {};
}

QString projectionName(Projection projection)
{
    switch (projection) {
    case Projection::Q: return QStringLiteral("q");
    case Projection::K: return QStringLiteral("k");
    case Projection::V: return QStringLiteral("v");
    case Projection::O: return QStringLiteral("o");
    }
    Q_UNREACHABLE();
}

QString projectionMatrixName(Projection projection)
{
    return QStringLiteral("W_") + projectionName(projection).toUpper();
}

std::optional<Projection> projectionFromName(const QString &name)
{
    for (Projection candidate : kProjections)
        if (projectionName(candidate) == name)
            return candidate;
    return std::nullopt;
}

Matrix &HeadWeights::weight(Projection projection)
{
    return const_cast<Matrix &>(std::as_const(*this).weight(projection));
}

const Matrix &HeadWeights::weight(Projection projection) const
{
    switch (projection) {
    case Projection::Q: return wQ;
    case Projection::K: return wK;
    case Projection::V: return wV;
    case Projection::O: return wO;
    }
    Q_UNREACHABLE();
}

const Matrix &HeadTrace::projected(Projection projection) const
{
    switch (projection) {
    case Projection::Q: return q;
    case Projection::K: return k;
    case Projection::V: return v;
    case Projection::O: return output;
    }
    Q_UNREACHABLE();
}

std::optional<MaskMode> maskModeFromName(const QString &name)
{
    for (MaskMode candidate : {MaskMode::None, MaskMode::Causal, MaskMode::Keys})
        if (maskModeName(candidate) == name)
            return candidate;
    return std::nullopt;
}

KeyVisibility keyVisibility(const AttentionSettings &settings, int tokenCount)
{
    // The hidden keys combine with the mask: causal and keys 2, 5 hidden hides both.
    KeyVisibility visibility;
    visibility.causal = settings.mask == MaskMode::Causal;
    if (!settings.maskedKeys.isEmpty()) {
        visibility.hiddenKeys.assign(size_t(std::max(0, tokenCount)), 0);
        for (int key : settings.maskedKeys)
            if (key >= 0 && key < tokenCount)
                visibility.hiddenKeys[size_t(key)] = 1;
    }
    return visibility;
}

namespace {

constexpr float kMinusInfinity = -std::numeric_limits<float>::infinity();
constexpr float kInfinity = std::numeric_limits<float>::infinity();
const float kLogSmallestNormal = std::log(std::numeric_limits<float>::min()); // ≈ −87.34

// Softmax of one row's logits / τ in place, over its first `visible` cells; the cells after them
// (keys a causal query may not see) become 0. The rules for rows without a finite maximum are
// those documented at softmaxRows.
void softmaxRow(Eigen::Ref<RowVector> row, Eigen::Index visible, double inverseTemperature)
{
    auto cells = row.head(visible).array();
    row.tail(row.size() - visible).setZero();
    if (visible == 0)
        return;
    const auto undefined = [&row] { row.setConstant(std::numeric_limits<float>::quiet_NaN()); };
    const float rowMax = cells.maxCoeff();
    const float inverse = float(inverseTemperature);
    if (!std::isfinite(rowMax) || !std::isfinite(inverse)) { // rare rows, decided exactly
        if (cells.isNaN().any()) // a NaN score (from NaN weights) makes the whole row undefined
            return undefined();
        if (rowMax == kMinusInfinity) { // every key hidden: the query attends to nothing
            cells.setZero();
            return;
        }
        // Overflowed scores share the row equally (the limit of softmax); so do tied maxima as
        // τ → 0 (1/τ beyond float): the limit is the argmax.
        const float count = float((cells == rowMax).count());
        cells = (cells == rowMax).cast<float>() / count;
        return;
    }
    // Subtract the row maximum so the largest exponent is exp(0) = 1: no overflow for any finite
    // logit, and the sum is at least 1. Vectorised exp clamps its argument near −88.7 and so returns
    // 2.9·10⁻³⁹ even for −∞: below the smallest normal float the exponential is flushed to exactly
    // 0, so hidden keys get exactly 0.
    // (Eigen 3.4's select is not vectorised: the exponentials are taken first, and only rows that
    // reach below the smallest normal float pay for the flush.)
    cells = (cells - rowMax) * inverse;
    const bool flush = cells.minCoeff() < kLogSmallestNormal;
    cells = cells.exp();
    if (flush)
        cells = (cells < std::numeric_limits<float>::min()).select(0.0f, cells);
    // The sum: vectorised float sums of 64-cell blocks (each a chain of a few additions per lane),
    // added up in double. Error ≤ a few float ulps, at the speed of a float sum.
    double sum = 0.0;
    for (Eigen::Index j = 0; j < visible; j += 64)
        sum += cells.segment(j, std::min<Eigen::Index>(64, visible - j)).sum();
    if (std::isnan(sum)) // a NaN score the maximum skipped
        return undefined();
    cells /= float(sum);
}

} // namespace

void attend(const Eigen::Ref<const Matrix> &q, const Eigen::Ref<const Matrix> &k, const Eigen::Ref<const Matrix> &v,
            const KernelOptions &options, Matrix &weights, Eigen::Ref<Matrix> output, HeadTrace *stages)
{
    const Eigen::Index tokens = q.rows();
    const KeyVisibility &visibility = options.visibility;
    const bool hidesKeys = !visibility.hiddenKeys.empty();
    // scaled = (q · scale) kᵀ in the weights' storage (T, T): scaling q (T, d) costs less than
    // scaling the product (T, T). Kept stages also get scores = q kᵀ; scaled equals scores · scale
    // up to float rounding (exactly when the scale is a power of two, as for d_head 4, 16, 64).
    weights.resize(tokens, k.rows());
    if (visibility.causal && !stages && !options.bias && tokens == k.rows()) {
        // Causal: a query sees only the keys up to itself, so only the blocks on and below the
        // diagonal are multiplied (half the products); the cells right of each block's last
        // query are never read: the softmax below zeroes every cell after a row's visible keys.
        constexpr Eigen::Index kBlock = 64;
        for (Eigen::Index i0 = 0; i0 < tokens; i0 += kBlock) {
            const Eigen::Index rows = std::min(kBlock, tokens - i0);
            const Eigen::Index seen = i0 + rows;
            weights.block(i0, 0, rows, seen).noalias() = (q.middleRows(i0, rows) * options.scale) * k.topRows(seen).transpose();
        }
    } else {
        weights.noalias() = (q * options.scale) * k.transpose();
    }
    if (options.bias) {
        Q_ASSERT(options.bias->rows() == weights.rows() && options.bias->cols() == weights.cols());
        weights += *options.bias;
    }
    if (stages) {
        stages->scores.noalias() = q * k.transpose();
        stages->scaled = weights;
        if (options.bias)
            stages->bias = *options.bias;
    }
    // masked: −∞ on hidden keys; a causal query's later keys are left out of its softmax below.
    if (hidesKeys)
        for (Eigen::Index j = 0; j < weights.cols() && j < Eigen::Index(visibility.hiddenKeys.size()); ++j)
            if (visibility.hiddenKeys[size_t(j)])
                weights.col(j).setConstant(kMinusInfinity);
    // A sliding window hides the keys more than window − 1 places before the query.
    if (visibility.causal && visibility.window > 0)
        for (Eigen::Index i = visibility.window; i < tokens; ++i)
            weights.row(i).head(std::min(weights.cols(), i - visibility.window + 1)).setConstant(kMinusInfinity);
    if (stages) {
        stages->masked = weights;
        if (visibility.causal)
            for (Eigen::Index i = 0; i < tokens; ++i)
                stages->masked.row(i).tail(weights.cols() - std::min(weights.cols(), i + 1)).setConstant(kMinusInfinity);
    }
    const double inverseTemperature = 1.0 / options.temperature;
    for (Eigen::Index i = 0; i < tokens; ++i)
        softmaxRow(weights.row(i), visibility.causal ? std::min(weights.cols(), i + 1) : weights.cols(), inverseTemperature);
    // output = weights v: a causal matrix is lower triangular, so only that half is multiplied.
    if (visibility.causal && weights.rows() == weights.cols())
        output.noalias() = weights.triangularView<Eigen::Lower>() * v;
    else
        output.noalias() = weights * v;
    if (stages) {
        stages->q = q;
        stages->k = k;
        stages->v = v;
        stages->weights = weights;
        stages->output = output;
        stages->entropy = rowEntropyBits(weights);
    }
}

Matrix softmaxRows(const Matrix &logits, double temperature)
{
    Matrix weights = logits;
    const double inverseTemperature = 1.0 / temperature;
    for (Eigen::Index i = 0; i < weights.rows(); ++i)
        softmaxRow(weights.row(i), weights.cols(), inverseTemperature);
    return weights;
}

double firstTokenShare(const Matrix &weights)
{
    if (weights.rows() == 0 || weights.cols() == 0)
        return 0.0;
    return weights.col(0).cast<double>().mean();
}

Vector rowEntropyBits(const Matrix &weights)
{
    Vector entropy(weights.rows());
    for (Eigen::Index i = 0; i < weights.rows(); ++i) {
        double h = 0.0;
        for (Eigen::Index j = 0; j < weights.cols(); ++j) {
            const double w = weights(i, j);
            if (w > 0.0) // 0 log 0 = 0
                h -= w * std::log2(w);
        }
        entropy[i] = float(h);
    }
    return entropy;
}

HeadTrace computeHead(const Matrix &input, const HeadWeights &head, const AttentionSettings &settings)
{
    const int tokenCount = int(input.rows());
    KernelOptions options;
    options.scale = settings.scale ? 1.0f / std::sqrt(float(head.dHead())) : 1.0f;
    options.temperature = settings.temperature;
    options.visibility = keyVisibility(settings, tokenCount);
    const Matrix q = input * head.wQ; // (T, d_head)
    const Matrix k = input * head.wK; // (T, d_head)
    const Matrix v = input * head.wV; // (T, d_head)
    HeadTrace trace;
    Matrix weights;
    Matrix output(tokenCount, head.wV.cols());
    attend(q, k, v, options, weights, output, &trace);
    return trace;
}

Matrix meanOverHeads(const std::vector<Matrix> &weights)
{
    if (weights.empty())
        return {};
    Matrix sum = Matrix::Zero(weights.front().rows(), weights.front().cols());
    for (const Matrix &w : weights)
        sum += w;
    return sum / float(weights.size());
}

Matrix maxOverHeads(const std::vector<Matrix> &weights)
{
    if (weights.empty())
        return {};
    Matrix result = weights.front();
    for (const Matrix &w : weights)
        result = result.cwiseMax(w);
    return result;
}

} // namespace studio
