#include "aggregation.h"

namespace studio {

Eigen::MatrixXd residualMixed(const std::vector<Matrix> &heads)
{
    if (heads.empty())
        return {};
    const Eigen::Index n = heads.front().rows();
    // Â = ½·mean_h A + ½·I, rows renormalised (a row of A that sums to 0, a query that saw no key,
    // still gets ½ on itself), accumulated in double.
    Eigen::MatrixXd mixed = Eigen::MatrixXd::Zero(n, n);
    for (const Matrix &head : heads)
        mixed += head.cast<double>();
    mixed *= 0.5 / double(heads.size());
    mixed.diagonal().array() += 0.5;
    for (Eigen::Index r = 0; r < n; ++r) {
        const double sum = mixed.row(r).sum();
        if (sum > 0)
            mixed.row(r) /= sum;
    }
    return mixed;
}

Matrix rolloutStep(const Matrix &previous, const std::vector<Matrix> &heads)
{
    if (heads.empty())
        return previous;
    const Eigen::MatrixXd mixed = residualMixed(heads);
    if (previous.size() == 0)
        return mixed.cast<float>();
    return (mixed * previous.cast<double>()).cast<float>(); // (T, T)
}

std::vector<Matrix> attentionRollout(const std::vector<std::vector<Matrix>> &layers)
{
    std::vector<Matrix> rollout;
    rollout.reserve(layers.size());
    Matrix previous;
    for (const std::vector<Matrix> &heads : layers) {
        previous = rolloutStep(previous, heads);
        rollout.push_back(previous);
    }
    return rollout;
}

Matrix valueWeighted(const Matrix &weights, const Eigen::Ref<const Vector> &valueNorms)
{
    if (valueNorms.size() != weights.cols())
        return {};
    return weights * valueNorms.asDiagonal(); // (T, T): column j scaled by ‖f(x_j)‖
}

Matrix withoutTokens(const Matrix &weights, const std::vector<bool> &keep)
{
    std::vector<Eigen::Index> kept;
    for (size_t i = 0; i < keep.size() && Eigen::Index(i) < weights.rows(); ++i)
        if (keep[i])
            kept.push_back(Eigen::Index(i));
    const auto n = Eigen::Index(kept.size());
    Matrix shown(n, n); // (kept, kept)
    for (Eigen::Index r = 0; r < n; ++r) {
        double sum = 0;
        for (Eigen::Index c = 0; c < n; ++c) {
            shown(r, c) = weights(kept[size_t(r)], kept[size_t(c)]);
            sum += shown(r, c);
        }
        if (sum > 0)
            shown.row(r) /= float(sum);
    }
    return shown;
}

} // namespace studio
