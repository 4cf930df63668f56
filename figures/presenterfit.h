#pragma once

#include "heatmapfigure.h"

#include <QFont>
#include <QSizeF>

namespace studio {

// How a heatmap reads at a given font in a given area: its cells, and whether every number and
// every token label is drawn (a number that does not fit its cell is left out; labels are thinned
// when rows are lower than a line, and column labels, drawn at 45°, collide when their spacing
// is under a line).
struct HeatmapReadability {
    int fontPixels = 0;
    double cell = 0; // the cell's height (its width is at least that)
    bool everyNumber = false;
    bool everyLabel = false;
};
HeatmapReadability heatmapReadability(const HeatmapFigure &figure, const QFont &font, const QSizeF &area,
                                      double labelWidth = 100000, double maxCellAspect = 1);

// The largest font, from maxPixels down to minPixels, at which the figure shows every label whole
// and every number in its cell; if none does, the largest at which every label shows, else
// minPixels. Presenter mode sizes its figure with it, so the back row reads every token.
HeatmapReadability fitHeatmapFont(const HeatmapFigure &figure, const QFont &font, const QSizeF &area, int minPixels, int maxPixels,
                                  double labelWidth = 100000, double maxCellAspect = 1);

// A view's style on screen: the chosen text size when the figure reads in full there, else the
// largest size below it at which every token label shows (never thinned out or cut: the label
// column takes the widest label, up to a third of the width), down to kMinScreenFont.
inline constexpr int kMinScreenFont = 11;
inline constexpr int kMinNumberFont = 11;
HeatmapStyle fittedStyle(const HeatmapFigure &figure, const HeatmapStyle &chosen, const QSizeF &area);

// Labels are never cut in presenter mode: the label column is as wide as the widest label.
inline constexpr double kUnlimitedLabelWidth = 100000;

} // namespace studio
