#include "attention.h"

#include <cmath>
#include <limits>

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

bool maskModeFromName(const QString &name, MaskMode *mode)
{
    for (MaskMode candidate : {MaskMode::None, MaskMode::Causal, MaskMode::Keys}) {
        if (maskModeName(candidate) == name) {
            *mode = candidate;
            return true;
        }
    }
    return false;
}

Eigen::Array<bool, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>
maskFor(const AttentionSettings &settings, int tokenCount)
{
    Eigen::Array<bool, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> hidden(tokenCount, tokenCount);
    hidden.setConstant(false);
    switch (settings.mask) {
    case MaskMode::None:
        break;
    case MaskMode::Causal:
        for (int i = 0; i < tokenCount; ++i)
            for (int j = i + 1; j < tokenCount; ++j)
                hidden(i, j) = true;
        break;
    case MaskMode::Keys:
        for (int key : settings.maskedKeys)
            if (key >= 0 && key < tokenCount)
                hidden.col(key).setConstant(true);
        break;
    }
    return hidden;
}

Matrix softmaxRows(const Matrix &logits, double temperature)
{
    Matrix weights(logits.rows(), logits.cols());
    const double inverseTemperature = 1.0 / temperature;
    std::vector<double> exps(size_t(logits.cols()));
    for (Eigen::Index i = 0; i < logits.rows(); ++i) {
        // Subtract the row maximum so the largest exponent is exp(0) = 1: no overflow for any
        // finite logit, and the sum is at least 1.
        double rowMax = -std::numeric_limits<double>::infinity();
        bool hasNaN = false;
        for (Eigen::Index j = 0; j < logits.cols(); ++j) {
            const double x = double(logits(i, j)) * inverseTemperature;
            hasNaN |= std::isnan(x);
            rowMax = std::max(rowMax, x);
        }
        if (hasNaN) { // a NaN score (from NaN weights) makes the whole row undefined: say so
            weights.row(i).setConstant(std::numeric_limits<float>::quiet_NaN());
            continue;
        }
        if (rowMax == -std::numeric_limits<double>::infinity()) { // every key masked (or no keys)
            weights.row(i).setZero();
            continue;
        }
        if (rowMax == std::numeric_limits<double>::infinity()) {
            // Overflowed scores: the limit of softmax shares the weight among the +∞ keys.
            const double count = double((logits.row(i).array() == std::numeric_limits<float>::infinity()).count());
            for (Eigen::Index j = 0; j < logits.cols(); ++j)
                weights(i, j) = std::isinf(logits(i, j)) && logits(i, j) > 0 ? float(1.0 / count) : 0.0f;
            continue;
        }
        double sum = 0.0;
        for (Eigen::Index j = 0; j < logits.cols(); ++j) {
            const double x = double(logits(i, j));
            exps[size_t(j)] = std::isinf(x) && x < 0 ? 0.0 : std::exp(x * inverseTemperature - rowMax);
            sum += exps[size_t(j)];
        }
        for (Eigen::Index j = 0; j < logits.cols(); ++j)
            weights(i, j) = float(exps[size_t(j)] / sum);
    }
    return weights;
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
    HeadTrace trace;
    trace.q = input * head.wQ;
    trace.k = input * head.wK;
    trace.v = input * head.wV;
    trace.scores = trace.q * trace.k.transpose();
    trace.scaled = settings.scale ? Matrix(trace.scores / std::sqrt(float(head.dHead()))) : trace.scores;
    const auto hidden = maskFor(settings, tokenCount);
    trace.masked = hidden.select(-std::numeric_limits<float>::infinity(), trace.scaled);
    trace.weights = softmaxRows(trace.masked, settings.temperature);
    trace.output = trace.weights * trace.v;
    trace.entropy = rowEntropyBits(trace.weights);
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
