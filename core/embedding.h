#pragma once

#include "tensor.h"

#include <QList>
#include <QString>

#include <cstdint>

namespace studio {

// Small, portable pseudo-random generator (splitmix64). The standard library's distributions differ
// between implementations; this produces the same numbers on every machine and compiler.
class SplitMix64 {
public:
    explicit SplitMix64(std::uint64_t seed) : m_state(seed) {}
    std::uint64_t next();
    // Uniform in [0, 1), built from the top 53 bits: exact in double.
    double uniform();
    // Zero mean, unit variance, bell-shaped: a scaled sum of four uniforms (Irwin-Hall). Uses only
    // + and *, so the result is bit-identical wherever IEEE double arithmetic is.
    double bell();

private:
    std::uint64_t m_state;
};

// 64-bit FNV-1a of the UTF-8 bytes of text, mixed with a salt.
std::uint64_t stableHash(const QString &text, std::uint64_t salt = 0);

// The character n-grams (n = 3..5, in Unicode code points) of "<" + lower-case(word) + ">", the
// lower-case word in brackets (unless it is one of the n-grams already), and the word in its own
// case: the pieces a word vector is built from, each once.
// Words longer than this (in UTF-16 code units) are embedded from their beginning.
inline constexpr qsizetype kMaxEmbeddedWordLength = 1000;
QList<QString> wordPieces(const QString &word);

// The teaching model keeps position and word identity mostly apart, as trained models learn to:
// the first half of the features (where the positional waves are fast) carries little of the word,
// the second half (where they are slow, nearly constant over a sentence) carries the word.
// That is what lets a head read "where" or "what" with a simple projection.
inline constexpr double kPositionBandWordWeight = 0.05;
double wordFeatureWeight(int feature, int dModel);

// Deterministic embedding of any word, fastText-style: the sum of one pseudo-random vector per
// piece (wordPieces), weighted per feature by wordFeatureWeight, and rescaled so that the word
// band (second half) has root-mean-square 1 per component.
// Words that share spellings share pieces, so "cat"/"cats" are related and "The"/"the" close.
Vector embedWord(const QString &word, int dModel); // (d_model)

// Sinusoidal positional encoding (Vaswani et al. 2017):
//   PE(pos, 2i)   = sin(pos / 10000^(2i / d_model))
//   PE(pos, 2i+1) = cos(pos / 10000^(2i / d_model))
Matrix sinusoidalPositions(int tokenCount, int dModel); // (T, d_model)

// Word embeddings stacked as rows.
Matrix embedWords(const QList<QString> &words, int dModel); // (T, d_model)

} // namespace studio
