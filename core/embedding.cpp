#include "embedding.h"

#include <cmath>

namespace studio {

std::uint64_t SplitMix64::next()
{
    std::uint64_t z = (m_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

double SplitMix64::uniform()
{
    return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

double SplitMix64::bell()
{
    // The sum of four U(0,1) has mean 2 and variance 4/12; scale by √3 for unit variance.
    const double sum = uniform() + uniform() + uniform() + uniform();
    return (sum - 2.0) * 1.7320508075688772;
}

std::uint64_t stableHash(const QString &text, std::uint64_t salt)
{
    std::uint64_t hash = 0xCBF29CE484222325ULL ^ salt;
    for (const char byte : text.toUtf8()) {
        hash ^= static_cast<unsigned char>(byte);
        hash *= 0x100000001B3ULL;
    }
    return hash;
}

QList<QString> wordPieces(const QString &fullWord)
{
    // A word is embedded from its first kMaxEmbeddedWordLength code units: its n-grams are kept as
    // strings, so an unbounded word would cost unbounded memory.
    const QString word = fullWord.left(kMaxEmbeddedWordLength);
    const QString lower = word.toLower();
    const QList<uint> codePoints = (QLatin1Char('<') + lower + QLatin1Char('>')).toUcs4();
    QList<QString> pieces;
    for (int n = 3; n <= 5; ++n) {
        for (qsizetype start = 0; start + n <= codePoints.size(); ++start) {
            const QString gram = QString::fromUcs4(
                reinterpret_cast<const char32_t *>(codePoints.constData() + start), n);
            pieces.append(gram);
        }
    }
    const QString bracketed = QLatin1Char('<') + lower + QLatin1Char('>');
    if (!pieces.contains(bracketed)) // short words have it among their n-grams already
        pieces.append(bracketed);
    // The exact spelling, marked so it can never equal an n-gram: case variants differ only here.
    pieces.append(QStringLiteral("\u0001") + word);
    return pieces;
}

double wordFeatureWeight(int feature, int dModel)
{
    return feature < dModel / 2 ? kPositionBandWordWeight : 1.0;
}

Vector embedWord(const QString &word, int dModel)
{
    const QList<QString> pieces = wordPieces(word);
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(dModel);
    for (const QString &piece : pieces) {
        SplitMix64 rng(stableHash(piece));
        for (int i = 0; i < dModel; ++i)
            sum[i] += rng.bell();
    }
    for (int i = 0; i < dModel; ++i)
        sum[i] *= wordFeatureWeight(i, dModel);
    // Normalise over the word band so every word carries the same amount of "meaning".
    double squares = 0.0;
    const int firstWordFeature = dModel / 2;
    for (int i = firstWordFeature; i < dModel; ++i)
        squares += sum[i] * sum[i];
    const double rms = std::sqrt(squares / (dModel - firstWordFeature));
    Vector result(dModel);
    for (int i = 0; i < dModel; ++i)
        result[i] = static_cast<float>(rms > 0.0 ? sum[i] / rms : 0.0);
    return result;
}

Matrix sinusoidalPositions(int tokenCount, int dModel)
{
    Matrix pe(tokenCount, dModel);
    for (int pos = 0; pos < tokenCount; ++pos) {
        for (int i = 0; i < dModel; ++i) {
            const int pair = i / 2;
            const double frequency = std::pow(10000.0, -2.0 * pair / dModel);
            const double angle = pos * frequency;
            pe(pos, i) = static_cast<float>(i % 2 == 0 ? std::sin(angle) : std::cos(angle));
        }
    }
    return pe;
}

Matrix embedWords(const QList<QString> &words, int dModel)
{
    Matrix x(words.size(), dModel);
    for (qsizetype t = 0; t < words.size(); ++t)
        x.row(t) = embedWord(words.at(t), dModel).transpose();
    return x;
}

} // namespace studio
