#include "presenterfit.h"

#include "heatmaplayout.h"
#include "textmeasure.h"

#include <QFontInfo>
#include <QFontMetricsF>

#include <cmath>

namespace studio {

HeatmapReadability heatmapReadability(const HeatmapFigure &figure, const QFont &font, const QSizeF &area, double labelWidth,
                                      double maxCellAspect)
{
    HeatmapReadability readability;
    readability.fontPixels = font.pixelSize();
    HeatmapStyle style;
    style.font = font;
    style.labelWidth = labelWidth;
    style.maxCellAspect = maxCellAspect;
    const int rows = int(figure.values().rows());
    const int cols = int(figure.values().cols());
    const HeatmapLayout layout(rows, cols, QRectF(QPointF(0, 0), area), heatmapMargins(figure, style));
    readability.cell = layout.cellHeight();
    const double cellWidth = layout.cellWidth();
    if (rows == 0 || cols == 0)
        return readability;
    // Row labels need a line of height per row; column labels at 45° are width/√2 apart.
    const QFontMetricsF metrics(font);
    const bool colLabelsFit = layout.margins().levelColLabels ? cellWidth >= layout.margins().colLabelLength + 4
                                                              : cellWidth * M_SQRT1_2 >= metrics.height() * 0.9;
    const bool everyLabel = readability.cell >= metrics.height() * 0.9 && colLabelsFit;

    // The painter's rules: numbers in 0.85 of the font, each drawn only when its width + 2 fits.
    QFont numberFont = font;
    numberFont.setPixelSize(std::max(6, int(font.pixelSize() * 0.85)));
    const QFontMetricsF numbers(numberFont);
    const double gap = std::max(4.0, numberFont.pixelSize() * 0.35);
    double widest = numbers.horizontalAdvance(QStringLiteral("0.00")) + 1;
    const bool numbersHigh = readability.cell >= numbers.height() * 0.9;
    if (figure.showNumbers && (cellWidth < widest + gap || !numbersHigh)) { // no number fits: no need to read them all
        readability.everyNumber = false;
        readability.everyLabel = everyLabel;
        return readability;
    }
    TextAdvances advances(numberFont);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c)
            if (!isMasked(figure.values()(r, c)))
                widest = std::max(widest, advances(formatCellValue(figure.values()(r, c), figure.cellDecimals)));
    // On a projector numbers that touch their neighbours read as one: a gap of a third of a digit.
    readability.everyNumber = !figure.showNumbers || cellWidth >= widest + gap;
    readability.everyLabel = everyLabel;
    return readability;
}

HeatmapReadability fitHeatmapFont(const HeatmapFigure &figure, const QFont &font, const QSizeF &area, int minPixels, int maxPixels,
                                  double labelWidth, double maxCellAspect)
{
    std::optional<HeatmapReadability> labelsOnly;
    for (int pixels = maxPixels; pixels >= minPixels; --pixels) {
        QFont sized = font;
        sized.setPixelSize(pixels);
        const HeatmapReadability readability = heatmapReadability(figure, sized, area, labelWidth, maxCellAspect);
        if (readability.everyLabel && readability.everyNumber)
            return readability;
        if (readability.everyLabel && !labelsOnly)
            labelsOnly = readability;
    }
    if (labelsOnly)
        return *labelsOnly;
    QFont smallest = font;
    smallest.setPixelSize(minPixels);
    return heatmapReadability(figure, smallest, area, labelWidth);
}

HeatmapStyle fittedStyle(const HeatmapFigure &figure, const HeatmapStyle &chosen, const QSizeF &area)
{
    HeatmapStyle style = chosen;
    const int chosenPixels = chosen.font.pixelSize() > 0 ? chosen.font.pixelSize() : QFontInfo(chosen.font).pixelSize();
    if (figure.values().size() == 0 || area.isEmpty())
        return style;
    const double labelWidth = std::max(chosen.labelWidth, area.width() / 3);
    const HeatmapReadability full = heatmapReadability(figure, chosen.font, area, labelWidth, chosen.maxCellAspect);
    style.labelWidth = labelWidth;
    if (full.everyLabel && (full.everyNumber || !figure.showNumbers))
        return style;
    // Below the chosen size: the largest that shows every label and number, not under
    // kMinNumberFont (numbers are worth a little shrinking, not an unreadable font); else the
    // largest that shows every label.
    const HeatmapReadability both = fitHeatmapFont(figure, chosen.font, area, std::min(kMinNumberFont, chosenPixels), chosenPixels, labelWidth,
                                                   chosen.maxCellAspect);
    if (both.everyLabel && both.everyNumber) {
        style.font.setPixelSize(both.fontPixels);
        return style;
    }
    if (full.everyLabel)
        return style;
    const HeatmapReadability labels = fitHeatmapFont(figure, chosen.font, area, kMinScreenFont, chosenPixels, labelWidth, chosen.maxCellAspect);
    if (labels.everyLabel)
        style.font.setPixelSize(labels.fontPixels);
    return style;
}

} // namespace studio
