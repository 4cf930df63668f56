#include "bpemerge.h"

#include <functional>
#include <queue>

namespace studio {

QStringList mergeByRank(std::vector<QString> symbols, const QHash<QString, int> &ranks)
{
    // A heap of candidate pairs over a linked list of symbols makes that O(n log n) in the
    // word's length (merging every occurrence by rescanning the word is quadratic: a 120,000-letter
    // word took most of a minute).
    const qsizetype n = qsizetype(symbols.size());
    std::vector<qsizetype> next(static_cast<size_t>(n)), previous(static_cast<size_t>(n));
    for (qsizetype i = 0; i < n; ++i) {
        next[size_t(i)] = i + 1 < n ? i + 1 : -1;
        previous[size_t(i)] = i - 1;
    }
    struct Candidate {
        int rank;
        qsizetype left, right;
        qsizetype leftSize, rightSize; // the symbols' lengths when the pair was seen
        bool operator>(const Candidate &other) const { return rank != other.rank ? rank > other.rank : left > other.left; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
    const auto consider = [&](qsizetype left) {
        const qsizetype right = left >= 0 ? next[size_t(left)] : -1;
        if (right < 0)
            return;
        const auto it = ranks.constFind(symbols[size_t(left)] + QLatin1Char(' ') + symbols[size_t(right)]);
        if (it != ranks.constEnd())
            heap.push({it.value(), left, right, symbols[size_t(left)].size(), symbols[size_t(right)].size()});
    };
    for (qsizetype i = 0; i + 1 < n; ++i)
        consider(i);
    while (!heap.empty()) {
        const Candidate best = heap.top();
        heap.pop();
        // A candidate is stale once either symbol took part in another merge.
        if (next[size_t(best.left)] != best.right || symbols[size_t(best.left)].size() != best.leftSize
            || symbols[size_t(best.right)].size() != best.rightSize)
            continue;
        symbols[size_t(best.left)] += symbols[size_t(best.right)];
        symbols[size_t(best.right)].clear();
        next[size_t(best.left)] = next[size_t(best.right)];
        if (next[size_t(best.left)] >= 0)
            previous[size_t(next[size_t(best.left)])] = best.left;
        next[size_t(best.right)] = -2; // merged away
        consider(previous[size_t(best.left)]);
        consider(best.left);
    }
    QStringList pieces;
    for (qsizetype i = n > 0 ? 0 : -1; i >= 0; i = next[size_t(i)])
        pieces.append(symbols[size_t(i)]);
    return pieces;
}

} // namespace studio
