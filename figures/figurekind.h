#pragma once

#include "figurefile.h"
#include "comparisonfigure.h"
#include "figures.h"

#include <QFont>
#include <QList>

#include <iterator>
#include <optional>

namespace studio {

// Every kind of figure, listed once: its name on the command line and in file names, and how it
// is built for export. A new view adds its kind here and its case in buildFigure.
enum class FigureKind { Heatmap, Arcs, Grid, Steps, Comparison };
inline constexpr FigureKind kFigureKinds[] = {FigureKind::Heatmap, FigureKind::Arcs, FigureKind::Grid, FigureKind::Steps, FigureKind::Comparison};
QString figureKindName(FigureKind kind); // "heatmap", "arcs", "grid", "steps", "comparison"
QString figureKindTitle(FigureKind kind); // as the window names the view: "heatmap", "head view", "model view", "step-through"
std::optional<FigureKind> figureKindFromName(const QString &name);
QStringList figureKindNames();

// What to draw: the choices a view or the command line makes. Each kind reads its own fields.
struct FigureRequest {
    FigureKind kind = FigureKind::Heatmap;
    HeatmapStage heatmapStage = HeatmapStage::Weights; // heatmap
    Stage stage = Stage::Weights;                      // steps
    Projection projection = Projection::Q;             // steps, at the projections stage
    QList<int> heads;                                  // arcs: the heads shown (empty = all)
    ArcPruning pruning;                                // arcs
    ColorMapKind preferredColors = ColorMapKind::Viridis;
    int selectedQuery = -1;
    bool numbers = false;     // numbers in cells (the steps always show them)
    bool vectorCells = false; // one vector rectangle per cell (SVG and PDF)
    HeatmapExtras extras;     // heatmap: flow, special tokens left out
    // comparison (its heatmap) and grid (each head's divergence marked): the second sentence's
    std::shared_ptr<const ResultComparison> comparison;
};

// A figure ready to be sized and painted. It holds what it draws (shared with the result).
struct BuiltFigure {
    QSizeF size;
    FigurePainter paint;
};
BuiltFigure buildFigure(const AttentionResult &result, const HeadDetails &details, const FigureContext &context,
                        const FigureRequest &request, const QFont &font);

} // namespace studio
