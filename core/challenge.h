#pragma once

#include "tensor.h"

#include <QString>
#include <QStringList>

#include <optional>
#include <vector>

namespace studio {

// A pattern a student tries to make a head produce by editing W_Q and W_K (the make-a-head
// challenge). Each is a target attention matrix built from the tokens alone.
enum class TargetPattern { None, PreviousToken, SameWord, FirstToken, Self };
inline constexpr TargetPattern kTargetPatterns[] = {TargetPattern::PreviousToken, TargetPattern::SameWord,
                                                    TargetPattern::FirstToken, TargetPattern::Self};
QString targetPatternName(TargetPattern pattern);  // "previous-token", as files spell it ("" for None)
QString targetPatternTitle(TargetPattern pattern); // "attend to the previous token"
std::optional<TargetPattern> targetPatternFromName(const QString &name);

// The target weights (T, T) for the tokens: each row a distribution over keys.
//  previous token: all weight on the token before; the first token, having none, on itself.
//  same word: spread evenly over the occurrences of the query's own word (case-folded), itself included.
//  first token: all weight on token 0.   self: all weight on the query itself.
// masked (T, T; −∞ where a key is hidden from a query, e.g. the causal mask) restricts each row to
// the keys the head can see, renormalised; a row whose target keys are all hidden spreads evenly
// over its visible keys, and a row with no visible key is all zero. An empty masked hides nothing.
Matrix targetWeights(TargetPattern pattern, const QStringList &tokens, const Matrix &masked = {});

// How far a head's weights are from the target, in bits: the Jensen–Shannon divergence (base 2,
// between 0 and 1) of each row, and their mean over the rows that have a target.
struct ChallengeScore {
    std::vector<double> rows; // (T); NaN for a row with no visible key
    double mean = 0;
    bool reached = false;     // mean ≤ kChallengeReachedBits
};
inline constexpr double kChallengeReachedBits = 0.1;
ChallengeScore scoreAgainstTarget(const Matrix &weights, const Matrix &target);

// Jensen–Shannon divergence in bits between two distributions of equal length (each summing to 1).
double jensenShannonBits(const Eigen::Ref<const RowVector> &p, const Eigen::Ref<const RowVector> &q);

} // namespace studio
