#include "heatmapfigure.h"

#include "textmeasure.h"

#include <QFontMetricsF>
#include <QImage>
#include <QObject>
#include <QPaintEngine>
#include <QPainter>

#include <algorithm>
#include <cmath>

namespace studio {

const Matrix &HeatmapFigure::values() const
{
    static const Matrix empty;
    return data ? *data : empty;
}

void HeatmapFigure::setValues(Matrix values)
{
    data = std::make_shared<const Matrix>(std::move(values));
}

bool isMasked(float value)
{
    return std::isinf(value) && value < 0;
}

bool HeatmapFigure::cellGrey(int row, int col) const
{
    if (row == hiddenRow)
        return true;
    const auto left = [this](int i) { return i >= 0 && size_t(i) < leftOut.size() && leftOut[size_t(i)]; };
    return left(row) || left(col);
}

bool HeatmapFigure::cellMasked(int row, int col) const
{
    if (isMasked(values()(row, col)))
        return true;
    return maskedFrom && row < maskedFrom->rows() && col < maskedFrom->cols() && isMasked((*maskedFrom)(row, col));
}

namespace {

constexpr QRgb kMaskedColor = 0xFFD9D9D9;

QRgb cellColor(const ColorMap &map, const ColorScale &scale, float value)
{
    return isMasked(value) ? kMaskedColor : map.color(scale.normalised(value));
}

// Every n-th label so that labels never overlap (level of detail for long sentences).
// Whether numbers can be written in the cells at all: as wide as "0.00" and a line high (the
// painter leaves out any single number that is wider than its cell).
bool numbersCanFit(const HeatmapLayout &layout, const QFontMetricsF &numbers)
{
    return layout.cellWidth() >= numbers.horizontalAdvance(QStringLiteral("0.00")) + 3
        && layout.cellHeight() >= numbers.height() * 0.9;
}

int labelStride(double cellSize, double textHeight)
{
    if (cellSize <= 0)
        return 1;
    return std::max(1, int(std::ceil(textHeight / cellSize)));
}

} // namespace

QRectF vectorCellRect(const HeatmapLayout &layout, int row, int col, double overlap)
{
    return layout.cellRect(row, col).adjusted(0, 0, col + 1 < layout.cols() ? overlap : 0, row + 1 < layout.rows() ? overlap : 0);
}

QList<int> labelledRows(int rows, int stride, int selectedRow)
{
    QList<int> labelled;
    for (int r = 0; r < rows; ++r) {
        const bool near = selectedRow >= 0 && selectedRow < rows && r != selectedRow && std::abs(r - selectedRow) < stride;
        if (r == selectedRow || stride <= 1 || (!near && r % stride == 0))
            labelled.append(r);
    }
    return labelled;
}

namespace {

QString elided(const QString &text, const QFontMetricsF &metrics, double width)
{
    return metrics.elidedText(text, Qt::ElideRight, width);
}

// Nice round tick values between lo and hi (about `count` of them).
QList<double> ticks(double lo, double hi, int count)
{
    QList<double> result;
    const double span = hi - lo;
    if (!(span > 0))
        return {lo};
    const double rough = span / count;
    const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
    double step = magnitude;
    for (double factor : {1.0, 2.0, 2.5, 5.0, 10.0}) {
        step = factor * magnitude;
        if (step >= rough)
            break;
    }
    for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
        result.append(std::abs(t) < step * 1e-9 ? 0.0 : t);
    return result;
}

void paintColorBar(QPainter &painter, const QRectF &area, const HeatmapFigure &figure, const QFontMetricsF &metrics)
{
    const ColorMap map(figure.colorMap);
    const double barWidth = std::min(16.0, area.width() / 4);
    const QRectF bar(area.left(), area.top(), barWidth, area.height());
    QImage gradient(1, 256, QImage::Format_RGB32);
    for (int i = 0; i < 256; ++i)
        gradient.setPixel(0, 255 - i, map.table()[size_t(i)]);
    painter.drawImage(bar, gradient);
    painter.setPen(QPen(Qt::black, 0.75));
    painter.setBrush(Qt::NoBrush);
    painter.drawRect(bar);

    const ColorScale &scale = figure.scale;
    for (double value : ticks(scale.minimum, scale.maximum, 5)) {
        const double t = scale.normalised(value);
        const double y = bar.bottom() - t * bar.height();
        painter.drawLine(QPointF(bar.right(), y), QPointF(bar.right() + 4, y));
        const QString text = formatCellValue(value);
        painter.drawText(QRectF(bar.right() + 6, y - metrics.height() / 2, area.width() - barWidth - 6, metrics.height()),
                         Qt::AlignLeft | Qt::AlignVCenter, text);
    }
    // The quantity's name, vertical along the bar.
    painter.save();
    painter.translate(area.right() - 2, bar.center().y());
    painter.rotate(-90);
    painter.drawText(QRectF(-bar.height() / 2, -metrics.height(), bar.height(), metrics.height()),
                     Qt::AlignCenter, elided(figure.scaleLabel, metrics, bar.height()));
    painter.restore();
}

} // namespace

double luma(QRgb color)
{
    return (0.2126 * qRed(color) + 0.7152 * qGreen(color) + 0.0722 * qBlue(color)) / 255.0;
}

QString formatCellValue(double value, int decimals)
{
    if (std::isinf(value))
        return value < 0 ? QStringLiteral("−∞") : QStringLiteral("∞");
    if (std::isnan(value))
        return QStringLiteral("NaN");
    const double magnitude = std::abs(value);
    QString text;
    if (decimals >= 0)
        text = QString::number(value, 'f', decimals);
    else if (magnitude != 0.0 && (magnitude < 1e-3 || magnitude >= 1e4))
        text = QString::number(value, 'e', 1);
    else if (magnitude >= 100)
        text = QString::number(value, 'f', 0);
    else if (magnitude >= 10)
        text = QString::number(value, 'f', 1);
    else
        text = QString::number(value, 'f', 2);
    if (text.startsWith(QLatin1Char('-')))
        text.replace(0, 1, QStringLiteral("−"));
    return text;
}

HeatmapLayout::Margins heatmapMargins(const HeatmapFigure &figure, const HeatmapStyle &style)
{
    const QFontMetricsF metrics(style.font);
    HeatmapLayout::Margins margins;
    TextAdvances advances(style.font);
    const double widestRow = advances.widest(figure.rowLabels);
    const double widestCol = figure.colLabels == figure.rowLabels ? widestRow : advances.widest(figure.colLabels);
    margins.rowLabels = std::min(widestRow, style.labelWidth) + 4;
    margins.colLabelLength = std::min(widestCol, style.labelWidth);
    // Short column labels (x0 … x15, q0 …) are written level in one line, leaving the height to
    // the cells; longer ones (tokens) at 45°, which needs about 0.71 of their length plus a line.
    margins.levelColLabels = widestCol <= 2.2 * metrics.height();
    margins.colLabels = margins.levelColLabels ? metrics.height() + 4 : margins.colLabelLength * 0.72 + metrics.height();
    margins.maxCellAspect = style.maxCellAspect;
    margins.rowTitle = figure.rowTitle.isEmpty() ? 0 : metrics.height() + 2;
    margins.colTitle = figure.colTitle.isEmpty() ? 0 : metrics.height() + 2;
    margins.colorBar = metrics.horizontalAdvance(QStringLiteral("−0.000")) + 16 + 10 + metrics.height();
    margins.caption = figure.caption.size() * metrics.lineSpacing() + (figure.caption.isEmpty() ? 0 : 4);
    margins.padding = 8;
    return margins;
}

QSizeF preferredHeatmapSize(const HeatmapFigure &figure, const HeatmapStyle &style)
{
    const HeatmapLayout::Margins m = heatmapMargins(figure, style);
    const QFontMetricsF metrics(style.font);
    const int rows = int(figure.values().rows());
    const int cols = int(figure.values().cols());
    const int count = std::max(rows, cols);
    // Cells wide enough for "−0.00" in the number font up to ~20 tokens, then shrinking to fit.
    const double cell = std::clamp(900.0 / std::max(count, 1), 4.0,
                                   std::max(metrics.height() * 2.4, metrics.horizontalAdvance(QStringLiteral("−0.00")) * 0.85 + 8));
    const double bodyWidth = std::max(cell * cols, 120.0);
    const double bodyHeight = std::max(cell * rows, 120.0);
    double captionWidth = 0;
    for (const QString &line : figure.caption)
        captionWidth = std::max(captionWidth, metrics.horizontalAdvance(line));
    const double width = std::max(m.rowTitle + m.rowLabels + bodyWidth + m.colorBar + 4 * m.padding, std::min(captionWidth + 16, 1400.0));
    return {width, m.colTitle + m.colLabels + bodyHeight + m.caption + 4 * m.padding};
}

QImage enlargedCells(const QImage &image, int side)
{
    const int longest = std::max(image.width(), image.height());
    if (longest <= 0)
        return image;
    const int factor = std::clamp(side / longest, 1, 64);
    if (factor == 1)
        return image;
    const QImage scaled = image.scaled(image.size() * factor, Qt::IgnoreAspectRatio, Qt::FastTransformation);
    return scaled.isNull() ? image : scaled;
}

bool paintsVectors(const QPainter &painter)
{
    const QPaintEngine *engine = painter.paintEngine();
    if (!engine)
        return false;
    switch (engine->type()) {
    case QPaintEngine::SVG:
    case QPaintEngine::Pdf:
    case QPaintEngine::Picture:
    case QPaintEngine::MacPrinter:
        return true;
    default:
        return false;
    }
}

QImage heatmapBodyImage(const HeatmapFigure &figure)
{
    const ColorMap map(figure.colorMap);
    const int rows = int(figure.values().rows());
    const int cols = int(figure.values().cols());
    QImage image(std::max(cols, 1), std::max(rows, 1), QImage::Format_RGB32);
    if (image.isNull()) // the allocation failed: no image, never a write through a null line
        return image;
    image.fill(Qt::white);
    // value ↦ table index in one multiply-add; only values outside the scale (or masked, or NaN)
    // take the careful path.
    const double span = figure.scale.maximum - figure.scale.minimum;
    const float factor = float(255.0 / span);
    const float offset = float(-figure.scale.minimum * 255.0 / span) + 0.5f;
    const auto &table = map.table();
    for (int r = 0; r < rows; ++r) {
        auto *line = reinterpret_cast<QRgb *>(image.scanLine(r));
        const float *values = &figure.values()(r, 0);
        for (int c = 0; c < cols; ++c) {
            const float index = values[c] * factor + offset;
            line[c] = index >= 0.0f && index < 256.0f ? table[size_t(index)] : cellColor(map, figure.scale, values[c]);
        }
    }
    if (figure.hiddenRow >= 0 && figure.hiddenRow < rows) {
        auto *line = reinterpret_cast<QRgb *>(image.scanLine(figure.hiddenRow));
        std::fill(line, line + cols, kHiddenCellColor);
    }
    if (!figure.leftOut.empty()) {
        for (int r = 0; r < rows; ++r) {
            auto *line = reinterpret_cast<QRgb *>(image.scanLine(r));
            for (int c = 0; c < cols; ++c)
                if (figure.cellGrey(r, c))
                    line[c] = kHiddenCellColor;
        }
    }
    return image;
}

QFont cellNumberFont(const HeatmapStyle &style)
{
    QFont numberFont = style.font;
    if (style.font.pixelSize() > 0)
        numberFont.setPixelSize(std::max(6, int(style.font.pixelSize() * 0.85)));
    else
        numberFont.setPointSizeF(std::max(5.0, style.font.pointSizeF() * 0.85));
    return numberFont;
}

bool everyNumberDrawn(const HeatmapFigure &figure, const HeatmapStyle &style, const QRectF &area)
{
    if (!figure.showNumbers)
        return true;
    const int rows = int(figure.values().rows());
    const int cols = int(figure.values().cols());
    const HeatmapLayout layout(rows, cols, area, heatmapMargins(figure, style));
    const QFontMetricsF numbers(cellNumberFont(style));
    if (!numbersCanFit(layout, numbers))
        return rows == 0 || cols == 0;
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c)
            if (!isMasked(figure.values()(r, c))
                && numbers.horizontalAdvance(formatCellValue(figure.values()(r, c), figure.cellDecimals)) > layout.cellWidth() - 2)
                return false;
    return true;
}

HeatmapCache heatmapCache(const HeatmapFigure &figure, const HeatmapStyle &style)
{
    return {heatmapBodyImage(figure), heatmapMargins(figure, style)};
}

void paintHeatmapFigure(QPainter &painter, const QRectF &area, const HeatmapFigure &figure,
                        const HeatmapStyle &style, const HeatmapCache *cache)
{
    painter.save();
    painter.setFont(style.font);
    const QFontMetricsF metrics(style.font);
    const int rows = int(figure.values().rows());
    const int cols = int(figure.values().cols());
    const HeatmapLayout layout(rows, cols, area, cache ? cache->margins : heatmapMargins(figure, style));
    const ColorMap map(figure.colorMap);
    const double cell = layout.cellSize();

    painter.fillRect(area, Qt::white);
    if (rows > 0 && cols > 0) {
        if (figure.vectorCells && std::max(rows, cols) <= kVectorCellLimit) {
            // Each cell reaches a little under its right and lower neighbours (drawn after it):
            // viewers smooth the edges of abutting rectangles into hairline seams otherwise.
            const double overlap = std::min(0.5, cell / 4);
            for (int r = 0; r < rows; ++r)
                for (int c = 0; c < cols; ++c)
                    painter.fillRect(vectorCellRect(layout, r, c, overlap),
                                     QColor::fromRgb(figure.cellGrey(r, c) ? kHiddenCellColor : cellColor(map, figure.scale, figure.values()(r, c))));
        } else {
            painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
            const QImage body = cache ? cache->body : heatmapBodyImage(figure);
            if (body.isNull()) { // out of memory for the image: say so where it would be
                painter.setPen(Qt::black);
                painter.drawText(layout.body(), Qt::AlignCenter | Qt::TextWordWrap,
                                 QObject::tr("Not enough memory to draw %1 × %2 cells").arg(rows).arg(cols));
            } else {
                painter.drawImage(layout.body(), paintsVectors(painter) ? enlargedCells(body, kSharpBodyPixels) : body);
            }
        }

        // Masked cells get a diagonal hatch so they read as "not available", not as a low value.
        if (cell >= 6) {
            painter.setPen(Qt::NoPen);
            for (int r = 0; r < rows; ++r)
                for (int c = 0; c < cols; ++c)
                    if (figure.cellMasked(r, c))
                        painter.fillRect(layout.cellRect(r, c), QBrush(QColor(160, 160, 160), Qt::BDiagPattern));
        }

        const QFont numberFont = cellNumberFont(style);
        const QFontMetricsF numberMetrics(numberFont);
        painter.setFont(numberFont);
        if (figure.showNumbers && numbersCanFit(layout, numberMetrics)) {
            for (int r = 0; r < rows; ++r) {
                if (r == figure.hiddenRow)
                    continue;
                for (int c = 0; c < cols; ++c) {
                    const float value = figure.values()(r, c);
                    const QString text = formatCellValue(value, figure.cellDecimals);
                    // A number that does not fit its cell is left out rather than overlapping.
                    if (figure.cellMasked(r, c) || figure.cellGrey(r, c) || numberMetrics.horizontalAdvance(text) > layout.cellWidth() - 2)
                        continue;
                    const QRgb background = cellColor(map, figure.scale, value);
                    painter.setPen(luma(background) > 0.5 ? Qt::black : Qt::white);
                    painter.drawText(layout.cellRect(r, c), Qt::AlignCenter, text);
                }
            }
        }

        if (figure.hiddenRow >= 0 && figure.hiddenRow < rows) {
            // One question mark per cell where it fits, else one for the row.
            painter.setPen(QColor(90, 90, 90));
            QFont question = numberFont;
            question.setBold(true);
            painter.setFont(question);
            const QFontMetricsF questionMetrics(question);
            if (cell >= questionMetrics.height() * 0.9) {
                for (int c = 0; c < cols; ++c)
                    painter.drawText(layout.cellRect(figure.hiddenRow, c), Qt::AlignCenter, QStringLiteral("?"));
            } else {
                const QRectF row = layout.cellRect(figure.hiddenRow, 0).united(layout.cellRect(figure.hiddenRow, cols - 1));
                painter.drawText(row.adjusted(0, -questionMetrics.height(), 0, questionMetrics.height()), Qt::AlignCenter, QStringLiteral("?"));
            }
        }

        painter.setFont(style.font);
        painter.setPen(QPen(QColor(60, 60, 60), 0.75));
        painter.setBrush(Qt::NoBrush);
        painter.drawRect(layout.body());

        if (figure.selectedRow >= 0 && figure.selectedRow < rows) {
            const QRectF row = layout.cellRect(figure.selectedRow, 0).united(layout.cellRect(figure.selectedRow, cols - 1));
            painter.setPen(QPen(QColor(230, 60, 20), std::clamp(cell / 8, 1.5, 3.0)));
            painter.drawRect(row);
            if (figure.selectedCol >= 0 && figure.selectedCol < cols) {
                // The selected key's cell in that row: the number the arithmetic follows.
                painter.setPen(QPen(Qt::black, std::clamp(cell / 6, 2.0, 4.0)));
                painter.drawRect(layout.cellRect(figure.selectedRow, figure.selectedCol));
            }
        }

        const int stride = labelStride(layout.cellHeight(), metrics.height() * 0.9);
        // Rotated 45°, column labels are a line apart when their columns are 1/sin 45° lines apart;
        // level ones need their length and a gap.
        const bool level = layout.margins().levelColLabels;
        const double colLabelLength = layout.margins().colLabelLength;
        const int colStride = level ? labelStride(layout.cellWidth(), colLabelLength + 4)
                                    : labelStride(layout.cellWidth() * M_SQRT1_2, metrics.height() * 0.9);
        painter.setPen(Qt::black);
        const double labelLength = layout.rowLabelRect(0).width() - 4;
        for (int r : labelledRows(std::min(rows, int(figure.rowLabels.size())), stride, figure.selectedRow)) {
            QFont font = style.font;
            font.setBold(r == figure.selectedRow);
            painter.setFont(font);
            painter.drawText(layout.rowLabelRect(r).adjusted(0, -metrics.height(), -4, metrics.height()),
                             Qt::AlignRight | Qt::AlignVCenter, elided(figure.rowLabels.at(r), metrics, labelLength));
        }
        painter.setFont(style.font);
        for (int c = 0; c < cols && c < figure.colLabels.size(); c += colStride) {
            const QRectF anchor = layout.colLabelAnchor(c);
            if (level) {
                painter.drawText(QRectF(anchor.center().x() - colLabelLength / 2 - 2, anchor.bottom() - metrics.height() - 2,
                                        colLabelLength + 4, metrics.height()),
                                 Qt::AlignHCenter | Qt::AlignBottom, figure.colLabels.at(c));
                continue;
            }
            painter.save();
            painter.translate(anchor.center().x(), anchor.bottom());
            painter.rotate(-45);
            painter.drawText(QRectF(2, -metrics.height() / 2, colLabelLength + 1, metrics.height()),
                             Qt::AlignLeft | Qt::AlignVCenter, elided(figure.colLabels.at(c), metrics, colLabelLength + 1));
            painter.restore();
        }
    }

    // The axis titles, in grey so the tokens stay what the eye reads first.
    if (rows > 0 && cols > 0) {
        painter.setFont(style.font);
        painter.setPen(QColor(100, 100, 100));
        if (!figure.colTitle.isEmpty())
            painter.drawText(layout.colTitleRect(), Qt::AlignHCenter | Qt::AlignTop, figure.colTitle);
        if (!figure.rowTitle.isEmpty()) {
            const QRectF strip = layout.rowTitleRect();
            painter.save();
            painter.translate(strip.left(), strip.center().y());
            painter.rotate(-90);
            painter.drawText(QRectF(-strip.height() / 2, 0, strip.height(), strip.width()), Qt::AlignHCenter | Qt::AlignTop, figure.rowTitle);
            painter.restore();
        }
    }

    painter.setPen(Qt::black);
    paintColorBar(painter, layout.colorBarRect(), figure, metrics);

    double y = layout.captionRect().top() + 4;
    for (const QString &line : figure.caption) {
        painter.drawText(QRectF(layout.captionRect().left(), y, layout.captionRect().width(), metrics.height()),
                         Qt::AlignLeft | Qt::AlignVCenter, elided(line, metrics, layout.captionRect().width()));
        y += metrics.lineSpacing();
    }
    painter.restore();
}

void paintHeatmapForDevice(QPainter &painter, const QRectF &area, const HeatmapFigure &figure, const HeatmapStyle &style)
{
    HeatmapFigure shown = figure; // shares its matrices: no copy of the values
    shown.vectorCells = painter.device() && painter.device()->devType() != QInternal::Image;
    paintHeatmapFigure(painter, area, shown, style);
}

} // namespace studio
