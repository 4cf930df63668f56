#include "tokenizer.h"

#include <QRegularExpression>
#include <QTextBoundaryFinder>

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

// A symbol token split into grapheme clusters by Qt's own Unicode segmentation: the regular
// expression's \X can take two adjacent emoji for one cluster, where each is a token of its own.
void appendGraphemes(const QString &text, qsizetype offset, QList<TextToken> &tokens, qsizetype limit)
{
    if (text.size() == 1 || text.at(0).isLetterOrNumber()) { // words and single code units as they are
        tokens.append({text, offset, offset + text.size()});
        return;
    }
    QTextBoundaryFinder graphemes(QTextBoundaryFinder::Grapheme, text);
    qsizetype start = 0;
    while (tokens.size() < limit) {
        const qsizetype end = graphemes.toNextBoundary();
        if (end < 0)
            break;
        tokens.append({text.mid(start, end - start), offset + start, offset + end});
        start = end;
    }
}

} // namespace

QList<TextToken> tokenizeText(const QString &sentence, qsizetype limit)
{
    QList<TextToken> tokens;
    auto it = tokenPattern().globalMatch(withoutLoneSurrogates(sentence));
    while (tokens.size() < limit && it.hasNext()) {
        const QRegularExpressionMatch match = it.next();
        appendGraphemes(match.captured(0), match.capturedStart(0), tokens, limit);
    }
    return tokens;
}

QString visibleToken(const QString &token)
{
    QString shown;
    for (const char32_t c : token.toUcs4()) {
        const QChar::Category category = QChar::category(c);
        if (category == QChar::Other_Format || category == QChar::Other_Control || category == QChar::Other_NotAssigned
            || category == QChar::Other_PrivateUse || category == QChar::Separator_Line || category == QChar::Separator_Paragraph)
            shown += QStringLiteral("⟨U+%1⟩").arg(QString::number(uint(c), 16).toUpper().rightJustified(4, QLatin1Char('0')));
        else
            shown += QString::fromUcs4(&c, 1);
    }
    return shown;
}

qsizetype countTokens(const QString &sentence)
{
    qsizetype count = 0;
    QList<TextToken> one;
    for (auto it = tokenPattern().globalMatch(withoutLoneSurrogates(sentence)); it.hasNext();) {
        const QRegularExpressionMatch match = it.next();
        one.clear();
        appendGraphemes(match.captured(0), 0, one, std::numeric_limits<qsizetype>::max());
        count += one.size();
    }
    return count;
}

} // namespace studio
