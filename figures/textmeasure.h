#pragma once

#include <QFont>
#include <QFontMetricsF>
#include <QHash>
#include <QString>
#include <QStringList>

namespace studio {

// Advances of text in one font, as QFontMetricsF::horizontalAdvance gives them, remembered per
// thread and font: fitting a figure's font tries many sizes, each measuring every label and
// number, and the same strings come back on every edit (tokens, "0.25"). Each is shaped once.
class TextAdvances {
public:
    explicit TextAdvances(const QFont &font);
    double operator()(const QString &text);
    // The widest of the labels (0 for none).
    double widest(const QStringList &labels);

private:
    QFontMetricsF m_metrics;
    QHash<QString, double> *m_advances;
};

} // namespace studio
