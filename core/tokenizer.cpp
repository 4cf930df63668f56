#include "tokenizer.h"

#include <QRegularExpression>

namespace studio {
namespace {

// PCRE refuses to match invalid UTF-16. A lone surrogate becomes U+FFFD, one code unit for one, so
// every token's span still indexes the caller's sentence.
QString withoutLoneSurrogates(const QString &text)
{
    QString clean = text;
    for (qsizetype i = 0; i < clean.size(); ++i) {
        const QChar c = clean.at(i);
        if (c.isHighSurrogate() && i + 1 < clean.size() && clean.at(i + 1).isLowSurrogate()) {
            ++i;
        } else if (c.isSurrogate()) {
            clean[i] = QChar::ReplacementCharacter;
        }
    }
    return clean;
}

const QRegularExpression &tokenPattern()
{
    // Order matters: ideographic characters first (one token each), then words, then any other
    // grapheme cluster that is not white space or a control character.
    static const QRegularExpression pattern(
        QStringLiteral(
            R"((?:[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]\p{M}*))"
            R"(|(?:[\p{L}\p{N}][\p{L}\p{M}\p{N}]*(?:['’][\p{L}\p{M}\p{N}]+)*))"
            R"(|(?:(?![\s\p{Cc}])\X))"),
        QRegularExpression::UseUnicodePropertiesOption);
    return pattern;
}

} // namespace

QList<TextToken> tokenizeText(const QString &sentence, qsizetype limit)
{
    QList<TextToken> tokens;
    auto it = tokenPattern().globalMatch(withoutLoneSurrogates(sentence));
    while (tokens.size() < limit && it.hasNext()) {
        const QRegularExpressionMatch match = it.next();
        tokens.append({match.captured(0), match.capturedStart(0), match.capturedEnd(0)});
    }
    return tokens;
}

qsizetype countTokens(const QString &sentence)
{
    qsizetype count = 0;
    for (auto it = tokenPattern().globalMatch(withoutLoneSurrogates(sentence)); it.hasNext(); it.next())
        ++count;
    return count;
}

} // namespace studio
