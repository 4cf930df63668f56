#include "tokenizer.h"

#include <QTest>

using namespace studio;

class TestTokenizer : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void adjacentEmojiAreTokensOfTheirOwn();
    void invisibleCharactersAreShownVisibly();
    void cutWhileSplitting();
    void tokens_data();
    void tokens();
    void spansPointIntoTheSentence_data();
    void spansPointIntoTheSentence();
    void loneSurrogateBecomesAToken();
};

void TestTokenizer::tokens_data()
{
    QTest::addColumn<QString>("sentence");
    QTest::addColumn<QStringList>("expected");
    QTest::newRow("words and punctuation") << QStringLiteral("The cat sat on the mat.")
        << QStringList{QStringLiteral("The"), QStringLiteral("cat"), QStringLiteral("sat"), QStringLiteral("on"),
                       QStringLiteral("the"), QStringLiteral("mat"), QStringLiteral(".")};
    QTest::newRow("apostrophe inside a word") << QStringLiteral("didn't stop, ok?!")
        << QStringList{QStringLiteral("didn't"), QStringLiteral("stop"), QStringLiteral(","), QStringLiteral("ok"),
                       QStringLiteral("?"), QStringLiteral("!")};
    QTest::newRow("quote marks are tokens") << QStringLiteral("'hi'")
        << QStringList{QStringLiteral("'"), QStringLiteral("hi"), QStringLiteral("'")};
    QTest::newRow("accents") << QStringLiteral("Café naïve Ångström")
        << QStringList{QStringLiteral("Café"), QStringLiteral("naïve"), QStringLiteral("Ångström")};
    QTest::newRow("combining mark stays with its letter") << QStringLiteral("cafe\u0301 ok")
        << QStringList{QStringLiteral("cafe\u0301"), QStringLiteral("ok")};
    QTest::newRow("CJK one token per character") << QStringLiteral("我爱你。")
        << QStringList{QStringLiteral("我"), QStringLiteral("爱"), QStringLiteral("你"), QStringLiteral("。")};
    QTest::newRow("emoji incl. ZWJ and variation selector") << QStringLiteral("I ❤️ 🐈‍⬛!")
        << QStringList{QStringLiteral("I"), QStringLiteral("❤️"), QStringLiteral("🐈‍⬛"), QStringLiteral("!")};
    QTest::newRow("digits") << QStringLiteral("in 2024 we")
        << QStringList{QStringLiteral("in"), QStringLiteral("2024"), QStringLiteral("we")};
    QTest::newRow("right-to-left") << QStringLiteral("שלום עולם")
        << QStringList{QStringLiteral("שלום"), QStringLiteral("עולם")};
    QTest::newRow("empty") << QString() << QStringList{};
    QTest::newRow("white space only") << QStringLiteral(" \t\n ") << QStringList{};
    QTest::newRow("control characters separate") << QStringLiteral("a\u0007b\u0000c")
        << QStringList{QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c")};
}

void TestTokenizer::tokens()
{
    QFETCH(QString, sentence);
    QFETCH(QStringList, expected);
    QStringList actual;
    for (const TextToken &token : tokenizeText(sentence))
        actual.append(token.text);
    QCOMPARE(actual, expected);
}

void TestTokenizer::spansPointIntoTheSentence_data()
{
    QTest::addColumn<QString>("sentence");
    QTest::newRow("plain") << QStringLiteral("  The animal didn't cross the street.  ");
    QTest::newRow("mixed scripts") << QStringLiteral("naïve 猫 🐈 cafe\u0301!");
}

void TestTokenizer::spansPointIntoTheSentence()
{
    QFETCH(QString, sentence);
    const QList<TextToken> tokens = tokenizeText(sentence);
    QVERIFY(!tokens.isEmpty());
    qsizetype previousEnd = 0;
    for (const TextToken &token : tokens) {
        QVERIFY(token.begin >= previousEnd);
        QCOMPARE(sentence.mid(token.begin, token.end - token.begin), token.text);
        previousEnd = token.end;
    }
}

void TestTokenizer::loneSurrogateBecomesAToken()
{
    QString sentence = QStringLiteral("a b");
    sentence[1] = QChar(0xD800); // "a\uD800b": invalid UTF-16
    const QList<TextToken> tokens = tokenizeText(sentence);
    QCOMPARE(tokens.size(), 3);
    QCOMPARE(tokens.at(1).text, QString(QChar::ReplacementCharacter));
    QCOMPARE(tokens.at(1).begin, 1);
    QCOMPARE(tokens.at(2).text, QStringLiteral("b"));
}

void TestTokenizer::cutWhileSplitting()
{
    QString text;
    for (int i = 0; i < 3000; ++i)
        text += QStringLiteral("word%1 , ").arg(i);
    const QList<TextToken> first = tokenizeText(text, 10);
    QCOMPARE(first.size(), 10);
    QCOMPARE(first, tokenizeText(text).mid(0, 10));
    QCOMPARE(countTokens(text), 6000);
    QCOMPARE(countTokens(text), tokenizeText(text).size());
    QCOMPARE(tokenizeText(QStringLiteral("a b"), 10).size(), 2);
}

void TestTokenizer::adjacentEmojiAreTokensOfTheirOwn()
{
    auto texts = [](const QString &text) {
        QStringList out;
        for (const TextToken &token : tokenizeText(text))
            out.append(token.text);
        return out;
    };
    QCOMPARE(texts(QStringLiteral("😀😀 ok")), (QStringList{QStringLiteral("😀"), QStringLiteral("😀"), QStringLiteral("ok")}));
    QCOMPARE(texts(QStringLiteral("👍🏽👍🏽")), (QStringList{QStringLiteral("👍🏽"), QStringLiteral("👍🏽")}));
    // Sequences that are one grapheme stay one token: a ZWJ family, a flag.
    QCOMPARE(texts(QStringLiteral("👩‍👩‍👧🇳🇴")), (QStringList{QStringLiteral("👩‍👩‍👧"), QStringLiteral("🇳🇴")}));
    // Spans still index the sentence.
    const QString sentence = QStringLiteral("x 😀😀");
    for (const TextToken &token : tokenizeText(sentence))
        QCOMPARE(sentence.mid(token.begin, token.end - token.begin), token.text);
    QCOMPARE(countTokens(QStringLiteral("😀😀😀 a")), 4);
}

void TestTokenizer::invisibleCharactersAreShownVisibly()
{
    const QList<TextToken> tokens = tokenizeText(QStringLiteral("a\u200Bb\u202Ec"));
    QCOMPARE(tokens.size(), 5);
    QCOMPARE(visibleToken(tokens.at(1).text), QStringLiteral("⟨U+200B⟩"));
    QCOMPARE(visibleToken(tokens.at(3).text), QStringLiteral("⟨U+202E⟩"));
    QCOMPARE(visibleToken(QStringLiteral("cat")), QStringLiteral("cat"));
    QCOMPARE(visibleToken(QStringLiteral("😀")), QStringLiteral("😀"));
}

QTEST_GUILESS_MAIN(TestTokenizer)
#include "tst_tokenizer.moc"
