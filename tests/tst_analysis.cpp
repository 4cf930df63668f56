#include "aggregation.h"
#include "attentionflow.h"
#include "prediction.h"
#include "challenge.h"
#include "comparison.h"

#include <QTest>

#include <cmath>
#include <random>

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
    void valueWeightedByHand();
    void maximumFlowEqualsTheMinimumCut();
    void flowOfOneLayerIsItsMixedAttention();
    void flowByHand();
    void flowMatchesMinimumCutsThroughTheLayers();
    void flowStopsWhenCancelled();
    void topTokensByHand();
    void samplingFiltersAsGenerateDoes();
    void samplingFollowsTheDistribution();
};

namespace {

// The minimum cut between source and sink by trying every set of the other nodes on the source's
// side: the maximum flow's value, computed another way (max-flow min-cut theorem).
double minimumCut(const Eigen::MatrixXd &capacity, int source, int sink)
{
    const int n = int(capacity.rows());
    std::vector<int> others;
    for (int v = 0; v < n; ++v)
        if (v != source && v != sink)
            others.push_back(v);
    double best = std::numeric_limits<double>::infinity();
    for (quint64 mask = 0; mask < (quint64(1) << others.size()); ++mask) {
        std::vector<bool> sourceSide(size_t(n), false);
        sourceSide[size_t(source)] = true;
        for (size_t b = 0; b < others.size(); ++b)
            sourceSide[size_t(others[b])] = (mask >> b) & 1;
        double cut = 0;
        for (int u = 0; u < n; ++u)
            for (int v = 0; v < n; ++v)
                if (sourceSide[size_t(u)] && !sourceSide[size_t(v)])
                    cut += capacity(u, v);
        best = std::min(best, cut);
    }
    return best;
}

// A random attention map: rows are softmaxes of random logits, causal when asked.
Matrix randomAttention(int tokens, std::mt19937 &generator, bool causal)
{
    std::normal_distribution<float> logit(0.0f, 2.0f);
    Matrix a = Matrix::Zero(tokens, tokens);
    for (int i = 0; i < tokens; ++i) {
        const int keys = causal ? i + 1 : tokens;
        for (int j = 0; j < keys; ++j)
            a(i, j) = std::exp(logit(generator));
        a.row(i) /= a.row(i).sum();
    }
    return a;
}

} // namespace

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

void TestAnalysis::valueWeightedByHand()
{
    // ‖α_ij f(x_j)‖ = α_ij ‖f(x_j)‖: column j scaled by the size of token j's value.
    const Matrix w = matrix({{1, 0}, {0.25f, 0.75f}});
    Vector norms(2);
    norms << 2.0f, 0.5f;
    QVERIFY(near(valueWeighted(w, norms), matrix({{2, 0}, {0.5f, 0.375f}})));
    QCOMPARE(valueWeighted(w, Vector::Ones(3)).size(), Eigen::Index(0));
}

void TestAnalysis::maximumFlowEqualsTheMinimumCut()
{
    // The classic network (Cormen et al.): 23.
    Eigen::MatrixXd c = Eigen::MatrixXd::Zero(6, 6);
    c(0, 1) = 16; c(0, 2) = 13; c(1, 3) = 12; c(2, 1) = 4; c(2, 4) = 14; c(3, 2) = 9; c(3, 5) = 20; c(4, 3) = 7; c(4, 5) = 4;
    QCOMPARE(maximumFlow(c, 0, 5), 23.0);
    QCOMPARE(minimumCut(c, 0, 5), 23.0);
    // Random graphs with fractional capacities, against every cut.
    std::mt19937 generator(7);
    std::uniform_real_distribution<double> capacity(0.0, 1.0);
    std::bernoulli_distribution edge(0.4);
    for (int trial = 0; trial < 40; ++trial) {
        Eigen::MatrixXd g = Eigen::MatrixXd::Zero(8, 8);
        for (int u = 0; u < 8; ++u)
            for (int v = 0; v < 8; ++v)
                if (u != v && edge(generator))
                    g(u, v) = capacity(generator);
        QVERIFY2(std::abs(maximumFlow(g, 0, 7) - minimumCut(g, 0, 7)) <= 1e-9, qPrintable(QString::number(trial)));
    }
}

void TestAnalysis::flowOfOneLayerIsItsMixedAttention()
{
    // One layer: the only path from token i to input j is the edge Â(i, j), and a row of Â sums to 1.
    std::mt19937 generator(3);
    const std::vector<Matrix> heads = {randomAttention(5, generator, true), randomAttention(5, generator, true)};
    const auto flow = attentionFlow({heads});
    QVERIFY(flow && flow->size() == 1);
    QVERIFY(near(flow->front(), attentionRollout({heads}).front(), 1e-6f));
}

void TestAnalysis::flowByHand()
{
    // Two tokens, two layers, Â given. From token 0 at the top: to input 0 through (1,0) min(½, 1) = ½
    // and through (1,1) min(½, ½) = ½, so 1; to input 1 only through (1,1): min(½, ½) = ½.
    // Row [1, ½] / 1½ = [⅔, ⅓]. From token 1 (Â₁ row [0, 1]): to input 0 min(1, ½) = ½, to
    // input 1 min(1, ½) = ½: [½, ½]. Layer 0 alone is Â₀ itself.
    Eigen::MatrixXd layer0(2, 2), layer1(2, 2);
    layer0 << 1.0, 0.0, 0.5, 0.5;
    layer1 << 0.5, 0.5, 0.0, 1.0;
    const auto flow = attentionFlowFromMixed({layer0, layer1});
    QVERIFY(flow && flow->size() == 2);
    QVERIFY(near((*flow)[0], matrix({{1, 0}, {0.5f, 0.5f}})));
    QVERIFY(near((*flow)[1], matrix({{2.0f / 3, 1.0f / 3}, {0.5f, 0.5f}})));
}

void TestAnalysis::flowMatchesMinimumCutsThroughTheLayers()
{
    // Three layers of four tokens (16 nodes): each flow against the minimum cut of the same graph,
    // then rows normalised by hand.
    std::mt19937 generator(11);
    const int tokens = 4;
    std::vector<std::vector<Matrix>> layers;
    for (int l = 0; l < 3; ++l)
        layers.push_back({randomAttention(tokens, generator, l != 1), randomAttention(tokens, generator, true)});
    const auto flow = attentionFlow(layers);
    QVERIFY(flow && flow->size() == 3);
    const int nodes = 4 * tokens;
    Eigen::MatrixXd capacity = Eigen::MatrixXd::Zero(nodes, nodes);
    for (int l = 0; l < 3; ++l) {
        const Eigen::MatrixXd mixed = residualMixed(layers[size_t(l)]);
        for (int i = 0; i < tokens; ++i)
            for (int j = 0; j < tokens; ++j)
                capacity((l + 1) * tokens + i, l * tokens + j) = mixed(i, j);
    }
    for (int l = 0; l < 3; ++l) {
        for (int i = 0; i < tokens; ++i) {
            Eigen::VectorXd row(tokens);
            for (int j = 0; j < tokens; ++j)
                row[j] = minimumCut(capacity, (l + 1) * tokens + i, j);
            row /= row.sum();
            for (int j = 0; j < tokens; ++j)
                QVERIFY2(std::abs((*flow)[size_t(l)](i, j) - row[j]) <= 1e-6, qPrintable(QStringLiteral("%1 %2 %3").arg(l).arg(i).arg(j)));
            QVERIFY(std::abs((*flow)[size_t(l)].row(i).sum() - 1.0f) <= 1e-6f);
        }
    }
    // The cost grows as T⁴ · L(L+1)/2.
    QCOMPARE(attentionFlowCost(3, 4), 256.0 * 6);
}

void TestAnalysis::flowStopsWhenCancelled()
{
    std::mt19937 generator(5);
    std::vector<std::vector<Matrix>> layers(3, std::vector<Matrix>{randomAttention(6, generator, true)});
    std::atomic<bool> cancel(false);
    int reports = 0, lastDone = 0, total = 0;
    FlowOptions options;
    options.cancel = &cancel;
    options.progress = [&](int done, int all) {
        ++reports;
        QVERIFY(done > lastDone);
        lastDone = done;
        total = all;
        if (reports == 4)
            cancel = true;
    };
    QVERIFY(!attentionFlow(layers, options));
    QCOMPARE(reports, 4);
    QCOMPARE(total, 3 * 36);
    QCOMPARE(lastDone, 4 * 6);
}

void TestAnalysis::topTokensByHand()
{
    RowVector logits(5);
    logits << 1.0f, 3.0f, 2.0f, 3.0f, std::numeric_limits<float>::quiet_NaN();
    const std::vector<TokenChoice> top = topTokens(logits, 3);
    QCOMPARE(top.size(), size_t(3));
    QCOMPARE(top[0].id, 1); // a tie goes to the lower id
    QCOMPARE(top[1].id, 3);
    QCOMPARE(top[2].id, 2);
    // Softmax over the finite logits: e³ / (e + 2e³ + e²).
    const double z = std::exp(1.0) + 2 * std::exp(3.0) + std::exp(2.0);
    QVERIFY(std::abs(top[0].probability - std::exp(3.0) / z) <= 1e-12);
    QVERIFY(std::abs(top[2].probability - std::exp(2.0) / z) <= 1e-12);
    QCOMPARE(greedyToken(logits), 1);
    QCOMPARE(greedyToken(RowVector()), -1);
    // Huge logits stay finite.
    RowVector huge(2);
    huge << 1e30f, -1e30f;
    const std::vector<TokenChoice> extreme = topTokens(huge, 2);
    QCOMPARE(extreme[0].probability, 1.0);
    QCOMPARE(extreme[1].probability, 0.0);
}

void TestAnalysis::samplingFiltersAsGenerateDoes()
{
    // Probabilities ½, 0.3, 0.15, 0.05 at τ = 1.
    RowVector logits(4);
    logits << std::log(0.15f), std::log(0.5f), std::log(0.05f), std::log(0.3f);
    auto ids = [](const std::vector<TokenChoice> &d) {
        std::vector<int> out;
        for (const TokenChoice &c : d)
            out.push_back(c.id);
        return out;
    };
    // Everything, most likely first.
    std::vector<TokenChoice> all = samplingDistribution(logits, {});
    QCOMPARE(ids(all), (std::vector<int>{1, 3, 0, 2}));
    QVERIFY(std::abs(all[0].probability - 0.5) <= 1e-6);
    // Top-p 0.7: transformers drops the tokens whose ascending cumulative mass is ≤ 1 − p = 0.3
    // (0.05, then 0.2): ½ and 0.3 stay, renormalised to ⅝ and ⅜.
    std::vector<TokenChoice> nucleus = samplingDistribution(logits, {1.0, 0, 0.7});
    QCOMPARE(ids(nucleus), (std::vector<int>{1, 3}));
    QVERIFY(std::abs(nucleus[0].probability - 0.625) <= 1e-6);
    QVERIFY(std::abs(nucleus[1].probability - 0.375) <= 1e-6);
    // Top-k 3 at τ = 2: p^(1/2) over the three, renormalised.
    std::vector<TokenChoice> warm = samplingDistribution(logits, {2.0, 3, 1.0});
    QCOMPARE(ids(warm), (std::vector<int>{1, 3, 0}));
    const double z = std::sqrt(0.5) + std::sqrt(0.3) + std::sqrt(0.15);
    QVERIFY(std::abs(warm[0].probability - std::sqrt(0.5) / z) <= 1e-6);
    QVERIFY(std::abs(warm[2].probability - std::sqrt(0.15) / z) <= 1e-6);
    // A tiny p keeps the most likely token alone.
    QCOMPARE(ids(samplingDistribution(logits, {1.0, 0, 0.01})), (std::vector<int>{1}));
    // A very low temperature puts all the mass on the most likely token without overflowing.
    std::vector<TokenChoice> cold = samplingDistribution(logits, {1e-6, 0, 1.0});
    QCOMPARE(cold[0].id, 1);
    QCOMPARE(cold[0].probability, 1.0);
    QCOMPARE(cold.size(), size_t(1)); // tokens of zero probability are never drawn
}

void TestAnalysis::samplingFollowsTheDistribution()
{
    RowVector logits(3);
    logits << std::log(0.6f), std::log(0.3f), std::log(0.1f);
    const std::vector<TokenChoice> d = samplingDistribution(logits, {});
    // The same seed draws the same token.
    QCOMPARE(sampleToken(d, 42), sampleToken(d, 42));
    // Over 20000 seeds, each token's share is its probability within four standard errors.
    std::vector<int> counts(3, 0);
    const int draws = 20000;
    for (int seed = 0; seed < draws; ++seed)
        ++counts[size_t(sampleToken(d, quint64(seed)))];
    const double expected[] = {0.6, 0.3, 0.1};
    for (int t = 0; t < 3; ++t) {
        const double share = double(counts[size_t(t)]) / draws;
        const double error = std::sqrt(expected[t] * (1 - expected[t]) / draws);
        QVERIFY2(std::abs(share - expected[t]) <= 4 * error, qPrintable(QStringLiteral("%1: %2").arg(t).arg(share)));
    }
    QCOMPARE(sampleToken({}, 1), -1);
}

QTEST_GUILESS_MAIN(TestAnalysis)
#include "tst_analysis.moc"
