#include "challenge.h"

#include <QTest>

#include <cmath>
#include <limits>

using namespace studio;

namespace {

RowVector row(std::initializer_list<float> values)
{
    RowVector r(Eigen::Index(values.size()));
    Eigen::Index i = 0;
    for (float v : values)
        r[i++] = v;
    return r;
}

Matrix matrix(std::initializer_list<std::initializer_list<float>> rows)
{
    Matrix m(Eigen::Index(rows.size()), Eigen::Index(rows.begin()->size()));
    Eigen::Index r = 0;
    for (const auto &values : rows)
        m.row(r++) = row(values);
    return m;
}

constexpr float kHidden = -std::numeric_limits<float>::infinity();

} // namespace

class TestChallenge : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void jensenShannonByHand();
    void previousTokenTargetStartsOnItself();
    void sameWordTargetFollowsTheWordAndTheMask();
    void hiddenTargetSpreadsOverVisibleKeys();
    void scoreIsZeroOnTheTargetAndOneWhenDisjoint();
    void nonFiniteWeightsScoreAsFarAsCanBe();
    void patternNamesRoundTrip();
};

void TestChallenge::jensenShannonByHand()
{
    // Identical distributions: 0. Disjoint: 1 bit.
    QCOMPARE(jensenShannonBits(row({0.25f, 0.75f}), row({0.25f, 0.75f})), 0.0);
    QCOMPARE(jensenShannonBits(row({1, 0}), row({0, 1})), 1.0);
    // p = (1, 0), q = (½, ½), m = (¾, ¼):
    // ½·log2(1/0.75) + ½·(½·log2(0.5/0.75) + ½·log2(0.5/0.25)) = 0.311278...
    const double expected = 0.5 * std::log2(1 / 0.75) + 0.5 * (0.5 * std::log2(0.5 / 0.75) + 0.5 * std::log2(0.5 / 0.25));
    QVERIFY(std::abs(expected - 0.3112781244591328) < 1e-15);
    QVERIFY(std::abs(jensenShannonBits(row({1, 0}), row({0.5f, 0.5f})) - expected) < 1e-7);
    // Symmetric.
    QCOMPARE(jensenShannonBits(row({0.5f, 0.5f}), row({1, 0})), jensenShannonBits(row({1, 0}), row({0.5f, 0.5f})));
}

void TestChallenge::previousTokenTargetStartsOnItself()
{
    const Matrix target = targetWeights(TargetPattern::PreviousToken, {QStringLiteral("The"), QStringLiteral("cat"), QStringLiteral("sat")});
    QCOMPARE(target, matrix({{1, 0, 0}, {1, 0, 0}, {0, 1, 0}}));
    QCOMPARE(targetWeights(TargetPattern::FirstToken, {QStringLiteral("a"), QStringLiteral("b")}), matrix({{1, 0}, {1, 0}}));
    QCOMPARE(targetWeights(TargetPattern::Self, {QStringLiteral("a"), QStringLiteral("b")}), matrix({{1, 0}, {0, 1}}));
}

void TestChallenge::sameWordTargetFollowsTheWordAndTheMask()
{
    const QStringList tokens = {QStringLiteral("The"), QStringLiteral("cat"), QStringLiteral("the")};
    // Case-folded: "The" and "the" are one word.
    QCOMPARE(targetWeights(TargetPattern::SameWord, tokens), matrix({{0.5f, 0, 0.5f}, {0, 1, 0}, {0.5f, 0, 0.5f}}));
    // Causal: the first "The" cannot see the later "the".
    const Matrix causal = matrix({{0, kHidden, kHidden}, {0, 0, kHidden}, {0, 0, 0}});
    QCOMPARE(targetWeights(TargetPattern::SameWord, tokens, causal), matrix({{1, 0, 0}, {0, 1, 0}, {0.5f, 0, 0.5f}}));
}

void TestChallenge::hiddenTargetSpreadsOverVisibleKeys()
{
    // Key 0 hidden from every query: "first token" cannot be met; the row spreads over what is seen.
    const Matrix masked = matrix({{kHidden, 0, 0}, {kHidden, 0, 0}, {kHidden, kHidden, kHidden}});
    const Matrix target = targetWeights(TargetPattern::FirstToken, {QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c")}, masked);
    QCOMPARE(target, matrix({{0, 0.5f, 0.5f}, {0, 0.5f, 0.5f}, {0, 0, 0}}));
    // A row with no visible key has no target and no score; the mean is over the others.
    const ChallengeScore score = scoreAgainstTarget(matrix({{0, 0.5f, 0.5f}, {0, 1, 0}, {0, 0, 0}}), target);
    QCOMPARE(score.rows.size(), size_t(3));
    QCOMPARE(score.rows[0], 0.0);
    QVERIFY(std::isnan(score.rows[2]));
    QVERIFY(std::abs(score.rows[1] - 0.3112781244591328) < 1e-7);
    QVERIFY(std::abs(score.mean - 0.3112781244591328 / 2) < 1e-7);
    QVERIFY(!score.reached);
}

void TestChallenge::scoreIsZeroOnTheTargetAndOneWhenDisjoint()
{
    const Matrix target = targetWeights(TargetPattern::PreviousToken, {QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c")});
    const ChallengeScore exact = scoreAgainstTarget(target, target);
    QCOMPARE(exact.mean, 0.0);
    QVERIFY(exact.reached);
    const ChallengeScore opposite = scoreAgainstTarget(matrix({{0, 0, 1}, {0, 0, 1}, {0, 0, 1}}), target);
    QCOMPARE(opposite.mean, 1.0);
    QVERIFY(!opposite.reached);
    // Close but not exact: 0.9 on the target in every row. Per row JSD of (0.9, 0.1) vs (1, 0).
    const ChallengeScore close = scoreAgainstTarget(matrix({{0.9f, 0.1f, 0}, {0.9f, 0.1f, 0}, {0.1f, 0.9f, 0}}), target);
    const double m0 = 0.95, m1 = 0.05;
    const double perRow = 0.5 * (0.9 * std::log2(0.9 / m0) + 0.1 * std::log2(0.1 / m1)) + 0.5 * std::log2(1 / m0);
    QVERIFY(std::abs(close.mean - perRow) < 1e-6);
    QCOMPARE(close.reached, perRow <= kChallengeReachedBits);
    QVERIFY(close.reached); // about 0.036 bits
    // Shapes that do not match give no score rather than reading out of bounds.
    QVERIFY(scoreAgainstTarget(Matrix::Zero(2, 2), target).rows.empty());
}

void TestChallenge::nonFiniteWeightsScoreAsFarAsCanBe()
{
    const Matrix target = targetWeights(TargetPattern::Self, {QStringLiteral("a"), QStringLiteral("b")});
    Matrix weights = target;
    weights(1, 0) = std::numeric_limits<float>::quiet_NaN();
    const ChallengeScore score = scoreAgainstTarget(weights, target);
    QCOMPARE(score.rows[0], 0.0);
    QCOMPARE(score.rows[1], 1.0);
    QCOMPARE(score.mean, 0.5);
}

void TestChallenge::patternNamesRoundTrip()
{
    for (TargetPattern pattern : kTargetPatterns) {
        QVERIFY(!targetPatternName(pattern).isEmpty());
        QCOMPARE(targetPatternFromName(targetPatternName(pattern)), std::optional<TargetPattern>(pattern));
    }
    QCOMPARE(targetPatternFromName(QString()), std::optional<TargetPattern>(TargetPattern::None));
    QVERIFY(!targetPatternFromName(QStringLiteral("diagonal")));
}

QTEST_GUILESS_MAIN(TestChallenge)
#include "tst_challenge.moc"
