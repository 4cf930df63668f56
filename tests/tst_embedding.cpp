#include "embedding.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <cmath>
#include <cstring>

using namespace studio;

namespace {

double cosine(const Vector &a, const Vector &b)
{
    return double(a.dot(b)) / (double(a.norm()) * double(b.norm()));
}

} // namespace

class TestEmbedding : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void hugeWordsAreEmbeddedFromTheirBeginning();
    void splitMixMatchesReferenceSequence();
    void bellHasUnitVariance();
    void wordPiecesAreFastTextNgrams();
    void sameWordSameVector();
    void matchesCommittedFixture();
    void relatedSpellingsAreRelated();
    void wordBandHasUnitRms();
    void positionalEncodingValues();
    void anyStringEmbedsFinite();
};

void TestEmbedding::splitMixMatchesReferenceSequence()
{
    // splitmix64 (Steele, Lea, Flood 2014) from seed 0: the published reference outputs.
    SplitMix64 rng(0);
    QCOMPARE(rng.next(), 0xE220A8397B1DCDAFULL);
    QCOMPARE(rng.next(), 0x6E789E6AA1B965F4ULL);
    QCOMPARE(rng.next(), 0x06C45D188009454FULL);
}

void TestEmbedding::bellHasUnitVariance()
{
    SplitMix64 rng(7);
    const int n = 200000;
    double sum = 0, squares = 0;
    for (int i = 0; i < n; ++i) {
        const double x = rng.bell();
        QVERIFY(std::abs(x) <= 2.0 * std::sqrt(3.0)); // support of the scaled Irwin-Hall sum
        sum += x;
        squares += x * x;
    }
    const double mean = sum / n;
    const double variance = squares / n - mean * mean;
    // Standard error of the mean is 1/√n ≈ 0.0022; of the variance ≈ 0.003.
    QVERIFY2(std::abs(mean) < 0.01, qPrintable(QString::number(mean)));
    QVERIFY2(std::abs(variance - 1.0) < 0.015, qPrintable(QString::number(variance)));
}

void TestEmbedding::wordPiecesAreFastTextNgrams()
{
    const QList<QString> pieces = wordPieces(QStringLiteral("Cat"));
    // "<cat>": 3-grams <ca cat at>, 4-grams <cat cat>, 5-gram <cat> (which is also the bracketed
    // word, so it is not added twice), then the exact spelling.
    const QList<QString> expected = {
        QStringLiteral("<ca"), QStringLiteral("cat"), QStringLiteral("at>"),
        QStringLiteral("<cat"), QStringLiteral("cat>"), QStringLiteral("<cat>"),
        QStringLiteral("\u0001Cat")};
    QCOMPARE(pieces, expected);
    // A longer word gets its bracketed form as a piece of its own.
    QVERIFY(wordPieces(QStringLiteral("horse")).contains(QStringLiteral("<horse>")));
    // n-grams count code points, not UTF-16 units: an astral character is one.
    QCOMPARE(wordPieces(QStringLiteral("🐈")).first(), QStringLiteral("<🐈>"));
}

void TestEmbedding::sameWordSameVector()
{
    const Vector a = embedWord(QStringLiteral("attention"), 16);
    const Vector b = embedWord(QStringLiteral("attention"), 16);
    QVERIFY(std::memcmp(a.data(), b.data(), sizeof(float) * 16) == 0);
    const Matrix x = embedWords({QStringLiteral("the"), QStringLiteral("cat"), QStringLiteral("the")}, 8);
    QVERIFY(x.row(0) == x.row(2));
    QVERIFY(x.row(0) != x.row(1));
}

void TestEmbedding::matchesCommittedFixture()
{
    // The fixture was written by this implementation and must never change: a saved workspace or a
    // lecture's figures depend on these exact numbers on every machine.
    QFile file(QStringLiteral(STUDIO_TEST_DATA "/teaching-embeddings.json"));
    QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable(file.fileName()));
    const QJsonObject fixture = QJsonDocument::fromJson(file.readAll()).object();
    const int dModel = fixture.value(QStringLiteral("d_model")).toInt();
    const QJsonObject words = fixture.value(QStringLiteral("embeddings")).toObject();
    QVERIFY(words.size() >= 5);
    for (auto it = words.begin(); it != words.end(); ++it) {
        const Vector actual = embedWord(it.key(), dModel);
        const QJsonArray expected = it.value().toArray();
        QCOMPARE(expected.size(), dModel);
        for (int i = 0; i < dModel; ++i) {
            const float want = float(expected.at(i).toDouble());
            // Bit-exact: compare representations, not values with a tolerance.
            QVERIFY2(std::memcmp(&actual[i], &want, sizeof(float)) == 0,
                     qPrintable(QStringLiteral("%1[%2]: %3 != %4").arg(it.key()).arg(i)
                                    .arg(double(actual[i]), 0, 'g', 9).arg(double(want), 0, 'g', 9)));
        }
    }
}

void TestEmbedding::relatedSpellingsAreRelated()
{
    // Single pairs of random vectors scatter; averages over many words show the design: plural
    // forms share their stem's n-grams, case variants share all but one piece, unrelated words
    // share nothing and are uncorrelated.
    const int d = 64;
    const QStringList stems = {
        QStringLiteral("cat"), QStringLiteral("dog"), QStringLiteral("tree"), QStringLiteral("house"),
        QStringLiteral("river"), QStringLiteral("word"), QStringLiteral("token"), QStringLiteral("head"),
        QStringLiteral("layer"), QStringLiteral("model"), QStringLiteral("street"), QStringLiteral("animal"),
        QStringLiteral("teacher"), QStringLiteral("student"), QStringLiteral("lecture"), QStringLiteral("paper"),
        QStringLiteral("figure"), QStringLiteral("number"), QStringLiteral("sentence"), QStringLiteral("vector")};
    double plural = 0, capital = 0, unrelated = 0;
    for (int i = 0; i < stems.size(); ++i) {
        const QString stem = stems.at(i);
        const QString capitalised = stem.left(1).toUpper() + stem.mid(1);
        plural += cosine(embedWord(stem, d), embedWord(stem + QLatin1Char('s'), d));
        capital += cosine(embedWord(stem, d), embedWord(capitalised, d));
        unrelated += cosine(embedWord(stem, d), embedWord(stems.at((i + 7) % stems.size()), d));
    }
    plural /= stems.size();
    capital /= stems.size();
    unrelated /= stems.size();
    const QString figures = QStringLiteral("plural %1, capital %2, unrelated %3").arg(plural).arg(capital).arg(unrelated);
    QVERIFY2(capital > 0.75, qPrintable(figures));
    QVERIFY2(plural > 0.4, qPrintable(figures));
    QVERIFY2(std::abs(unrelated) < 0.1, qPrintable(figures));
    QVERIFY2(capital > plural && plural > unrelated + 0.3, qPrintable(figures));
}

void TestEmbedding::wordBandHasUnitRms()
{
    for (int d : {2, 8, 9, 64}) {
        const Vector v = embedWord(QStringLiteral("transformer"), d);
        double band = 0;
        for (int i = d / 2; i < d; ++i)
            band += double(v[i]) * v[i];
        QVERIFY(std::abs(std::sqrt(band / (d - d / 2)) - 1.0) < 1e-6);
        for (int i = 0; i < d / 2; ++i) // the position band holds little of the word
            QVERIFY(std::abs(v[i]) < 0.25);
    }
}

void TestEmbedding::positionalEncodingValues()
{
    const Matrix pe = sinusoidalPositions(3, 4);
    // pos 0: sin 0 = 0, cos 0 = 1 in every pair.
    QCOMPARE(pe(0, 0), 0.0f);
    QCOMPARE(pe(0, 1), 1.0f);
    QCOMPARE(pe(0, 2), 0.0f);
    QCOMPARE(pe(0, 3), 1.0f);
    // pos 2, pair 0 (ω = 1): sin 2, cos 2; pair 1 (ω = 10000^(-2/4) = 0.01): sin 0.02, cos 0.02.
    QCOMPARE(pe(2, 0), float(std::sin(2.0)));
    QCOMPARE(pe(2, 1), float(std::cos(2.0)));
    QCOMPARE(pe(2, 2), float(std::sin(0.02)));
    QCOMPARE(pe(2, 3), float(std::cos(0.02)));
    // An odd d_model ends with a sin feature.
    QCOMPARE(sinusoidalPositions(2, 3)(1, 2), float(std::sin(1.0 * std::pow(10000.0, -2.0 / 3))));
}

void TestEmbedding::anyStringEmbedsFinite()
{
    for (const QString &word : {QString(), QStringLiteral("a"), QStringLiteral("🐈‍⬛"), QString(5000, QLatin1Char('x')),
                                QStringLiteral("\u0301"), QStringLiteral("我")}) {
        const Vector v = embedWord(word, 8);
        QVERIFY(v.allFinite());
        QVERIFY(v.norm() > 0);
    }
}

void TestEmbedding::hugeWordsAreEmbeddedFromTheirBeginning()
{
    // A ten-million-letter word costs what its first kMaxEmbeddedWordLength letters cost, and is
    // embedded as they are (a stated rule); shorter words are untouched by it.
    QString huge;
    for (int i = 0; i < 10'000'000; ++i)
        huge.append(QChar(u'a' + i % 26));
    QCOMPARE(embedWord(huge, 16), embedWord(huge.left(kMaxEmbeddedWordLength), 16));
    QVERIFY(embedWord(huge.left(kMaxEmbeddedWordLength), 16) != embedWord(huge.left(kMaxEmbeddedWordLength - 1), 16));
    QVERIFY(embedWord(huge, 16).allFinite());
}

QTEST_GUILESS_MAIN(TestEmbedding)
#include "tst_embedding.moc"
