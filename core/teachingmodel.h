#pragma once

#include "attention.h"
#include "result.h"
#include "tokenizer.h"

#include <QList>
#include <QString>

#include <vector>

namespace studio {

// Limits of the teaching model's dimensions. Small enough to read, large enough to experiment.
inline constexpr int kMinDModel = 2;
inline constexpr int kMaxDModel = 256;
inline constexpr int kMaxHeads = 16;
// The teaching model keeps every T × T stage of every head; beyond this many tokens the sentence is
// cut (with a notice), so memory stays bounded (1024² × 16 heads × 5 stages × 4 bytes ≈ 340 MB).
inline constexpr int kMaxTeachingTokens = 1024;

struct TeachingConfig {
    // 16 and 8: the smallest sizes at which the default heads do what their names say for any
    // sentence (at 8 and 4 the word band has 4 features, too few to tell words apart).
    int dModel = 16;
    int dHead = 8;
    int heads = 3;
    bool positional = true; // add sinusoidal positional encodings to the word embeddings

    friend bool operator==(const TeachingConfig &, const TeachingConfig &) = default;
};

// Whether the configuration is usable, else a sentence naming the problem.
Status validateConfig(const TeachingConfig &config);

// The named head presets, in the order the default model uses them.
enum class HeadPreset { PreviousToken, SameWord, Random };
QList<HeadPreset> allHeadPresets();
QString headPresetName(HeadPreset preset);

// One head built from a preset. seed only matters for Random.
HeadWeights presetHead(HeadPreset preset, int dModel, int dHead, std::uint64_t seed = 42);
// A head of seeded random weights, entries bell-shaped with standard deviation 1/√d_model.
HeadWeights randomHead(int dModel, int dHead, std::uint64_t seed);

// Head h's default share of the output projection (d_head, d_model): identity-like, its output
// dimension i goes to model dimension (h·d_head + i) mod d_model, so that with H·d_head = d_model the
// concatenated heads pass through unchanged.
Matrix defaultOutputProjection(int dModel, int dHead, int head);

// The default heads: previous token, same word, then random heads (seeds 42, 43, ...).
std::vector<HeadWeights> defaultHeads(const TeachingConfig &config);

// The matrix X fed to every head: word embeddings plus, when enabled, positional encodings.
Matrix teachingInput(const QList<QString> &tokens, const TeachingConfig &config); // (T, d_model)

// Everything a view needs for one sentence.
struct TeachingTrace {
    QList<TextToken> tokens;
    int truncatedFrom = 0; // the token count before cutting to kMaxTeachingTokens, 0 if nothing was cut
    Matrix embeddings;  // word embeddings                   (T, d_model)
    Matrix positions;   // positional encodings (zero if off) (T, d_model)
    Matrix input;       // X = embeddings + positions         (T, d_model)
    std::vector<HeadTrace> heads;
    // The rest of the teaching block: no MLP, so it ends at the residual add.
    Matrix context;        // every head's output side by side               (T, H·d_head)
    Matrix attentionOut;   // Σ_h output_h · W_O^h                            (T, d_model)
    Matrix afterAttention; // X + attentionOut                                (T, d_model)
    Matrix valueNorms;     // ‖v_h,j · W_O^h‖ per token j and head h           (T, H)
};

TeachingTrace traceTeachingModel(const QString &sentence, const TeachingConfig &config,
                                 const std::vector<HeadWeights> &heads,
                                 const AttentionSettings &settings);

QList<QString> tokenTexts(const QList<TextToken> &tokens);

} // namespace studio
