#pragma once

#include "arcfigure.h"
#include "attentionresult.h"
#include "gridfigure.h"
#include "heatmapfigure.h"

namespace studio {

// The stage of one head a heatmap shows.
enum class HeatmapStage { Scores, Scaled, Masked, Weights };
QString heatmapStageName(HeatmapStage stage);
std::optional<HeatmapStage> heatmapStageFromName(const QString &name);

// What every figure's caption says: the sentence, the model, the layer and head.
struct FigureContext {
    QString sentence;
    QString model;
    int layer = 0;
    int head = 0;
    QString headName;
    QString sentencePair; // BERT's second sentence, if any
    int hiddenQuery = -1; // a query whose weights the class predicts first: hidden in weight figures
    QStringList captionFor(const QString &what) const;
    QString quotedSentence() const; // “the sentence”, invisible characters shown as ⟨U+200B⟩
};

// One head's heatmap. Weights come from the result; other stages need the head's details.
// Pre-softmax stages use a zero-centred scale; weights use [0, 1].
HeatmapFigure headHeatmap(const AttentionResult &result, const HeadDetails &details, const FigureContext &context,
                          HeatmapStage stage, ColorMapKind colorMap, int selectedQuery = -1);
// The matrix of a step-through stage: X (T × C), q/k/v (T × D, the given projection), the T × T
// stages, or the output (T × D).
HeatmapFigure stageFigure(const AttentionResult &result, const HeadDetails &details, const FigureContext &context,
                          Stage stage, Projection projection, ColorMapKind colorMap, int selectedQuery = -1,
                          int selectedKey = -1);
ArcFigure arcFigure(const AttentionResult &result, const FigureContext &context, int layer,
                    const QList<int> &heads, const ArcPruning &pruning);
GridFigure gridFigure(const AttentionResult &result, const FigureContext &context, ColorMapKind colorMap,
                      int selectedLayer, int selectedColumn);

// The font figures use: DejaVu Sans (installed with the app's dependencies) at a pixel size.
QFont figureFont(double pixelSize = 13);

} // namespace studio
