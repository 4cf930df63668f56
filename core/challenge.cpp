#include "challenge.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace studio {

QString targetPatternName(TargetPattern pattern)
{
    switch (pattern) {
    case TargetPattern::None: return {};
    case TargetPattern::PreviousToken: return QStringLiteral("previous-token");
    case TargetPattern::SameWord: return QStringLiteral("same-word");
    case TargetPattern::FirstToken: return QStringLiteral("first-token");
    case TargetPattern::Self: return QStringLiteral("self");
    }
    return {};
}

QString targetPatternTitle(TargetPattern pattern)
{
    switch (pattern) {
    case TargetPattern::None: return QStringLiteral("no target");
    case TargetPattern::PreviousToken: return QStringLiteral("attend to the previous token");
    case TargetPattern::SameWord: return QStringLiteral("attend to the same word");
    case TargetPattern::FirstToken: return QStringLiteral("attend to the first token");
    case TargetPattern::Self: return QStringLiteral("attend to itself");
    }
    return {};
}

std::optional<TargetPattern> targetPatternFromName(const QString &name)
{
    if (name.isEmpty())
        return TargetPattern::None;
    for (TargetPattern pattern : kTargetPatterns)
        if (targetPatternName(pattern) == name)
            return pattern;
    return std::nullopt;
}

Matrix targetWeights(TargetPattern pattern, const QStringList &tokens, const Matrix &masked)
{
    const int n = int(tokens.size());
    Matrix target = Matrix::Zero(n, n); // (T, T)
    for (int q = 0; q < n; ++q) {
        switch (pattern) {
        case TargetPattern::None: break;
        case TargetPattern::PreviousToken: target(q, std::max(0, q - 1)) = 1; break;
        case TargetPattern::FirstToken: target(q, 0) = 1; break;
        case TargetPattern::Self: target(q, q) = 1; break;
        case TargetPattern::SameWord:
            for (int k = 0; k < n; ++k)
                if (tokens.at(k).compare(tokens.at(q), Qt::CaseInsensitive) == 0)
                    target(q, k) = 1;
            break;
        }
    }
    const bool restrict = masked.rows() == n && masked.cols() == n;
    for (int q = 0; q < n; ++q) {
        if (restrict)
            for (int k = 0; k < n; ++k)
                if (std::isinf(masked(q, k)) && masked(q, k) < 0)
                    target(q, k) = 0;
        double sum = target.row(q).sum();
        if (sum == 0 && pattern != TargetPattern::None) {
            // The wanted keys are hidden: the best the head can do is to spread over what it sees.
            for (int k = 0; k < n; ++k)
                target(q, k) = restrict && std::isinf(masked(q, k)) && masked(q, k) < 0 ? 0.0f : 1.0f;
            sum = target.row(q).sum();
        }
        if (sum > 0)
            target.row(q) /= float(sum);
    }
    return target;
}

double jensenShannonBits(const Eigen::Ref<const RowVector> &p, const Eigen::Ref<const RowVector> &q)
{
    // ½ KL(p‖m) + ½ KL(q‖m) with m = ½(p + q); a term with zero probability contributes nothing.
    double divergence = 0;
    for (Eigen::Index i = 0; i < p.size(); ++i) {
        const double a = p[i], b = q[i], m = 0.5 * (a + b);
        if (a > 0)
            divergence += 0.5 * a * std::log2(a / m);
        if (b > 0)
            divergence += 0.5 * b * std::log2(b / m);
    }
    return std::clamp(divergence, 0.0, 1.0); // rounding can leave a hair below 0 or above 1
}

ChallengeScore scoreAgainstTarget(const Matrix &weights, const Matrix &target)
{
    ChallengeScore score;
    if (weights.rows() != target.rows() || weights.cols() != target.cols() || weights.rows() == 0)
        return score;
    double sum = 0;
    int counted = 0;
    for (Eigen::Index q = 0; q < target.rows(); ++q) {
        if (target.row(q).sum() <= 0) {
            score.rows.push_back(std::numeric_limits<double>::quiet_NaN());
            continue;
        }
        // A head with NaN weights (from NaN edits) is as far from any target as it can be.
        const double d = weights.row(q).allFinite() ? jensenShannonBits(weights.row(q), target.row(q)) : 1.0;
        score.rows.push_back(d);
        sum += d;
        ++counted;
    }
    score.mean = counted ? sum / counted : 0.0;
    score.reached = counted > 0 && score.mean <= kChallengeReachedBits;
    return score;
}

} // namespace studio
