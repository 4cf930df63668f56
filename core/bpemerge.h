#pragma once

#include <QHash>
#include <QString>
#include <QStringList>

#include <vector>

namespace studio {

// Byte-pair merging, the step every BPE tokenizer shares: the adjacent pair of lowest rank
// ("left right" → rank) is merged first, the leftmost among equals, until no pair has a rank.
// O(n log n) in the number of symbols.
QStringList mergeByRank(std::vector<QString> symbols, const QHash<QString, int> &ranks);

} // namespace studio
