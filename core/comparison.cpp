#include "comparison.h"

#include "challenge.h"

#include <algorithm>

namespace studio {

TokenAlignment alignTokens(const QStringList &a, const QStringList &b)
{
    const qsizetype n = a.size(), m = b.size();
    // length(i, j): the longest common subsequence of a[i..] and b[j..], filled from the end so
    // that walking forward takes the earliest match.
    std::vector<int> length(size_t((n + 1) * (m + 1)), 0);
    auto at = [m, &length](qsizetype i, qsizetype j) -> int & { return length[size_t(i * (m + 1) + j)]; };
    for (qsizetype i = n - 1; i >= 0; --i)
        for (qsizetype j = m - 1; j >= 0; --j)
            at(i, j) = a.at(i) == b.at(j) ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    TokenAlignment pairs;
    qsizetype i = 0, j = 0;
    while (i < n && j < m) {
        if (a.at(i) == b.at(j)) {
            pairs.emplace_back(int(i), int(j));
            ++i;
            ++j;
        } else if (at(i + 1, j) >= at(i, j + 1)) {
            ++i;
        } else {
            ++j;
        }
    }
    return pairs;
}

HeadDivergence headDivergence(const Matrix &a, const Matrix &b, const TokenAlignment &alignment)
{
    HeadDivergence result;
    const auto n = Eigen::Index(alignment.size());
    if (n == 0)
        return result;
    double sum = 0;
    RowVector rowA(n), rowB(n);
    for (const auto &[qa, qb] : alignment) {
        for (Eigen::Index k = 0; k < n; ++k) {
            rowA[k] = a(qa, alignment[size_t(k)].first);
            rowB[k] = b(qb, alignment[size_t(k)].second);
        }
        const double totalA = rowA.cast<double>().sum(), totalB = rowB.cast<double>().sum();
        if (!(totalA > 0) || !(totalB > 0))
            continue;
        sum += jensenShannonBits(rowA / float(totalA), rowB / float(totalB));
        ++result.rows;
    }
    result.divergence = result.rows ? sum / result.rows : 0.0;
    return result;
}

Matrix alignedDifference(const Matrix &a, const Matrix &b, const TokenAlignment &alignment)
{
    const auto n = Eigen::Index(alignment.size());
    Matrix difference(n, n); // (n, n)
    for (Eigen::Index q = 0; q < n; ++q)
        for (Eigen::Index k = 0; k < n; ++k)
            difference(q, k) = b(alignment[size_t(q)].second, alignment[size_t(k)].second)
                - a(alignment[size_t(q)].first, alignment[size_t(k)].first);
    return difference;
}

} // namespace studio
