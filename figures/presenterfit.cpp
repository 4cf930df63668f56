#include "presenterfit.h"

#include "heatmaplayout.h"

#include <QFontMetricsF>

#include <cmath>

namespace studio {

HeatmapReadability heatmapReadability(const HeatmapFigure &figure, const QFont &font, const QSizeF &area)
{
    HeatmapReadability readability;
    readability.fontPixels = font.pixelSize();
    HeatmapStyle style;
    style.font = font;
    style.labelWidth = kUnlimitedLabelWidth;
    const int rows = int(figure.values().rows());
    const int cols = int(figure.values().cols());
    const HeatmapLayout layout(rows, cols, QRectF(QPointF(0, 0), area), heatmapMargins(figure, style));
    readability.cell = layout.cellSize();
    if (rows == 0 || cols == 0)
        return readability;

    // The painter's rules: numbers in 0.85 of the font, each drawn only when its width + 2 fits.
    QFont numberFont = font;
    numberFont.setPixelSize(std::max(6, int(font.pixelSize() * 0.85)));
    const QFontMetricsF numbers(numberFont);
    double widest = numbers.horizontalAdvance(QStringLiteral("0.00")) + 1;
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c)
            if (!isMasked(figure.values()(r, c)))
                widest = std::max(widest, numbers.horizontalAdvance(formatCellValue(figure.values()(r, c), figure.cellDecimals)));
    // On a projector numbers that touch their neighbours read as one: a gap of a third of a digit.
    readability.everyNumber = !figure.showNumbers || readability.cell >= widest + std::max(4.0, numberFont.pixelSize() * 0.35);

    // Row labels need a line of height per row; column labels at 45° are cell/√2 apart.
    const QFontMetricsF metrics(font);
    readability.everyLabel = readability.cell >= metrics.height() * 0.9 && readability.cell * M_SQRT1_2 >= metrics.height() * 0.9;
    return readability;
}

HeatmapReadability fitHeatmapFont(const HeatmapFigure &figure, const QFont &font, const QSizeF &area, int minPixels, int maxPixels)
{
    std::optional<HeatmapReadability> labelsOnly;
    for (int pixels = maxPixels; pixels >= minPixels; --pixels) {
        QFont sized = font;
        sized.setPixelSize(pixels);
        const HeatmapReadability readability = heatmapReadability(figure, sized, area);
        if (readability.everyLabel && readability.everyNumber)
            return readability;
        if (readability.everyLabel && !labelsOnly)
            labelsOnly = readability;
    }
    if (labelsOnly)
        return *labelsOnly;
    QFont smallest = font;
    smallest.setPixelSize(minPixels);
    return heatmapReadability(figure, smallest, area);
}

} // namespace studio
