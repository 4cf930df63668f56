#pragma once

#include <QList>
#include <QString>

#include <limits>

namespace studio {

// One token of typed text and where it came from.
struct TextToken {
    QString text;
    qsizetype begin = 0; // index of the first UTF-16 code unit in the sentence
    qsizetype end = 0;   // one past the last code unit

    friend bool operator==(const TextToken &, const TextToken &) = default;
};

// Splits typed text for the teaching model: runs of letters, digits and combining marks (with inner
// apostrophes, as in "didn't") form words; every other visible grapheme (punctuation, symbols, emoji
// including ZWJ sequences) is a token of its own; each Han/Kana/Hangul character is a token, since
// those scripts write words without spaces. White space and control characters separate tokens and
// never become tokens. Invalid UTF-16 (lone surrogates) is treated as a symbol, never dropped silently.
// At most `limit` tokens: the text after them is not split (a huge text costs no more than its
// first tokens).
QList<TextToken> tokenizeText(const QString &sentence, qsizetype limit = std::numeric_limits<qsizetype>::max());
// How many tokens the whole text has, without keeping them.
qsizetype countTokens(const QString &sentence);
// A token as a person can see it: invisible characters (formatting such as U+200B or U+202E,
// controls, private-use and unassigned code points) are written as ⟨U+200B⟩.
QString visibleToken(const QString &token);

} // namespace studio
