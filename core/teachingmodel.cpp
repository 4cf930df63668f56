#include "teachingmodel.h"

#include "embedding.h"

#include <cmath>

#include <algorithm>
#include <limits>

namespace studio {

Status validateConfig(const TeachingConfig &config)
{
    if (config.dModel < kMinDModel || config.dModel > kMaxDModel)
        return Status::failure(QStringLiteral("d_model must be between %1 and %2 (got %3)")
            .arg(kMinDModel).arg(kMaxDModel).arg(config.dModel));
    if (config.dHead < 1 || config.dHead > config.dModel)
        return Status::failure(QStringLiteral("d_head must be between 1 and d_model = %1 (got %2)")
            .arg(config.dModel).arg(config.dHead));
    if (config.heads < 1 || config.heads > kMaxHeads)
        return Status::failure(QStringLiteral("the number of heads must be between 1 and %1 (got %2)")
            .arg(kMaxHeads).arg(config.heads));
    return Status::success();
}

QList<HeadPreset> allHeadPresets()
{
    return {HeadPreset::PreviousToken, HeadPreset::SameWord, HeadPreset::Random};
}

QString headPresetName(HeadPreset preset)
{
    switch (preset) {
    case HeadPreset::PreviousToken: return QStringLiteral("Previous token");
    case HeadPreset::SameWord: return QStringLiteral("Same word");
    case HeadPreset::Random: return QStringLiteral("Random");
    }
    return {};
}

namespace {

// Gains chosen so the intended pattern is clearly visible at τ = 1 for the default dimensions.
constexpr float kPreviousTokenGain = 6.0f;
constexpr float kSameWordGain = 3.0f;

// W_V for the explainable heads: copy the first d_head features of each token, so the output of a
// query is the weighted mean of those features over the keys it attends to.
Matrix copyFirstFeatures(int dModel, int dHead)
{
    return Matrix::Identity(dModel, dHead);
}

} // namespace

HeadWeights randomHead(int dModel, int dHead, std::uint64_t seed)
{
    HeadWeights head;
    head.name = QStringLiteral("Random (seed %1)").arg(seed);
    head.description = QStringLiteral(
        "Weights drawn at random: what an untrained head looks like before learning shapes it.");
    SplitMix64 rng(seed);
    const double stddev = 1.0 / std::sqrt(double(dModel));
    for (Matrix *w : {&head.wQ, &head.wK, &head.wV}) {
        w->resize(dModel, dHead);
        for (int r = 0; r < dModel; ++r)
            for (int c = 0; c < dHead; ++c)
                (*w)(r, c) = float(rng.bell() * stddev);
    }
    return head;
}

HeadWeights presetHead(HeadPreset preset, int dModel, int dHead, std::uint64_t seed)
{
    if (preset == HeadPreset::Random)
        return randomHead(dModel, dHead, seed);

    HeadWeights head;
    head.wQ = Matrix::Zero(dModel, dHead);
    head.wK = Matrix::Zero(dModel, dHead);
    head.wV = copyFirstFeatures(dModel, dHead);

    if (preset == HeadPreset::PreviousToken) {
        head.name = headPresetName(preset);
        head.description = QStringLiteral(
            "Each token looks at the one before it: the query is its position moved one step back.");
        // The sinusoidal encoding of position p in frequency pair f is (sin pω_f, cos pω_f). Rotating
        // it by −ω_f gives the encoding of p − 1, and the dot product of two encodings is
        // Σ_f cos((p_q − 1 − p_k) ω_f): largest when the key sits at p_q − 1. So W_K reads the
        // encoding pairs as they are and W_Q reads them rotated back by one position. Pairs that do
        // not fit into d_head are left out; the highest frequencies come first as they separate
        // neighbours best.
        for (int pair = 0; 2 * pair + 1 < dModel && 2 * pair + 1 < dHead; ++pair) {
            const double omega = std::pow(10000.0, -2.0 * pair / dModel);
            const float c = float(std::cos(omega));
            const float s = float(std::sin(omega));
            const int sinRow = 2 * pair;
            const int cosRow = 2 * pair + 1;
            // k = (sin pω, cos pω)
            head.wK(sinRow, sinRow) = kPreviousTokenGain;
            head.wK(cosRow, cosRow) = kPreviousTokenGain;
            // q = (sin (p−1)ω, cos (p−1)ω) = (sin pω cos ω − cos pω sin ω, cos pω cos ω + sin pω sin ω)
            head.wQ(sinRow, sinRow) = kPreviousTokenGain * c;
            head.wQ(cosRow, sinRow) = -kPreviousTokenGain * s;
            head.wQ(cosRow, cosRow) = kPreviousTokenGain * c;
            head.wQ(sinRow, cosRow) = kPreviousTokenGain * s;
        }
        return head;
    }

    head.name = headPresetName(preset);
    head.description = QStringLiteral(
        "Each token looks at tokens spelled like it: queries and keys read the same word features, "
        "where position changes almost nothing.");
    // The second half of the features carries the word (see wordFeatureWeight), but also the slow
    // positional waves: sin ≈ 0 and cos ≈ 1 over a sentence. The constant cos part would add the
    // same vector c to every token and give some keys a bonus for every query (a c·k term), so the
    // head reads directions in which the positional waves are (nearly) zero: the sin features, and
    // differences of neighbouring cos features. q and k read the same directions, so the score is a
    // similarity of words: equal words score like a token with itself.
    std::vector<Vector> directions;
    const int firstWordFeature = dModel / 2 + (dModel / 2) % 2; // start of a (sin, cos) pair
    for (int f = firstWordFeature; f < dModel; f += 2)
        directions.push_back(Vector::Unit(dModel, f));
    // Contrasts of the cos features, orthonormal (Helmert): the score is then the word vectors'
    // dot product within that subspace, with no direction counted twice.
    std::vector<int> cosFeatures;
    for (int f = firstWordFeature + 1; f < dModel; f += 2)
        cosFeatures.push_back(f);
    for (size_t m = 1; m < cosFeatures.size(); ++m) {
        Vector contrast = Vector::Zero(dModel);
        const double norm = std::sqrt(double(m * (m + 1)));
        for (size_t i = 0; i < m; ++i)
            contrast[cosFeatures[i]] = float(1.0 / norm);
        contrast[cosFeatures[m]] = float(-double(m) / norm);
        directions.push_back(contrast);
    }
    for (int c = 0; c < dHead && c < int(directions.size()); ++c) {
        head.wQ.col(c) = kSameWordGain * directions[size_t(c)];
        head.wK.col(c) = kSameWordGain * directions[size_t(c)];
    }
    return head;
}

Matrix defaultOutputProjection(int dModel, int dHead, int head)
{
    Matrix o = Matrix::Zero(dHead, dModel); // (d_head, d_model)
    for (int i = 0; i < dHead && dModel > 0; ++i)
        o(i, (head * dHead + i) % dModel) = 1.0f;
    return o;
}

std::vector<HeadWeights> defaultHeads(const TeachingConfig &config)
{
    std::vector<HeadWeights> heads;
    const QList<HeadPreset> presets = {HeadPreset::PreviousToken, HeadPreset::SameWord};
    for (int h = 0; h < config.heads; ++h) {
        if (h < presets.size())
            heads.push_back(presetHead(presets.at(h), config.dModel, config.dHead));
        else
            heads.push_back(randomHead(config.dModel, config.dHead, 42 + std::uint64_t(h - presets.size())));
        heads.back().wO = defaultOutputProjection(config.dModel, config.dHead, h);
    }
    return heads;
}

Matrix teachingInput(const QList<QString> &tokens, const TeachingConfig &config)
{
    Matrix x = embedWords(tokens, config.dModel);
    if (config.positional)
        x += sinusoidalPositions(int(tokens.size()), config.dModel);
    return x;
}

QList<QString> tokenTexts(const QList<TextToken> &tokens)
{
    QList<QString> texts;
    texts.reserve(tokens.size());
    for (const TextToken &token : tokens)
        texts.append(token.text);
    return texts;
}

TeachingTrace traceTeachingModel(const QString &sentence, const TeachingConfig &config,
                                 const std::vector<HeadWeights> &heads,
                                 const AttentionSettings &settings)
{
    TeachingTrace trace;
    // Cut while splitting: the text beyond the cut is only counted, never kept.
    trace.tokens = tokenizeText(sentence, kMaxTeachingTokens + 1);
    if (trace.tokens.size() > kMaxTeachingTokens) {
        trace.truncatedFrom = int(std::min<qsizetype>(countTokens(sentence), std::numeric_limits<int>::max()));
        trace.tokens.resize(kMaxTeachingTokens);
    }
    const QList<QString> words = tokenTexts(trace.tokens);
    const int tokenCount = int(words.size());
    trace.embeddings = embedWords(words, config.dModel);
    trace.positions = config.positional ? sinusoidalPositions(tokenCount, config.dModel)
                                        : Matrix::Zero(tokenCount, config.dModel);
    trace.input = trace.embeddings + trace.positions;
    trace.heads.reserve(heads.size());
    for (const HeadWeights &head : heads)
        trace.heads.push_back(computeHead(trace.input, head, settings));
    // The heads back to d_model through their rows of W_O, then the residual add.
    const int dHead = config.dHead;
    trace.context = Matrix::Zero(tokenCount, Eigen::Index(heads.size()) * dHead);
    trace.attentionOut = Matrix::Zero(tokenCount, config.dModel);
    trace.valueNorms = Matrix::Zero(tokenCount, Eigen::Index(heads.size()));
    for (size_t h = 0; h < heads.size(); ++h) {
        const Matrix &o = heads[h].wO.rows() == dHead && heads[h].wO.cols() == config.dModel
                              ? heads[h].wO : defaultOutputProjection(config.dModel, dHead, int(h));
        const HeadTrace &t = trace.heads[h];
        if (t.output.rows() != tokenCount || t.output.cols() != dHead)
            continue;
        trace.context.middleCols(Eigen::Index(h) * dHead, dHead) = t.output;
        trace.attentionOut.noalias() += t.output * o;
        trace.valueNorms.col(Eigen::Index(h)) = (t.v * o).rowwise().norm();
    }
    trace.afterAttention = trace.input + trace.attentionOut;
    return trace;
}

} // namespace studio
