#include "attention.h"
#include "embedding.h"
#include "teachingmodel.h"
#include "testsupport.h"

#include <QTest>

#include <cmath>
#include <limits>

using namespace studio;
using studio::testing::maxAbsDifference;

namespace {

// Tolerance for float stages computed from small integers: a few float ulps of values ≤ 10.
constexpr double kTolerance = 1e-6;

Matrix matrix(int rows, int cols, std::initializer_list<float> values)
{
    Matrix m(rows, cols);
    auto it = values.begin();
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c)
            m(r, c) = *it++;
    return m;
}


// The hand-computed example: T = 2 tokens, d_model = d_head = 2.
//   X   = [1 2; 3 0]
//   W_Q = I, W_K = [0 1; 1 0] (swap), W_V = [1 0; 0 2]
HeadWeights handHead()
{
    HeadWeights head;
    head.name = QStringLiteral("hand");
    head.wQ = matrix(2, 2, {1, 0, 0, 1});
    head.wK = matrix(2, 2, {0, 1, 1, 0});
    head.wV = matrix(2, 2, {1, 0, 0, 2});
    return head;
}

Matrix handInput()
{
    return matrix(2, 2, {1, 2, 3, 0});
}

Matrix randomMatrix(int rows, int cols, std::uint64_t seed, double scale = 1.0)
{
    SplitMix64 rng(seed);
    Matrix m(rows, cols);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c)
            m(r, c) = float(rng.bell() * scale);
    return m;
}

HeadWeights randomWeights(int dModel, int dHead, std::uint64_t seed)
{
    HeadWeights head;
    head.wQ = randomMatrix(dModel, dHead, seed);
    head.wK = randomMatrix(dModel, dHead, seed + 1);
    head.wV = randomMatrix(dModel, dHead, seed + 2);
    return head;
}

void verifyRowsSumToOne(const Matrix &weights)
{
    for (Eigen::Index i = 0; i < weights.rows(); ++i) {
        const double sum = weights.row(i).cast<double>().sum();
        QVERIFY2(std::abs(sum - 1.0) < 1e-6, qPrintable(QStringLiteral("row %1 sums to %2").arg(i).arg(sum, 0, 'g', 10)));
        QVERIFY((weights.row(i).array() >= 0).all());
    }
}

} // namespace

class TestAttention : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void handComputedStages();
    void handComputedWithoutScaling();
    void handComputedCausal();
    void hiddenKeysCombineWithTheCausalMask();
    void handComputedTemperature();
    void rowsSumToOne_data();
    void rowsSumToOne();
    void causalUpperTriangleIsExactlyZero();
    void maskedKeysGetExactlyZero();
    void everyKeyMaskedGivesZeroRow();
    void scalingDividesByRootDHead();
    void lowTemperatureApproachesArgmax();
    void highTemperatureApproachesUniform();
    void extremeLogitsStayFinite();
    void entropyInBits();
    void aggregationsOverHeads();
    void maskModeNamesRoundTrip();
    void kernelGivesTheSameBitsWithAndWithoutStages_data();
    void kernelGivesTheSameBitsWithAndWithoutStages();
    void temperatureLimitIsTheArgmax();
    void projectionNamesRoundTrip();
};

void TestAttention::handComputedStages()
{
    AttentionSettings settings; // no mask, τ = 1, scaled
    const HeadTrace t = computeHead(handInput(), handHead(), settings);
    // q = X I = [1 2; 3 0];  k = X swap = [2 1; 0 3];  v = X diag(1, 2) = [1 4; 3 0]
    COMPARE_MATRIX(t.q, matrix(2, 2, {1, 2, 3, 0}), kTolerance);
    COMPARE_MATRIX(t.k, matrix(2, 2, {2, 1, 0, 3}), kTolerance);
    COMPARE_MATRIX(t.v, matrix(2, 2, {1, 4, 3, 0}), kTolerance);
    // scores = q kᵀ: [1·2+2·1, 1·0+2·3; 3·2+0·1, 3·0+0·3] = [4 6; 6 0]
    COMPARE_MATRIX(t.scores, matrix(2, 2, {4, 6, 6, 0}), kTolerance);
    // scaled = scores / √2
    const float r2 = float(std::sqrt(2.0));
    COMPARE_MATRIX(t.scaled, matrix(2, 2, {4 / r2, 6 / r2, 6 / r2, 0}), kTolerance);
    COMPARE_MATRIX(t.masked, t.scaled, kTolerance);
    // Row 0: softmax(4/√2, 6/√2): the second key wins by 2/√2 = √2, so w01 = 1/(1+e^−√2).
    // Row 1: softmax(6/√2, 0): w10 = 1/(1+e^−6/√2).
    const double w01 = 1.0 / (1.0 + std::exp(-std::sqrt(2.0)));
    const double w10 = 1.0 / (1.0 + std::exp(-6.0 / std::sqrt(2.0)));
    COMPARE_MATRIX(t.weights, matrix(2, 2, {float(1 - w01), float(w01), float(w10), float(1 - w10)}), kTolerance);
    // The same numbers worked out with a calculator.
    QVERIFY(std::abs(t.weights(0, 1) - 0.8044297) < 1e-6);
    QVERIFY(std::abs(t.weights(1, 0) - 0.9858337) < 1e-6);
    // output = weights v: row 0 = (1−w01)[1 4] + w01 [3 0]; row 1 = w10 [1 4] + (1−w10) [3 0]
    COMPARE_MATRIX(t.output, matrix(2, 2, {float((1 - w01) + 3 * w01), float(4 * (1 - w01)),
                                           float(w10 + 3 * (1 - w10)), float(4 * w10)}), kTolerance);
}

void TestAttention::handComputedWithoutScaling()
{
    AttentionSettings settings;
    settings.scale = false;
    const HeadTrace t = computeHead(handInput(), handHead(), settings);
    COMPARE_MATRIX(t.scaled, t.scores, kTolerance);
    // Row 0: softmax(4, 6) → w01 = 1/(1+e^−2)
    QVERIFY(std::abs(t.weights(0, 1) - 1.0 / (1.0 + std::exp(-2.0))) < kTolerance);
}

void TestAttention::handComputedCausal()
{
    AttentionSettings settings;
    settings.mask = MaskMode::Causal;
    const HeadTrace t = computeHead(handInput(), handHead(), settings);
    // The first query may only see itself; the second sees both, as without a mask.
    QVERIFY(std::isinf(t.masked(0, 1)) && t.masked(0, 1) < 0);
    QCOMPARE(t.masked(0, 0), t.scaled(0, 0));
    QCOMPARE(t.weights(0, 0), 1.0f);
    QVERIFY(t.weights(0, 1) == 0.0f);
    QVERIFY(std::abs(t.weights(1, 0) - 1.0 / (1.0 + std::exp(-6.0 / std::sqrt(2.0)))) < kTolerance);
    // output row 0 = v row 0
    COMPARE_MATRIX(t.output.row(0), matrix(1, 2, {1, 4}), kTolerance);
}

void TestAttention::handComputedTemperature()
{
    AttentionSettings settings;
    settings.temperature = 2.0;
    const HeadTrace t = computeHead(handInput(), handHead(), settings);
    // Row 0: softmax((4/√2)/2, (6/√2)/2): w01 = 1/(1+e^−√2/2)
    QVERIFY(std::abs(t.weights(0, 1) - 1.0 / (1.0 + std::exp(-std::sqrt(2.0) / 2))) < kTolerance);
    // Temperature acts after the mask and scaling: scaled itself is unchanged.
    QCOMPARE(t.scaled(0, 1), float(6 / std::sqrt(2.0)));
}

void TestAttention::rowsSumToOne_data()
{
    QTest::addColumn<int>("tokens");
    QTest::addColumn<int>("mask");
    QTest::addColumn<double>("temperature");
    for (int tokens : {1, 2, 7, 40}) {
        for (int mask : {0, 1}) {
            for (double tau : {0.05, 1.0, 30.0}) {
                QTest::addRow("T=%d mask=%d tau=%g", tokens, mask, tau) << tokens << mask << tau;
            }
        }
    }
}

void TestAttention::rowsSumToOne()
{
    QFETCH(int, tokens);
    QFETCH(int, mask);
    QFETCH(double, temperature);
    AttentionSettings settings;
    settings.mask = mask ? MaskMode::Causal : MaskMode::None;
    settings.temperature = temperature;
    const HeadTrace t = computeHead(randomMatrix(tokens, 8, 11, 2.0), randomWeights(8, 4, 5), settings);
    verifyRowsSumToOne(t.weights);
    QVERIFY(t.output.allFinite());
    QCOMPARE(t.output.rows(), tokens);
}

void TestAttention::causalUpperTriangleIsExactlyZero()
{
    AttentionSettings settings;
    settings.mask = MaskMode::Causal;
    const HeadTrace t = computeHead(randomMatrix(16, 8, 3, 3.0), randomWeights(8, 4, 9), settings);
    for (int i = 0; i < 16; ++i) {
        for (int j = i + 1; j < 16; ++j) {
            QVERIFY(t.weights(i, j) == 0.0f);
            QVERIFY(std::isinf(t.masked(i, j)) && t.masked(i, j) < 0);
        }
        QVERIFY(std::isfinite(t.masked(i, i)));
    }
    QCOMPARE(t.weights(0, 0), 1.0f);
}

void TestAttention::maskedKeysGetExactlyZero()
{
    AttentionSettings settings;
    settings.mask = MaskMode::Keys;
    settings.maskedKeys = {1, 3, 99, -4}; // out-of-range positions are ignored
    const HeadTrace t = computeHead(randomMatrix(5, 8, 4), randomWeights(8, 4, 2), settings);
    for (int i = 0; i < 5; ++i) {
        QVERIFY(t.weights(i, 1) == 0.0f);
        QVERIFY(t.weights(i, 3) == 0.0f);
        QVERIFY(t.weights(i, 0) > 0.0f);
    }
    verifyRowsSumToOne(t.weights);
}

void TestAttention::hiddenKeysCombineWithTheCausalMask()
{
    AttentionSettings settings;
    settings.mask = MaskMode::Causal;
    settings.maskedKeys = {1};
    const KeyVisibility visibility = keyVisibility(settings, 4);
    QVERIFY(visibility.causal);
    QCOMPARE(visibility.hiddenKeys, (std::vector<char>{0, 1, 0, 0}));
    const HeadTrace t = computeHead(randomMatrix(4, 8, 4), randomWeights(8, 4, 2), settings);
    // Row 2 sees keys 0 and 2: not 1 (hidden), not 3 (in its future).
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j)
            if (j == 1 || j > i)
                QVERIFY2(t.weights(i, j) == 0.0f, qPrintable(QStringLiteral("(%1, %2)").arg(i).arg(j)));
            else
                QVERIFY(t.weights(i, j) > 0.0f);
    // Hand-checked: row 2 is the softmax of its two visible scaled scores.
    const double a = t.scaled(2, 0), b = t.scaled(2, 2);
    QVERIFY(std::abs(t.weights(2, 0) - 1.0 / (1.0 + std::exp(b - a))) < 1e-6);
    verifyRowsSumToOne(t.weights);
}

void TestAttention::everyKeyMaskedGivesZeroRow()
{
    AttentionSettings settings;
    settings.mask = MaskMode::Keys;
    settings.maskedKeys = {0, 1, 2};
    const HeadTrace t = computeHead(randomMatrix(3, 4, 4), randomWeights(4, 2, 2), settings);
    QVERIFY(t.weights.allFinite());
    QCOMPARE(double(t.weights.cwiseAbs().maxCoeff()), 0.0);
    QCOMPARE(double(t.output.cwiseAbs().maxCoeff()), 0.0);
    QCOMPARE(double(t.entropy.cwiseAbs().maxCoeff()), 0.0);
}

void TestAttention::scalingDividesByRootDHead()
{
    for (int dHead : {1, 4, 9, 16}) {
        AttentionSettings settings;
        const HeadTrace t = computeHead(randomMatrix(6, 16, 8), randomWeights(16, dHead, 1), settings);
        const Matrix expected = t.scores / std::sqrt(float(dHead));
        QVERIFY(maxAbsDifference(t.scaled, expected) <= 1e-5 * (1.0 + double(t.scores.cwiseAbs().maxCoeff())));
        settings.scale = false;
        QCOMPARE(computeHead(randomMatrix(6, 16, 8), randomWeights(16, dHead, 1), settings).scaled, t.scores);
    }
}

void TestAttention::lowTemperatureApproachesArgmax()
{
    const Matrix logits = matrix(2, 4, {0.5f, 2.0f, 1.9f, -3.0f, 7.0f, 7.5f, 1.0f, 0.0f});
    double previous = 0;
    for (double tau : {1.0, 0.1, 0.01, 0.001}) {
        const Matrix w = softmaxRows(logits, tau);
        QVERIFY(w(0, 1) >= previous); // sharper and sharper
        previous = w(0, 1);
        QVERIFY(w.allFinite());
    }
    const Matrix w = softmaxRows(logits, 0.001);
    QVERIFY(w(0, 1) > 1.0f - 1e-6f); // 0.1 apart at τ = 0.001 is e^100 to 1
    QVERIFY(w(1, 1) > 1.0f - 1e-6f);
}

void TestAttention::highTemperatureApproachesUniform()
{
    const Matrix logits = matrix(1, 4, {0.5f, 2.0f, 1.9f, -3.0f});
    const Matrix w = softmaxRows(logits, 1e6);
    for (int j = 0; j < 4; ++j)
        QVERIFY(std::abs(w(0, j) - 0.25f) < 1e-5f);
    // τ = 1e3 is already close; the spread shrinks as τ grows.
    const Matrix w3 = softmaxRows(logits, 1e3);
    QVERIFY((w3.array() - 0.25f).abs().maxCoeff() > (w.array() - 0.25f).abs().maxCoeff());
}

void TestAttention::extremeLogitsStayFinite()
{
    const Matrix logits = matrix(3, 3, {1e4f, -1e4f, 0.0f, -1e4f, -1e4f, -1e4f, 1e4f, 1e4f, -1e4f});
    for (double tau : {1e-3, 1.0, 1e3}) {
        const Matrix w = softmaxRows(logits, tau);
        QVERIFY(w.allFinite());
        verifyRowsSumToOne(w);
    }
    const Matrix w = softmaxRows(logits, 1.0);
    QCOMPARE(w(0, 0), 1.0f);
    QCOMPARE(w(0, 1), 0.0f);
    QVERIFY(std::abs(w(1, 0) - 1.0f / 3) < 1e-7f); // equal logits: uniform, however large
    QVERIFY(std::abs(w(2, 0) - 0.5f) < 1e-7f);
    // Through a head too: huge weights give huge but finite scores.
    HeadWeights head = handHead();
    head.wQ *= 1e2f;
    head.wK *= 1e2f;
    const HeadTrace t = computeHead(handInput(), head, AttentionSettings{});
    QVERIFY(t.weights.allFinite());
    QVERIFY(t.output.allFinite());
}

void TestAttention::entropyInBits()
{
    const Matrix w = matrix(3, 4, {0.25f, 0.25f, 0.25f, 0.25f, 1, 0, 0, 0, 0.5f, 0.5f, 0, 0});
    const Vector h = rowEntropyBits(w);
    QCOMPARE(h[0], 2.0f); // uniform over 4 keys: log₂ 4
    QCOMPARE(h[1], 0.0f); // certain
    QCOMPARE(h[2], 1.0f); // a coin flip
}

void TestAttention::aggregationsOverHeads()
{
    const Matrix a = matrix(2, 2, {0.2f, 0.8f, 1.0f, 0.0f});
    const Matrix b = matrix(2, 2, {0.6f, 0.4f, 0.5f, 0.5f});
    COMPARE_MATRIX(meanOverHeads({a, b}), matrix(2, 2, {0.4f, 0.6f, 0.75f, 0.25f}), kTolerance);
    COMPARE_MATRIX(maxOverHeads({a, b}), matrix(2, 2, {0.6f, 0.8f, 1.0f, 0.5f}), kTolerance);
    QCOMPARE(meanOverHeads({}).size(), 0);
    // The mean of attention matrices is an attention matrix: rows still sum to one.
    verifyRowsSumToOne(meanOverHeads({a, b}));
}

void TestAttention::maskModeNamesRoundTrip()
{
    for (MaskMode mode : {MaskMode::None, MaskMode::Causal, MaskMode::Keys}) {
        const std::optional<MaskMode> parsed = maskModeFromName(maskModeName(mode));
        QVERIFY(parsed.has_value());
        QCOMPARE(*parsed, mode);
    }
    QVERIFY(!maskModeFromName(QStringLiteral("sideways")).has_value());
}

void TestAttention::kernelGivesTheSameBitsWithAndWithoutStages_data()
{
    QTest::addColumn<bool>("causal");
    QTest::addColumn<bool>("hideKeys");
    QTest::addColumn<double>("temperature");
    QTest::addColumn<int>("tokens");
    QTest::newRow("plain") << false << false << 1.0 << 9;
    QTest::newRow("causal") << true << false << 1.0 << 9;
    QTest::newRow("hidden keys, τ 0.3") << false << true << 0.3 << 9;
    QTest::newRow("causal and hidden keys, τ 4") << true << true << 4.0 << 9;
    // Causal rows beyond one 64-query block: without stages only the blocks on and below the
    // diagonal are multiplied.
    QTest::newRow("causal, 150 tokens") << true << false << 1.0 << 150;
    QTest::newRow("causal and hidden keys, 130 tokens, τ 0.5") << true << true << 0.5 << 130;
}

void TestAttention::kernelGivesTheSameBitsWithAndWithoutStages()
{
    // The heatmap reads weights computed without stages; the step-through reads them with every
    // stage kept. They must be the same numbers, bit for bit.
    QFETCH(bool, causal);
    QFETCH(bool, hideKeys);
    QFETCH(double, temperature);
    QFETCH(int, tokens);
    const QStringList sentence{QStringLiteral("the"), QStringLiteral("cat"), QStringLiteral("sat"), QStringLiteral("on"),
                               QStringLiteral("the"), QStringLiteral("mat"), QStringLiteral("and"), QStringLiteral("it"),
                               QStringLiteral("slept")};
    QStringList words;
    for (int i = 0; i < tokens; ++i)
        words.push_back(sentence[i % sentence.size()] + (i < sentence.size() ? QString() : QString::number(i)));
    const Matrix x = teachingInput(words, TeachingConfig{16, 8, 1, true});
    const HeadWeights head = randomHead(16, 8, 7);
    KernelOptions options;
    options.scale = 1.0f / std::sqrt(8.0f);
    options.temperature = temperature;
    options.visibility.causal = causal;
    if (hideKeys) {
        options.visibility.hiddenKeys.assign(size_t(tokens), 0);
        options.visibility.hiddenKeys[1] = options.visibility.hiddenKeys[4] = 1;
    }
    const Matrix q = x * head.wQ, k = x * head.wK, v = x * head.wV;
    Matrix fastWeights, keptWeights;
    Matrix fastOutput(tokens, 8), keptOutput(tokens, 8);
    HeadTrace stages;
    attend(q, k, v, options, fastWeights, fastOutput, nullptr);
    attend(q, k, v, options, keptWeights, keptOutput, &stages);
    QCOMPARE(fastWeights, keptWeights);
    QCOMPARE(fastWeights, stages.weights);
    QCOMPARE(fastOutput, stages.output);
    // And the stages are what their formulas say.
    COMPARE_MATRIX(stages.scores, Matrix(q * k.transpose()), 1e-5);
    // (Within the kernel's float precision: a shorter causal row may take another exp code path.)
    COMPARE_MATRIX(stages.weights, softmaxRows(stages.masked, temperature), 1e-6);
    for (int i = 0; i < tokens; ++i)
        for (int j = 0; j < tokens; ++j)
            if ((causal && j > i) || (hideKeys && (j == 1 || j == 4))) {
                QCOMPARE(stages.masked(i, j), -std::numeric_limits<float>::infinity());
                QVERIFY(stages.weights(i, j) == 0.0f); // exactly: QCOMPARE would accept 1e-39
            }
}

void TestAttention::temperatureLimitIsTheArgmax()
{
    // τ so small that 1/τ overflows a float (and even a double): the limit is the argmax, ties
    // shared equally, and every row still sums to one.
    Matrix logits(3, 4);
    logits << 0.1f, 0.3f, 0.2f, -1.0f,
              2.0f, 2.0f, 1.0f, 0.0f,
              -std::numeric_limits<float>::infinity(), 5.0f, 4.0f, 5.0f;
    for (double tau : {1e-30, 1e-300, 4.9e-324}) {
        const Matrix w = softmaxRows(logits, tau);
        Matrix expected(3, 4);
        expected << 0, 1, 0, 0,
                    0.5f, 0.5f, 0, 0,
                    0, 0.5f, 0, 0.5f;
        COMPARE_MATRIX(w, expected, 0.0);
    }
}

void TestAttention::projectionNamesRoundTrip()
{
    QStringList names;
    for (Projection projection : kProjections) {
        QCOMPARE(projectionFromName(projectionName(projection)), std::optional<Projection>(projection));
        names.append(projectionMatrixName(projection));
    }
    QCOMPARE(names, (QStringList{QStringLiteral("W_Q"), QStringLiteral("W_K"), QStringLiteral("W_V")}));
    QVERIFY(!projectionFromName(QStringLiteral("o")).has_value());
    HeadWeights head = randomHead(4, 2, 1);
    head.weight(Projection::K)(1, 1) = 9.0f;
    QCOMPARE(head.wK(1, 1), 9.0f);
}

QTEST_GUILESS_MAIN(TestAttention)
#include "tst_attention.moc"
