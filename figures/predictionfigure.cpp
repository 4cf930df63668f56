#include "predictionfigure.h"

#include "colormap.h"

#include <QFontMetricsF>
#include <QObject>
#include <QPainter>

#include <algorithm>
#include <unordered_map>

namespace studio {

PredictionFigure predictionFigure(const RowVector &logits, const std::function<QString(int)> &label,
                                  const SamplingSettings &settings, int count)
{
    PredictionFigure figure;
    std::unordered_map<int, double> chances;
    for (const TokenChoice &choice : samplingDistribution(logits, settings))
        chances.emplace(choice.id, choice.probability);
    for (const TokenChoice &choice : topTokens(logits, count)) {
        PredictionRow row;
        row.id = choice.id;
        row.label = label(choice.id);
        row.logit = choice.logit;
        row.probability = choice.probability;
        const auto chance = chances.find(choice.id);
        row.kept = chance != chances.end();
        row.chance = row.kept ? chance->second : 0.0;
        figure.rows.push_back(row);
    }
    return figure;
}

PredictionLayout::PredictionLayout(int rows, const QRectF &area, double labelWidth, double valueWidth, double rowHeight)
    : m_rows(rows), m_area(area), m_labelWidth(labelWidth), m_valueWidth(valueWidth), m_rowHeight(rowHeight)
{
}

QRectF PredictionLayout::labelRect(int row) const
{
    return {m_area.left(), m_area.top() + row * m_rowHeight, m_labelWidth, m_rowHeight};
}

QRectF PredictionLayout::barTrack(int row) const
{
    const double width = std::max(20.0, m_area.width() - m_labelWidth - m_valueWidth - 12);
    return {m_area.left() + m_labelWidth + 6, m_area.top() + row * m_rowHeight + m_rowHeight * 0.18, width, m_rowHeight * 0.64};
}

QRectF PredictionLayout::bar(int row, double share) const
{
    QRectF track = barTrack(row);
    track.setWidth(track.width() * std::clamp(share, 0.0, 1.0));
    return track;
}

double PredictionLayout::tickX(int row, double share) const
{
    const QRectF track = barTrack(row);
    return track.left() + track.width() * std::clamp(share, 0.0, 1.0);
}

QRectF PredictionLayout::valueRect(int row) const
{
    const QRectF track = barTrack(row);
    return {track.right() + 6, m_area.top() + row * m_rowHeight, m_valueWidth, m_rowHeight};
}

namespace {

double labelWidthFor(const PredictionFigure &figure, const QFontMetricsF &metrics)
{
    double width = metrics.horizontalAdvance(QStringLiteral("token"));
    for (const PredictionRow &row : figure.rows)
        width = std::max(width, metrics.horizontalAdvance(row.label));
    return std::min(width + 8, 220.0);
}

double valueWidthFor(const PredictionFigure &figure, const QFontMetricsF &metrics)
{
    double width = 0;
    for (const PredictionRow &row : figure.rows)
        width = std::max(width, metrics.horizontalAdvance(predictionValueText(row)));
    return width + 4;
}

} // namespace

PredictionLayout predictionLayout(const PredictionFigure &figure, const QRectF &area, const QFont &font)
{
    const QFontMetricsF metrics(font);
    // Rows a line and a half high, closer together when the area is short (a projector's dock);
    // rows that still do not fit are left out by the painter.
    const int rows = int(figure.rows.size());
    const double rowHeight = rows > 0 ? std::clamp(area.height() / rows, metrics.lineSpacing() * 1.1, metrics.lineSpacing() * 1.5)
                                      : metrics.lineSpacing() * 1.5;
    return PredictionLayout(rows, area, labelWidthFor(figure, metrics), valueWidthFor(figure, metrics), rowHeight);
}

QString predictionValueText(const PredictionRow &row)
{
    const QString chance = row.kept ? QStringLiteral("%1 %").arg(row.chance * 100, 0, 'f', 1) : QObject::tr("cut");
    return QObject::tr("%1 · model %2 % · logit %3").arg(chance).arg(row.probability * 100, 0, 'f', 1).arg(double(row.logit), 0, 'f', 2);
}

void paintPredictionFigure(QPainter &painter, const QRectF &area, const PredictionFigure &figure, const QFont &font)
{
    painter.save();
    painter.fillRect(area, Qt::white);
    painter.setFont(font);
    const QFontMetricsF metrics(font);
    const double captionHeight = metrics.lineSpacing() * figure.caption.size() + (figure.caption.isEmpty() ? 0 : 6);
    const QRectF body = area.adjusted(8, 6, -8, -captionHeight - 6);
    const PredictionLayout layout = predictionLayout(figure, body, font);
    // The bar's colour is the weights' map at its top: the panel reads like the heatmap beside it.
    const QColor fill = QColor::fromRgb(ColorMap(ColorMapKind::Viridis).color(0.35));
    for (int r = 0; r < layout.rows() && layout.labelRect(r).bottom() <= body.bottom() + 0.5; ++r) {
        const PredictionRow &row = figure.rows[size_t(r)];
        painter.setPen(Qt::black);
        painter.drawText(layout.labelRect(r), Qt::AlignRight | Qt::AlignVCenter,
                         metrics.elidedText(row.label, Qt::ElideRight, layout.labelRect(r).width() - 4));
        painter.fillRect(layout.barTrack(r), QColor(238, 238, 238));
        if (row.kept)
            painter.fillRect(layout.bar(r, row.chance), fill);
        // The model's own probability: a dark tick, where the bar would end at τ = 1 with nothing cut.
        const double x = layout.tickX(r, row.probability);
        const QRectF track = layout.barTrack(r);
        painter.setPen(QPen(QColor(30, 30, 30), 2));
        painter.drawLine(QPointF(x, track.top() - 2), QPointF(x, track.bottom() + 2));
        painter.setPen(row.kept ? Qt::black : QColor(140, 140, 140));
        painter.drawText(layout.valueRect(r), Qt::AlignLeft | Qt::AlignVCenter, predictionValueText(row));
    }
    painter.setPen(QColor(70, 70, 70));
    double y = area.bottom() - captionHeight;
    for (const QString &line : figure.caption) {
        painter.drawText(QRectF(area.left() + 8, y, area.width() - 16, metrics.lineSpacing()), Qt::AlignLeft | Qt::AlignVCenter,
                         metrics.elidedText(line, Qt::ElideRight, area.width() - 16));
        y += metrics.lineSpacing();
    }
    painter.restore();
}

QSizeF preferredPredictionSize(const PredictionFigure &figure, const QFont &font)
{
    const QFontMetricsF metrics(font);
    double captionWidth = 0;
    for (const QString &line : figure.caption)
        captionWidth = std::max(captionWidth, metrics.horizontalAdvance(line));
    const double width = std::max(labelWidthFor(figure, metrics) + valueWidthFor(figure, metrics) + 240, captionWidth + 16);
    const double height = metrics.lineSpacing() * (1.5 * double(figure.rows.size()) + figure.caption.size()) + 24;
    return {width, height};
}

} // namespace studio
