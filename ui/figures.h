#pragma once

#include "heatmapfigure.h"
#include "teachingmodel.h"

namespace studio {

// The stage of one head a heatmap shows.
enum class HeatmapStage { Scores, Scaled, Masked, Weights };
QString heatmapStageName(HeatmapStage stage);
bool heatmapStageFromName(const QString &name, HeatmapStage *stage);

// A heatmap of one head's stage of a teaching-model trace, captioned with the sentence, model, head
// and stage. Pre-softmax stages use a zero-centred scale; weights use [0, 1].
HeatmapFigure teachingHeatmap(const TeachingTrace &trace, const QString &sentence,
                              const TeachingConfig &config, const HeadWeights &head, int headIndex,
                              HeatmapStage stage, ColorMapKind colorMap);

// The font figures use: DejaVu Sans (installed with the app's dependencies) at a pixel size.
QFont figureFont(double pixelSize = 13);

} // namespace studio
