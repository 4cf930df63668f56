#include "arcfigure.h"

#include "textmeasure.h"

#include <QFontMetricsF>
#include <QObject>
#include <QPainter>

#include <algorithm>
#include <map>
#include <cmath>
#include <numeric>

namespace studio {

std::vector<ArcLine> pruneArcs(const std::vector<Matrix> &weights, const QList<int> &heads,
                               const ArcPruning &pruning, int *hidden)
{
    std::vector<ArcLine> lines;
    int left = 0;
    std::vector<int> candidates; // one query's keys over the threshold
    for (int head : heads) {
        if (head < 0 || head >= int(weights.size()))
            continue;
        const Matrix &w = weights[size_t(head)];
        for (int q = 0; q < w.rows(); ++q) {
            // Keys with no weight are no line at all; weak ones are hidden lines. Of the rest, only
            // the top K are kept: a partial selection, not a sort of the whole row.
            candidates.clear();
            for (int key = 0; key < w.cols(); ++key) {
                const float weight = w(q, key);
                if (!(weight > 0.0f))
                    continue;
                if (weight >= pruning.threshold)
                    candidates.push_back(key);
                else
                    ++left;
            }
            if (pruning.topK > 0 && int(candidates.size()) > pruning.topK) {
                std::nth_element(candidates.begin(), candidates.begin() + pruning.topK, candidates.end(),
                                 [&](int a, int b) { return w(q, a) > w(q, b); });
                left += int(candidates.size()) - pruning.topK;
                candidates.resize(size_t(pruning.topK));
            }
            for (int key : candidates)
                lines.push_back({q, key, head, w(q, key)});
        }
    }
    // Weak lines first so that strong ones are drawn on top.
    std::sort(lines.begin(), lines.end(), [](const ArcLine &a, const ArcLine &b) { return a.weight < b.weight; });
    if (hidden)
        *hidden = left;
    return lines;
}

ArcLayout::ArcLayout(int tokenCount, const QRectF &area, double labelWidth, double captionHeight)
    : ArcLayout(tokenCount, tokenCount, area, labelWidth, captionHeight)
{
}

ArcLayout::ArcLayout(int queryCount, int keyCount, const QRectF &area, double labelWidth, double captionHeight)
    : m_count(std::max(queryCount, 0)), m_keyCount(std::max(keyCount, 0))
{
    const double top = area.top() + 8;
    const double height = std::max(0.0, area.height() - 16 - captionHeight);
    const int rows = std::max(m_count, m_keyCount);
    m_row = rows > 0 ? height / rows : 0;
    m_top = top + (rows - m_count) * m_row / 2;
    m_keyTop = top + (rows - m_keyCount) * m_row / 2;
    m_left = QRectF(area.left() + 8, top, labelWidth, height);
    m_right = QRectF(area.right() - 8 - labelWidth, top, labelWidth, height);
    m_lines = QRectF(m_left.right() + 6, top, std::max(0.0, m_right.left() - m_left.right() - 12), height);
    m_caption = QRectF(area.left() + 8, top + height + 4, area.width() - 16, captionHeight);
}

QRectF ArcLayout::leftLabel(int token) const
{
    return QRectF(m_left.left(), m_top + token * m_row, m_left.width(), m_row);
}

QRectF ArcLayout::rightLabel(int token) const
{
    return QRectF(m_right.left(), m_keyTop + token * m_row, m_right.width(), m_row);
}

QPointF ArcLayout::leftAnchor(int token) const
{
    return {m_lines.left(), m_top + (token + 0.5) * m_row};
}

QPointF ArcLayout::rightAnchor(int token) const
{
    return {m_lines.right(), m_keyTop + (token + 0.5) * m_row};
}

int ArcLayout::tokenAt(const QPointF &point, bool *left) const
{
    if (m_row <= 0)
        return -1;
    if (m_left.adjusted(0, 0, 6, 0).contains(point)) {
        const int token = int(std::floor((point.y() - m_top) / m_row));
        if (token < 0 || token >= m_count)
            return -1;
        *left = true;
        return token;
    }
    if (m_right.adjusted(-6, 0, 0, 0).contains(point)) {
        const int token = int(std::floor((point.y() - m_keyTop) / m_row));
        if (token < 0 || token >= m_keyCount)
            return -1;
        *left = false;
        return token;
    }
    return -1;
}

QColor headColor(int head)
{
    static const QRgb palette[] = {0xFF0072B2, 0xFFD55E00, 0xFF009E73, 0xFFCC79A7,
                                   0xFFE69F00, 0xFF56B4E9, 0xFF000000, 0xFFF0E442};
    return QColor::fromRgb(palette[size_t(std::abs(head)) % std::size(palette)]);
}

QRgb blendOnWhite(QColor color, double alpha)
{
    alpha = std::clamp(alpha, 0.0, 1.0);
    auto mix = [alpha](int c) { return int(std::lround(255 + (c - 255) * alpha)); };
    return qRgb(mix(color.red()), mix(color.green()), mix(color.blue()));
}

QList<std::pair<QColor, QString>> arcLegend(const ArcFigure &figure)
{
    QList<std::pair<QColor, QString>> entries;
    for (int head : figure.heads)
        entries.append({headColor(head), figure.headLabels.value(head, QObject::tr("head %1").arg(head))});
    return entries;
}

namespace {

// The legend flows over as many lines as it needs: a swatch and a label per head.
constexpr double kSwatch = 0.8; // of the line height

std::vector<int> legendLineBreaks(const ArcFigure &figure, const QFontMetricsF &metrics, double width)
{
    std::vector<int> starts{0};
    double x = 0;
    const auto entries = arcLegend(figure);
    for (int i = 0; i < int(entries.size()); ++i) {
        const double entry = metrics.height() * (kSwatch + 0.4) + metrics.horizontalAdvance(entries.at(i).second) + metrics.height();
        if (x > 0 && x + entry > width) {
            starts.push_back(i);
            x = 0;
        }
        x += entry;
    }
    return starts;
}

int legendLines(const ArcFigure &figure, const QFontMetricsF &metrics, double width)
{
    return arcLegend(figure).isEmpty() ? 0 : int(legendLineBreaks(figure, metrics, width).size());
}

} // namespace

QSizeF preferredArcSize(const ArcFigure &figure, const QFont &font)
{
    const QFontMetricsF metrics(font);
    TextAdvances advances(font);
    const double widest = std::max({40.0, advances.widest(figure.labels), advances.widest(figure.keyLabels)});
    // Wide enough for the caption's lines whole (the last one, the count of lines, is short).
    double width = std::min(widest, 160.0) * 2 + 360;
    for (const QString &line : figure.caption)
        width = std::max(width, metrics.horizontalAdvance(line) + 24);
    width = std::min(width, 1600.0);
    const double row = std::max(metrics.height() * 1.3, 4.0);
    const double extra = metrics.lineSpacing() * (figure.caption.size() + 1 + legendLines(figure, metrics, width - 16));
    const double height = std::clamp(row * std::max(figure.labels.size(), figure.rightLabels().size()), 200.0, 4000.0) + 16 + extra;
    return {width, height};
}

ArcLayout arcFigureLayout(const ArcFigure &figure, const QRectF &area, const QFont &font)
{
    const QFontMetricsF metrics(font);
    TextAdvances advances(font);
    const double widest = std::max({40.0, advances.widest(figure.labels), advances.widest(figure.keyLabels)});
    const int captionLines = figure.showCaption ? int(figure.caption.size()) + 1 : 0;
    const double captionHeight = metrics.lineSpacing() * (captionLines + legendLines(figure, metrics, area.width() - 16));
    return ArcLayout(int(figure.labels.size()), int(figure.rightLabels().size()), area, std::min(widest, 160.0) + 4, captionHeight);
}

int paintArcFigure(QPainter &painter, const QRectF &area, const ArcFigure &figure, const QFont &font,
                   const PrunedArcs *pruned)
{
    painter.save();
    painter.setFont(font);
    const QFontMetricsF metrics(font);
    const int legendLineCount = legendLines(figure, metrics, area.width() - 16);
    const ArcLayout layout = arcFigureLayout(figure, area, font);
    painter.fillRect(area, Qt::white);

    int hidden = 0;
    std::vector<ArcLine> lines;
    if (pruned) {
        lines = pruned->lines;
        hidden = pruned->hidden;
    } else {
        lines = pruneArcs(*figure.weights, figure.heads, figure.pruning, &hidden);
    }
    if (figure.focusToken >= 0) {
        std::erase_if(lines, [&](const ArcLine &l) { return (figure.focusIsQuery ? l.query : l.key) != figure.focusToken; });
    }
    if (figure.hiddenQuery >= 0)
        std::erase_if(lines, [&](const ArcLine &l) { return l.query == figure.hiddenQuery; });
    // Lines go in batches of one colour: per head, 32 strength levels, each pre-blended onto white
    // and drawn opaque, weakest first. Antialiasing only while there are few enough lines for it.
    painter.setRenderHint(QPainter::Antialiasing, lines.size() <= 600);
    const double width = std::clamp(layout.rowHeight() / 6, 1.0, 2.5);
    constexpr int kLevels = 32;
    std::map<std::pair<int, int>, QList<QLineF>> batches; // (level, head) -> lines
    for (const ArcLine &line : lines) {
        const int level = std::clamp(int(line.weight * (kLevels - 1) + 0.5f), 0, kLevels - 1);
        batches[{level, line.head}].append(QLineF(layout.leftAnchor(line.query), layout.rightAnchor(line.key)));
    }
    for (const auto &[key, batch] : batches) {
        const double strength = double(key.first) / (kLevels - 1);
        painter.setPen(QPen(QColor::fromRgb(blendOnWhite(headColor(key.second), 0.15 + 0.85 * strength)), width));
        painter.drawLines(batch);
    }

    // Token labels, with level of detail: every n-th when rows are shorter than the text.
    const int stride = std::max(1, int(std::ceil(metrics.height() * 0.9 / std::max(layout.rowHeight(), 0.01))));
    TextAdvances advances(font);
    for (int side = 0; side < 2; ++side) {
        const QStringList &labels = side == 0 ? figure.labels : figure.rightLabels();
        const bool focusHere = (side == 0) == figure.focusIsQuery || figure.keyLabels.isEmpty();
        for (int t = 0; t < labels.size(); t += stride) {
            QFont labelFont = font;
            labelFont.setBold(focusHere && t == figure.focusToken);
            painter.setFont(labelFont);
            painter.setPen(Qt::black);
            const QRectF box = side == 0 ? layout.leftLabel(t) : layout.rightLabel(t);
            const QString text = advances(labels.at(t)) <= box.width() ? labels.at(t) : metrics.elidedText(labels.at(t), Qt::ElideRight, box.width());
            painter.drawText(box.adjusted(0, -metrics.height(), 0, metrics.height()),
                             (side == 0 ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignVCenter, text);
        }
    }
    painter.setFont(font);
    double y = layout.captionRect().top();
    // The legend: which colour is which head.
    if (legendLineCount > 0) {
        const auto entries = arcLegend(figure);
        const std::vector<int> starts = legendLineBreaks(figure, metrics, layout.captionRect().width());
        for (size_t line = 0; line < starts.size(); ++line) {
            double x = layout.captionRect().left();
            const int end = line + 1 < starts.size() ? starts[line + 1] : int(entries.size());
            for (int i = starts[line]; i < end; ++i) {
                const double side = metrics.height() * kSwatch;
                painter.fillRect(QRectF(x, y + (metrics.height() - side) / 2, side, side), entries.at(i).first);
                x += side + metrics.height() * 0.4;
                painter.setPen(Qt::black);
                const double textWidth = metrics.horizontalAdvance(entries.at(i).second);
                painter.drawText(QRectF(x, y, textWidth + 1, metrics.height()), Qt::AlignLeft | Qt::AlignVCenter, entries.at(i).second);
                x += textWidth + metrics.height();
            }
            y += metrics.lineSpacing();
        }
    }
    painter.setPen(QColor(60, 60, 60));
    if (!figure.showCaption) {
        painter.restore();
        return hidden;
    }
    QStringList caption = figure.caption;
    caption.append(hidden > 0 ? QObject::tr("%1 lines shown; %2 weaker ones hidden (threshold %3%4)")
                                    .arg(lines.size()).arg(hidden).arg(figure.pruning.threshold)
                                    .arg(figure.pruning.topK > 0 ? QObject::tr(", top %1 per query").arg(figure.pruning.topK) : QString())
                              : QObject::tr("%1 lines; %2").arg(lines.size())
                                    .arg(figure.sidesText.isEmpty() ? QObject::tr("queries on the left, keys on the right") : figure.sidesText));
    for (const QString &line : caption) {
        painter.drawText(QRectF(layout.captionRect().left(), y, layout.captionRect().width(), metrics.height()),
                         Qt::AlignLeft | Qt::AlignVCenter, metrics.elidedText(line, Qt::ElideRight, layout.captionRect().width()));
        y += metrics.lineSpacing();
    }
    painter.restore();
    return hidden;
}

} // namespace studio
