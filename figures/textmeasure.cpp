#include "textmeasure.h"

#include <algorithm>
#include <unordered_map>

namespace studio {

namespace {

// Per thread: advances by font (QFont::key names family, size, weight and style) and text. A
// node-based map, so a TextAdvances keeps its table while another font's is added; past a bound
// every table is emptied in place: a long session of ever new text stays small.
struct AdvanceTables {
    static constexpr qsizetype kMaxEntries = 100'000;
    std::unordered_map<QString, QHash<QString, double>> byFont;
    qsizetype entries = 0;
};

AdvanceTables &tables()
{
    thread_local AdvanceTables t;
    return t;
}

} // namespace

TextAdvances::TextAdvances(const QFont &font) : m_metrics(font), m_advances(&tables().byFont[font.key()]) {}

double TextAdvances::operator()(const QString &text)
{
    if (const auto found = m_advances->constFind(text); found != m_advances->constEnd())
        return *found;
    AdvanceTables &t = tables();
    if (t.entries >= AdvanceTables::kMaxEntries) {
        for (auto &[font, advances] : t.byFont)
            advances.clear();
        t.entries = 0;
    }
    const double advance = m_metrics.horizontalAdvance(text);
    m_advances->insert(text, advance);
    ++t.entries;
    return advance;
}

double TextAdvances::widest(const QStringList &labels)
{
    double widest = 0;
    for (const QString &label : labels)
        widest = std::max(widest, (*this)(label));
    return widest;
}

} // namespace studio
