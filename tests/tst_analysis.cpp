#include "aggregation.h"
#include "challenge.h"
#include "comparison.h"

#include <QTest>

#include <cmath>

using namespace studio;

namespace {

Matrix matrix(std::initializer_list<std::initializer_list<float>> rows)
{
    Matrix m(Eigen::Index(rows.size()), Eigen::Index(rows.begin()->size()));
    Eigen::Index r = 0;
    for (const auto &values : rows) {
        Eigen::Index c = 0;
        for (float v : values)
            m(r, c++) = v;
        ++r;
    }
    return m;
}

bool near(const Matrix &a, const Matrix &b, float tolerance = 1e-6f)
{
    return a.rows() == b.rows() && a.cols() == b.cols() && (a - b).cwiseAbs().maxCoeff() <= tolerance;
}

} // namespace

class TestAnalysis : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void rolloutByHand();
    void rolloutRowsStayDistributions();
    void tokensAlignInOrder();
    void divergenceByHand();
    void sameSentenceDivergesByNothing();
    void specialTokensLeaveTheDisplay();
};

void TestAnalysis::rolloutByHand()
{
    // Two tokens, one head per layer.
    // Layer 0: A = [[1, 0], [½, ½]] → Â = ½A + ½I = [[1, 0], [¼, ¾]] (rows already sum to 1).
    // Layer 1: A = [[0, 1], [1, 0]] → Â = [[½, ½], [½, ½]]; R_1 = Â_1 · Â_0 = [[⅝, ⅜], [⅝, ⅜]].
    const std::vector<std::vector<Matrix>> layers{{matrix({{1, 0}, {0.5f, 0.5f}})}, {matrix({{0, 1}, {1, 0}})}};
    const std::vector<Matrix> rollout = attentionRollout(layers);
    QCOMPARE(rollout.size(), size_t(2));
    QVERIFY(near(rollout[0], matrix({{1, 0}, {0.25f, 0.75f}})));
    QVERIFY(near(rollout[1], matrix({{0.625f, 0.375f}, {0.625f, 0.375f}})));
    // Two heads are averaged first: mean of [[1,0],[0,1]] and [[0,1],[1,0]] is ½ everywhere, so
    // Â = [[¾, ¼], [¼, ¾]].
    const std::vector<Matrix> twoHeads = attentionRollout({{matrix({{1, 0}, {0, 1}}), matrix({{0, 1}, {1, 0}})}});
    QVERIFY(near(twoHeads[0], matrix({{0.75f, 0.25f}, {0.25f, 0.75f}})));
    // Streaming gives the same as the whole.
    QVERIFY(near(rolloutStep(rolloutStep({}, layers[0]), layers[1]), rollout[1]));
    // A query that saw no key (a zero row) keeps its own token.
    QVERIFY(near(attentionRollout({{matrix({{0, 0}, {0, 1}})}})[0], matrix({{1, 0}, {0, 1}})));
}

void TestAnalysis::rolloutRowsStayDistributions()
{
    // Random causal attention over 4 layers × 3 heads of 9 tokens: every rollout row sums to 1 and
    // nothing flows from a later token (the product of lower-triangular matrices stays so).
    std::vector<std::vector<Matrix>> layers(4);
    unsigned seed = 7;
    auto random = [&seed] { seed = seed * 1103515245u + 12345u; return float((seed >> 8) % 1000) / 1000.0f + 0.01f; };
    for (auto &heads : layers)
        for (int h = 0; h < 3; ++h) {
            Matrix w = Matrix::Zero(9, 9);
            for (int q = 0; q < 9; ++q) {
                for (int k = 0; k <= q; ++k)
                    w(q, k) = random();
                w.row(q) /= w.row(q).sum();
            }
            heads.push_back(w);
        }
    for (const Matrix &r : attentionRollout(layers)) {
        for (int q = 0; q < 9; ++q) {
            QVERIFY(std::abs(r.row(q).sum() - 1.0f) < 1e-5f);
            for (int k = q + 1; k < 9; ++k)
                QCOMPARE(r(q, k), 0.0f);
        }
    }
}

void TestAnalysis::tokensAlignInOrder()
{
    const QStringList tired = QStringLiteral("The animal didn't cross because it was too tired .").split(u' ');
    const QStringList wide = QStringLiteral("The animal didn't cross because it was too wide .").split(u' ');
    const TokenAlignment alignment = alignTokens(tired, wide);
    QCOMPARE(alignment.size(), size_t(9)); // every token but tired / wide
    QCOMPARE(alignment[8], std::pair(9, 9));
    QCOMPARE(alignment[7], std::pair(7, 7));
    // A token inserted in b shifts the rest; repeated tokens match the earliest.
    QCOMPARE(alignTokens({QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c")}, {QStringLiteral("a"), QStringLiteral("x"), QStringLiteral("b"), QStringLiteral("c")}),
             (TokenAlignment{{0, 0}, {1, 2}, {2, 3}}));
    QCOMPARE(alignTokens({QStringLiteral("x"), QStringLiteral("y"), QStringLiteral("x")}, {QStringLiteral("x"), QStringLiteral("x")}),
             (TokenAlignment{{0, 0}, {2, 1}}));
    QVERIFY(alignTokens({}, {QStringLiteral("a")}).empty());
}

void TestAnalysis::divergenceByHand()
{
    // Aligned by position, the divergence is the mean of the row-by-row JSD:
    // row 0: (1, 0) vs (½, ½) → 0.311278… bits; row 1: equal → 0.
    const Matrix a = matrix({{1, 0}, {0.3f, 0.7f}});
    const Matrix b = matrix({{0.5f, 0.5f}, {0.3f, 0.7f}});
    const HeadDivergence d = headDivergence(a, b, {{0, 0}, {1, 1}});
    QCOMPARE(d.rows, 2);
    QVERIFY(std::abs(d.divergence - 0.3112781244591328 / 2) < 1e-7);
    // Restricted to aligned keys and renormalised: token 1 of a has no partner, so a's row
    // (0.2, 0.6, 0.2) over keys 0 and 2 is (½, ½), b's row (0.5, 0.5) the same: no divergence.
    const Matrix a3 = matrix({{0.2f, 0.6f, 0.2f}, {0.2f, 0.6f, 0.2f}, {0.5f, 0.0f, 0.5f}});
    const Matrix b2 = matrix({{0.5f, 0.5f}, {0.5f, 0.5f}});
    const HeadDivergence restricted = headDivergence(a3, b2, {{0, 0}, {2, 1}});
    QCOMPARE(restricted.rows, 2);
    QVERIFY(restricted.divergence < 1e-7);
    // The aligned difference b − a, in alignment order.
    QVERIFY(near(alignedDifference(a, b, {{0, 0}, {1, 1}}), matrix({{-0.5f, 0.5f}, {0, 0}})));
    // A query that sees none of the aligned keys does not count.
    const HeadDivergence none = headDivergence(matrix({{0, 1}, {0, 1}}), matrix({{1, 0}, {1, 0}}), {{0, 0}});
    QCOMPARE(none.rows, 0);
    QCOMPARE(none.divergence, 0.0);
}

void TestAnalysis::sameSentenceDivergesByNothing()
{
    const Matrix w = matrix({{1, 0, 0}, {0.2f, 0.8f, 0}, {0.1f, 0.1f, 0.8f}});
    const HeadDivergence d = headDivergence(w, w, {{0, 0}, {1, 1}, {2, 2}});
    QCOMPARE(d.rows, 3);
    QCOMPARE(d.divergence, 0.0);
}

void TestAnalysis::specialTokensLeaveTheDisplay()
{
    // [CLS] a b [SEP]: the rows and columns of the special tokens go, each row is renormalised.
    const Matrix w = matrix({{0.4f, 0.2f, 0.2f, 0.2f}, {0.5f, 0.25f, 0.25f, 0.0f}, {0.6f, 0.1f, 0.1f, 0.2f}, {1, 0, 0, 0}});
    const Matrix shown = withoutTokens(w, {false, true, true, false});
    QVERIFY(near(shown, matrix({{0.5f, 0.5f}, {0.5f, 0.5f}})));
    // A row left with no weight stays all zero instead of dividing by zero.
    QVERIFY(near(withoutTokens(matrix({{0, 1}, {0, 1}}), {true, false}), matrix({{0}})));
}

QTEST_GUILESS_MAIN(TestAnalysis)
#include "tst_analysis.moc"
