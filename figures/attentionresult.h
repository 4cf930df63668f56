#pragma once

#include "checkpoint.h"
#include "teachingmodel.h"
#include "translationcheckpoint.h"
#include "workspace.h"

#include <QStringList>

#include <iterator>
#include <memory>
#include <optional>

#include <vector>

namespace studio {

// The steps of one head that the step-through walks, in order.
// Rotary is a stage of rotary-position models only (Llama and the like): q and k turned by position.
// After the head, the rest of the layer's block (checkpoints): every head's output through W_O, the
// residual add, the MLP, the second residual add; then, for a language model, the prediction (the
// final norm, the output projection and the softmax over the vocabulary).
enum class Stage { Embeddings, Projections, Rotary, Scores, Scaled, Masked, Weights, Output,
                   HeadsOut, Residual, Mlp, LayerOut, Prediction };
inline constexpr Stage kStages[] = {Stage::Embeddings, Stage::Projections, Stage::Rotary, Stage::Scores, Stage::Scaled,
                                    Stage::Masked, Stage::Weights, Stage::Output, Stage::HeadsOut, Stage::Residual,
                                    Stage::Mlp, Stage::LayerOut, Stage::Prediction};
// Whether a stage belongs to the rest of the block (a layer's, not one head's).
bool isBlockStage(Stage stage);
inline constexpr int kStageCount = int(std::size(kStages));
QString stageName(Stage stage);    // "projections", as the command line spells it
std::optional<Stage> stageFromName(const QString &name);
QString stageTitle(Stage stage);   // "Q, K, V"
QString stageButtonTitle(Stage stage); // as short as a row of buttons needs: "+ attn" for "+ Residual"
// "q = X·W_Q, k = X·W_K, v = X·W_V"; rotary models add no position to X.
QString stageFormula(Stage stage, bool rotary = false);
struct AttentionResult;
// The formula as this result's model computes it (rotary positions; cross-attention's two inputs;
// T5's relative position bias in place of ÷ √d_k), and the titles that go with it.
QString stageFormula(Stage stage, const AttentionResult &result);
QString stageTitle(Stage stage, const AttentionResult &result);
QString stageButtonTitle(Stage stage, const AttentionResult &result);

// What the views show for the current input. The document holds it as a shared, immutable value.
struct AttentionResult {
    QStringList labels;  // tokens as a person reads them (the queries')
    QStringList pieces;  // tokens as the model's vocabulary spells them
    // The keys' tokens where they are not the queries' (cross-attention: the source); empty = the same.
    QStringList keyLabels;
    // A translation model's result is one kind of its attention; the others are results of their own.
    std::optional<AttentionKind> attentionKind;
    // A translation model's three kinds of maps (encoder, decoder, cross), shared: the model view shows them together.
    std::vector<SharedAttentionMaps> kindMaps;
    QString queryTitle;  // what a row is ("target token"); empty = "query"
    QString keyTitle;    // what a column is ("source token"); empty = "key"
    // T5: scores are not divided by √d_k; its self-attention adds a learned bias per relative position.
    bool unscaledScores = false;
    bool relativePositionBias = false;
    int layers = 0;
    int heads = 0;
    SharedAttentionMaps maps = std::make_shared<const AttentionMaps>(); // never null
    std::vector<Matrix> layerInputs;          // X of each layer's attention (T, d_model)
    std::vector<Matrix> residualInputs;       // the residual stream entering each layer (T, d_model)
    bool hasMlp = false;                      // the block goes on through an MLP (checkpoints; not the teaching model)
    QString notice;                           // e.g. that the text was truncated
    Precision precision = Precision::Fp32;    // how a checkpoint's linear layers multiplied
    double maxDeviation = 0;                  // bf16: the largest |w − w_fp32| of any attention weight
    bool rotary = false;                      // q and k are turned by position (the Rotary stage applies)
    int kvHeads = 0;                          // key/value heads, shared by groups of query heads; 0 = one per head
    std::vector<int> slidingWindows;          // per layer; 0 = the whole causal past
    QStringList headNames;                    // the teaching model's ("Previous token"); empty for checkpoints
    // [layer] ‖f_h(x_j)‖ = ‖(x_j W_V^h + b_V^h) W_O^h‖ per token and head (T, H), for value-weighted
    // attention; empty when the model has no output projection per head.
    std::vector<Matrix> valueNorms;
    std::vector<bool> special;                // per token: a special token ([CLS], <s> …); empty = none
    // The final hidden state of every token (T, C), from which the model predicts the next token;
    // empty when it cannot (not a causal language model, or the teaching model).
    std::shared_ptr<const Matrix> finalHidden;
    bool hasSpecialTokens() const;
    bool hasBlock() const { return !residualInputs.empty(); } // the rest of the block can be shown
    bool predicts() const { return finalHidden != nullptr; }   // a language model's next token can be
    int tokenCount() const { return int(labels.size()); }
    // The keys: the columns of every map.
    int keyCount() const { return keyLabels.isEmpty() ? tokenCount() : int(keyLabels.size()); }
    const QStringList &columnLabels() const { return keyLabels.isEmpty() ? labels : keyLabels; }
    QString rowTitle() const;    // "query", or the result's own
    QString columnTitle() const; // "key", or the result's own
    // The key/value head query head `head` reads, and the query heads sharing it (first, last).
    int kvHeadOf(int head) const;
    std::pair<int, int> headGroup(int head) const;
    // The share of the head's attention that goes to the first token (the attention sink).
    double firstTokenShare(int layer, int head) const;
    // "head 2", with the head's name where it has one: "head 0 · Previous token".
    QString headLabel(int head) const;

    bool hasHead(int layer, int head) const;
    // One head's weights (T, T); an empty matrix for a head that does not exist.
    const Matrix &weights(int layer, int head) const;
    // The same matrix, sharing ownership of the maps: no copy.
    std::shared_ptr<const Matrix> sharedWeights(int layer, int head) const;
    // One layer's heads, sharing ownership of the maps (empty for a layer that does not exist).
    std::shared_ptr<const std::vector<Matrix>> sharedLayer(int layer) const;
};
using SharedResult = std::shared_ptr<const AttentionResult>;

// Everything about one head that the step-through and the weight editor need.
struct HeadDetails {
    QString name;
    QString description;
    int layer = 0;
    int head = 0;
    Matrix embeddings;           // teaching model: word embeddings (T, C); empty for checkpoints
    Matrix positions;            // teaching model: positional encodings (T, C)
    Matrix input;                // X (T, C)
    Matrix keyInput;             // cross-attention: what k and v are computed from, the encoder's output (S, C); else empty
    QString keyInputDescription; // where it comes from
    Matrix wQ, wK, wV;           // (C, D)
    Matrix wO;                   // (D, C): the head's rows of W_O
    RowVector bQ, bK, bV;        // biases (D); empty for the teaching model
    HeadTrace trace;

    const Matrix &weight(Projection projection) const;
    const RowVector &bias(Projection projection) const;
    double temperature = 1.0;
    bool scaled = true;
    QString maskDescription;
    QString inputDescription;    // where X comes from, for checkpoints (e.g. after the layer's norm)
    QString sharing;             // grouped heads: which query heads share this head's k and v
    std::vector<double> ropeFrequencies; // rotary models: the angle per position of each pair (d/2)

    // The rest of the layer's block and the prediction, computed when a block stage is shown.
    std::shared_ptr<const BlockTrace> block;
    QString mlpFormula;                  // "m = gelu(x·W₁ + b₁)·W₂ + b₂", as the family computes it
    QString normName;                    // "LayerNorm", "RMSNorm"
    bool preNorm = true;
    // The prediction: the k tokens most likely after the last token (columns), and each position's
    // probability of them (T, k); per position, its own most likely tokens.
    QStringList nextTokens;
    Matrix nextTokenProbabilities;
    std::vector<std::vector<std::pair<QString, double>>> positionTop; // [position] (token, probability), best first
};

// Whether a stage exists for the result's model (Rotary only for rotary models), and the stages
// that do, in order.
bool stageApplies(Stage stage, const AttentionResult &result);
std::vector<Stage> stagesFor(const AttentionResult &result);
// The stage this model has after / before the given one, if any.
std::optional<Stage> stageAfter(const AttentionResult &result, Stage stage);
std::optional<Stage> stageBefore(const AttentionResult &result, Stage stage);

// "Teaching model (d_model 16, d_head 8, 3 heads)", "gpt2 (GPT2: 12 layers, 12 heads, d_model 768)".
QString teachingModelDescription(const TeachingConfig &config);
QString checkpointDescription(const Checkpoint &checkpoint);

// Building results and head details from either kind of model (used by the document and by the
// command line, so both show the same numbers).
AttentionResult teachingResult(const TeachingTrace &trace, const Workspace &workspace);
AttentionResult checkpointResult(const Checkpoint &checkpoint, const PreparedInput &input, ModelTrace &&trace);
HeadDetails teachingDetails(const Workspace &workspace, const TeachingTrace &trace, int head);
HeadDetails checkpointDetails(const Checkpoint &checkpoint, const AttentionResult &result,
                              const ForwardInput &input, int layer, int head);
// Appends to the result's notice that the model's weights hold NaN or ±∞ (in which tensors).
void addNonFiniteNotice(AttentionResult &result, const QString &model, const QStringList &tensors);

// A translation run: its input and trace, shared by the results of its three kinds of attention.
struct TranslationRun {
    std::shared_ptr<const TranslationModel> model; // the model that ran it (kept: its encoder part is reused only by it)
    PreparedTranslation prepared;
    TranslationTrace trace;
    GreedyStep next; // what greedy search takes after the decoder's input (its last position's best token)
};
QString translationDescription(const TranslationCheckpoint &checkpoint);
// One kind of a translation run's attention as a result: encoder (source × source), decoder
// (target × target, causal) or cross (target rows × source columns). The maps are shared.
AttentionResult translationResult(const TranslationCheckpoint &checkpoint, const TranslationRun &run, AttentionKind kind);
HeadDetails translationDetails(const TranslationCheckpoint &checkpoint, const TranslationRun &run, AttentionKind kind, int layer, int head);

// Adds the rest of the layer's block (and for a language model, the prediction) to details.
void addBlockDetails(const Checkpoint &checkpoint, const AttentionResult &result, const ForwardInput &input, HeadDetails &details);

} // namespace studio
