#include "tokenizer.h"
#include "embedding.h"
#include "teachingmodel.h"

#include <QTest>

using namespace studio;

namespace {

int argmaxOfRow(const Matrix &m, int row)
{
    Eigen::Index best = 0;
    m.row(row).maxCoeff(&best);
    return int(best);
}

} // namespace

class TestTeachingModel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void hostileTexts_data();
    void hostileTexts();
    void defaultHeadsAreNamedAndShaped();
    void previousTokenHeadLooksOneBack_data();
    void previousTokenHeadLooksOneBack();
    void sameWordHeadFindsRepeatedWords();
    void randomHeadIsSeeded();
    void inputIsEmbeddingPlusPosition();
    void validateConfigNamesTheProblem();
    void traceOfEmptySentenceIsEmpty();
};

void TestTeachingModel::defaultHeadsAreNamedAndShaped()
{
    TeachingConfig config;
    QCOMPARE(config.dModel, 8);
    const std::vector<HeadWeights> heads = defaultHeads(config);
    QCOMPARE(int(heads.size()), config.heads);
    QCOMPARE(heads[0].name, QStringLiteral("Previous token"));
    QCOMPARE(heads[1].name, QStringLiteral("Same word"));
    QVERIFY(heads[2].name.startsWith(QStringLiteral("Random")));
    for (const HeadWeights &head : heads) {
        QVERIFY(!head.description.isEmpty());
        QCOMPARE(head.wQ.rows(), 8);
        QCOMPARE(head.wQ.cols(), 4);
        QCOMPARE(head.wK.rows(), 8);
        QCOMPARE(head.wV.cols(), 4);
    }
    config.heads = 5;
    const std::vector<HeadWeights> more = defaultHeads(config);
    QCOMPARE(int(more.size()), 5);
    QVERIFY(more[3].name != more[4].name); // different seeds
    QVERIFY(more[3].wQ != more[4].wQ);
}

void TestTeachingModel::previousTokenHeadLooksOneBack_data()
{
    QTest::addColumn<QString>("sentence");
    QTest::addColumn<int>("dModel");
    QTest::addColumn<int>("dHead");
    const QString animal = QStringLiteral("The animal didn't cross the street because it was too tired.");
    QTest::newRow("default dimensions") << animal << 8 << 4;
    QTest::newRow("d_model 16") << animal << 16 << 8;
    QTest::newRow("d_model 64") << QStringLiteral("The cat sat on the mat because the cat was tired.") << 64 << 16;
}

void TestTeachingModel::previousTokenHeadLooksOneBack()
{
    QFETCH(QString, sentence);
    QFETCH(int, dModel);
    QFETCH(int, dHead);
    TeachingConfig config{dModel, dHead, 3, true};
    const TeachingTrace trace = traceTeachingModel(sentence, config, defaultHeads(config), AttentionSettings{});
    const Matrix &w = trace.heads[0].weights;
    QCOMPARE(w.rows(), 12);
    for (int i = 1; i < w.rows(); ++i) {
        QCOMPARE(argmaxOfRow(w, i), i - 1);
        QVERIFY2(w(i, i - 1) > 0.5f, qPrintable(QStringLiteral("row %1: %2").arg(i).arg(w(i, i - 1))));
    }
}

void TestTeachingModel::sameWordHeadFindsRepeatedWords()
{
    // At d_model 16 the word band has room to tell words apart. Every occurrence of "the"/"The"
    // and of "cat" puts most of its attention on the tokens spelled like it.
    TeachingConfig config{16, 8, 3, true};
    const TeachingTrace trace = traceTeachingModel(
        QStringLiteral("The cat sat on the mat because the cat was tired."), config, defaultHeads(config), AttentionSettings{});
    const Matrix &w = trace.heads[1].weights;
    const QList<int> theRows = {0, 4, 7};
    for (int row : theRows) {
        float onThe = 0;
        for (int col : theRows)
            onThe += w(row, col);
        QVERIFY2(onThe > 0.9f, qPrintable(QStringLiteral("row %1: %2").arg(row).arg(onThe)));
    }
    for (int row : {1, 8}) {
        QVERIFY2(w(row, 1) + w(row, 8) > 0.8f, qPrintable(QStringLiteral("row %1").arg(row)));
    }
    // A word that occurs once mostly attends to itself.
    QVERIFY(w(6, 6) > 0.9f); // "because"
}

void TestTeachingModel::randomHeadIsSeeded()
{
    const HeadWeights a = randomHead(8, 4, 42);
    const HeadWeights b = randomHead(8, 4, 42);
    const HeadWeights c = randomHead(8, 4, 43);
    QCOMPARE(a.wQ, b.wQ);
    QCOMPARE(a.wV, b.wV);
    QVERIFY(a.wQ != c.wQ);
    QVERIFY(a.wQ != a.wK);
    QCOMPARE(presetHead(HeadPreset::Random, 8, 4, 42).wK, a.wK);
}

void TestTeachingModel::inputIsEmbeddingPlusPosition()
{
    TeachingConfig config;
    const QString sentence = QStringLiteral("to be or not to be");
    const TeachingTrace on = traceTeachingModel(sentence, config, defaultHeads(config), AttentionSettings{});
    QCOMPARE(on.tokens.size(), 6);
    QCOMPARE(on.embeddings, embedWords(tokenTexts(on.tokens), 8));
    QCOMPARE(on.positions, sinusoidalPositions(6, 8));
    QCOMPARE(on.input, Matrix(on.embeddings + on.positions));
    QCOMPARE(on.heads.size(), size_t(3));
    config.positional = false;
    const TeachingTrace off = traceTeachingModel(sentence, config, defaultHeads(config), AttentionSettings{});
    QCOMPARE(off.input, off.embeddings);
    QCOMPARE(double(off.positions.cwiseAbs().maxCoeff()), 0.0);
    // Without positions, equal words are indistinguishable: "to" (0) and "to" (4) get equal rows.
    QCOMPARE(off.heads[1].weights.row(0), off.heads[1].weights.row(4));
}

void TestTeachingModel::validateConfigNamesTheProblem()
{
    QVERIFY(bool(validateConfig(TeachingConfig{})));
    QVERIFY(bool(validateConfig(TeachingConfig{64, 8, 8, true})));
    QVERIFY(validateConfig(TeachingConfig{1, 1, 1, true}).error.contains(QStringLiteral("d_model")));
    QVERIFY(validateConfig(TeachingConfig{8, 9, 1, true}).error.contains(QStringLiteral("d_head")));
    QVERIFY(validateConfig(TeachingConfig{8, 0, 1, true}).error.contains(QStringLiteral("d_head")));
    QVERIFY(validateConfig(TeachingConfig{8, 4, 0, true}).error.contains(QStringLiteral("heads")));
    QVERIFY(validateConfig(TeachingConfig{8, 4, kMaxHeads + 1, true}).error.contains(QStringLiteral("heads")));
}

void TestTeachingModel::traceOfEmptySentenceIsEmpty()
{
    TeachingConfig config;
    const TeachingTrace trace = traceTeachingModel(QStringLiteral("   "), config, defaultHeads(config), AttentionSettings{});
    QVERIFY(trace.tokens.isEmpty());
    QCOMPARE(trace.input.rows(), 0);
    QCOMPARE(trace.heads[0].weights.rows(), 0);
}

void TestTeachingModel::hostileTexts_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("tokens");
    QTest::newRow("empty") << QString() << 0;
    QTest::newRow("white space only") << QStringLiteral(" \t\n\u00A0\u3000 ") << 0;
    QTest::newRow("right-to-left with marks") << QStringLiteral("مَرْحَبًا بِالعالم") << 2;
    QTest::newRow("combining characters") << QStringLiteral("e\u0301\u0302\u0303 x") << 2;
    QTest::newRow("emoji and flags") << QStringLiteral("👩‍👩‍👧 🇳🇴 ok") << 3;
    QTest::newRow("control characters") << QStringLiteral("a\u0001\u001B[31mb\u007F") << 3; // a, [, 31mb
    QTest::newRow("5000-character word") << QString(5000, QLatin1Char('z')) << 1;
}

void TestTeachingModel::hostileTexts()
{
    QFETCH(QString, text);
    QFETCH(int, tokens);
    const QList<TextToken> split = tokenizeText(text);
    QCOMPARE(split.size(), tokens);
    TeachingConfig config;
    const TeachingTrace trace = traceTeachingModel(text, config, defaultHeads(config), AttentionSettings{});
    QCOMPARE(trace.heads[0].weights.rows(), trace.tokens.size());
    QVERIFY(trace.input.allFinite());
    for (const HeadTrace &head : trace.heads)
        for (int i = 0; i < head.weights.rows(); ++i)
            QVERIFY(std::abs(head.weights.row(i).sum() - 1.0f) < 1e-5f);
    for (const TextToken &token : split)
        for (QChar c : token.text)
            QVERIFY2(c.category() != QChar::Other_Control, "a control character became part of a token");
}

QTEST_GUILESS_MAIN(TestTeachingModel)
#include "tst_teachingmodel.moc"
