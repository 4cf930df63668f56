#pragma once

#include "arcfigure.h"
#include "attentionresult.h"
#include "gridfigure.h"
#include "heatmapfigure.h"

namespace studio {

struct ResultComparison;

// What a heatmap shows: a stage of one head, or an analysis of the attention. Value-weighted is
// per head; rollout and flow are per layer (every head of it and of the layers below).
// Difference is the head's change between the sentence and a compared one, on the aligned tokens.
enum class HeatmapStage { Scores, Scaled, Masked, Weights, ValueWeighted, Rollout, Flow, Difference };
inline constexpr HeatmapStage kHeatmapStages[] = {HeatmapStage::Weights, HeatmapStage::Scores, HeatmapStage::Scaled, HeatmapStage::Masked,
                                                  HeatmapStage::ValueWeighted, HeatmapStage::Rollout, HeatmapStage::Flow,
                                                  HeatmapStage::Difference};
QString heatmapStageName(HeatmapStage stage);  // "value-weighted", as the command line spells it
QString heatmapStageTitle(HeatmapStage stage); // "value-weighted ‖α·f(x)‖", as the window lists it
std::optional<HeatmapStage> heatmapStageFromName(const QString &name);
// Whether the stage's values are shares in [0, 1] (weights, rollout, flow) or not.
bool heatmapStageIsShare(HeatmapStage stage);
// The colours a stage takes: sequential for the non-negative ones (weights, value-weighted,
// rollout, flow), diverging around 0 for the logits.
ValueKind heatmapValueKind(HeatmapStage stage);

// What an analysis heatmap needs beyond the result. Rollout is computed from the result's maps up
// to kAnalysisRolloutTokens tokens (its cost grows with T³); flow is computed elsewhere (it is
// expensive) and handed in.
inline constexpr int kAnalysisRolloutTokens = 512;
struct HeatmapExtras {
    std::shared_ptr<const std::vector<Matrix>> flow; // [layer] (T, T); null = not computed
    // Every layer's rollout, when the caller keeps it for the result (null: computed for the figure).
    std::shared_ptr<const std::vector<Matrix>> rollout;
    // The display transform: special tokens' rows and columns greyed out, each remaining row of
    // weights renormalised over the remaining keys.
    bool leaveOutSpecial = false;
    std::shared_ptr<const ResultComparison> comparison; // the compared sentence, for Difference
};
// Why the heatmap of a stage has nothing to show for this result (empty: it has).
QString heatmapUnavailableReason(const AttentionResult &result, HeatmapStage stage, const HeatmapExtras &extras);

// What every figure's caption says: the sentence, the model, the layer and head.
struct FigureContext {
    QString sentence;
    QString model;
    int layer = 0;
    int head = 0;
    QString headName;
    QString sentencePair; // BERT's second sentence, or a translation's target
    int hiddenQuery = -1; // a query whose weights the class predicts first: hidden in weight figures
    bool translation = false; // the sentence is a source, sentencePair its target
    QString attentionKind;    // a translation model's: "cross-attention", "encoder", "decoder"
    QStringList captionFor(const QString &what) const;
    QString quotedSentence() const; // “the sentence”, invisible characters shown as ⟨U+200B⟩
};

// One head's heatmap. Weights come from the result; other stages need the head's details.
// Pre-softmax stages use a zero-centred scale; weights use [0, 1].
HeatmapFigure headHeatmap(const AttentionResult &result, const HeadDetails &details, const FigureContext &context,
                          HeatmapStage stage, ColorMapKind colorMap, int selectedQuery = -1, const HeatmapExtras &extras = {});
// The colours of a step-through stage: sequential for shares (weights, probabilities), else diverging.
ValueKind stageValueKind(Stage stage);
// The matrix of a step-through stage: X (T × C), q/k/v (T × D, the given projection), the T × T
// stages, or the output (T × D).
HeatmapFigure stageFigure(const AttentionResult &result, const HeadDetails &details, const FigureContext &context,
                          Stage stage, Projection projection, ColorMapKind colorMap, int selectedQuery = -1,
                          int selectedKey = -1);
ArcFigure arcFigure(const AttentionResult &result, const FigureContext &context, int layer,
                    const QList<int> &heads, const ArcPruning &pruning);
// With a comparison, each head also carries its divergence between the two sentences.
GridFigure gridFigure(const AttentionResult &result, const FigureContext &context, ColorMapKind colorMap,
                      int selectedLayer, int selectedColumn, const ResultComparison *comparison = nullptr);

// The font figures use: DejaVu Sans (installed with the app's dependencies) at a pixel size.
QFont figureFont(double pixelSize = 13);

} // namespace studio
