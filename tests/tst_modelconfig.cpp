#include "modelconfig.h"
#include "transformer.h"
#include "testsupport.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

#include <cmath>

using namespace studio;

namespace {

// A Llama-shaped config.json with the given keys replaced or added (null removes nothing: it is
// a value transformers reads as "absent").
QJsonObject llamaConfig(const QJsonObject &changes = {})
{
    QJsonObject json{
        {QStringLiteral("model_type"), QStringLiteral("llama")}, {QStringLiteral("num_hidden_layers"), 4},
        {QStringLiteral("num_attention_heads"), 8}, {QStringLiteral("hidden_size"), 64}, {QStringLiteral("intermediate_size"), 160},
        {QStringLiteral("vocab_size"), 1000}, {QStringLiteral("max_position_embeddings"), 256},
    };
    for (auto it = changes.begin(); it != changes.end(); ++it)
        json.insert(it.key(), it.value());
    return json;
}

QJsonObject parsed(const char *json)
{
    return QJsonDocument::fromJson(QByteArray(json)).object();
}

QJsonObject parsed(const QString &json)
{
    return QJsonDocument::fromJson(json.toUtf8()).object();
}

} // namespace

class TestModelConfig : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void llamaDefaultsFollowTransformers()
    {
        const Result<ModelConfig> config = parseModelConfig(llamaConfig());
        QVERIFY_OK(config);
        const ModelConfig &c = *config.value;
        QCOMPARE(c.architecture, Architecture::Llama);
        QCOMPARE(c.kvHeads, 8);         // absent: plain multi-head attention
        QCOMPARE(c.headDim(), 8);       // absent: hidden / heads
        QCOMPARE(c.normEps, 1e-6);      // LlamaConfig's default
        QCOMPARE(c.activation, Activation::Silu);
        QCOMPARE(c.rope.theta, 10000.0);
        QCOMPARE(c.rope.scaling, RopeScaling::None);
        QVERIFY(!c.qkvBias && !c.outputBias && !c.mlpBias);
        QCOMPARE(c.slidingWindow(0), 0);
        QCOMPARE(c.traits().norm, NormKind::RmsNorm);
        QCOMPARE(c.traits().positions, PositionKind::Rotary);
    }

    void groupedHeadsAndAnExplicitHeadSize()
    {
        const Result<ModelConfig> config = parseModelConfig(llamaConfig(parsed(R"({"num_key_value_heads": 2, "head_dim": 32, "attention_bias": true})")));
        QVERIFY_OK(config);
        QCOMPARE(config.value->kvHeads, 2);
        QCOMPARE(config.value->groupSize(), 4);
        QCOMPARE(config.value->kvHeadOf(3), 0);
        QCOMPARE(config.value->kvHeadOf(4), 1);
        QCOMPARE(config.value->headDim(), 32); // wider than hidden / heads, as some models are
        QVERIFY(config.value->qkvBias && config.value->outputBias);
        // head_dim null means absent.
        const Result<ModelConfig> nullHead = parseModelConfig(llamaConfig(parsed(R"({"head_dim": null})")));
        QVERIFY_OK(nullHead);
        QCOMPARE(nullHead.value->headDim(), 8);
    }

    void qwen2BiasesAndWindows()
    {
        QJsonObject json = llamaConfig(parsed(R"({"model_type": "qwen2", "use_sliding_window": true, "sliding_window": 8, "max_window_layers": 2})"));
        Result<ModelConfig> config = parseModelConfig(json);
        QVERIFY_OK(config);
        QVERIFY(config.value->qkvBias);     // q, k and v have biases
        QVERIFY(!config.value->outputBias); // o_proj has none
        QCOMPARE(config.value->slidingWindows, (std::vector<int>{0, 0, 8, 8}));
        json.insert(QStringLiteral("use_sliding_window"), false);
        config = parseModelConfig(json);
        QVERIFY_OK(config);
        QCOMPARE(config.value->slidingWindows, (std::vector<int>{0, 0, 0, 0}));
        // An explicit list of layer types wins.
        json.insert(QStringLiteral("use_sliding_window"), true);
        json.insert(QStringLiteral("layer_types"), QJsonArray{QStringLiteral("sliding_attention"), QStringLiteral("full_attention"),
                                                              QStringLiteral("sliding_attention"), QStringLiteral("full_attention")});
        config = parseModelConfig(json);
        QVERIFY_OK(config);
        QCOMPARE(config.value->slidingWindows, (std::vector<int>{8, 0, 8, 0}));
    }

    void mistralWindowCoversEveryLayer()
    {
        Result<ModelConfig> config = parseModelConfig(llamaConfig(parsed(R"({"model_type": "mistral", "sliding_window": 4096})")));
        QVERIFY_OK(config);
        QCOMPARE(config.value->slidingWindows, (std::vector<int>{4096, 4096, 4096, 4096}));
        config = parseModelConfig(llamaConfig(parsed(R"({"model_type": "mistral", "sliding_window": null})")));
        QVERIFY_OK(config);
        QCOMPARE(config.value->slidingWindow(2), 0);
        QVERIFY(!parseModelConfig(llamaConfig(parsed(R"({"model_type": "mistral", "sliding_window": 0})"))));
    }

    void linearRopeScalingSlowsEveryPair()
    {
        const Result<ModelConfig> config = parseModelConfig(llamaConfig(parsed(R"({"rope_scaling": {"type": "linear", "factor": 2.0}})")));
        QVERIFY_OK(config);
        const std::vector<double> frequencies = config.value->rope.inverseFrequencies(8);
        QCOMPARE(frequencies.size(), size_t(4));
        QCOMPARE(frequencies[0], 0.5);                           // 10000^0 / 2
        QCOMPARE(frequencies[2], std::pow(10000.0, -0.5) / 2.0); // 10000^(−4/8) / 2
    }

    void llama3RopeScalingKeepsShortWavelengthsAndBlendsTheBand()
    {
        // Llama 3.1's numbers, in the newer rope_parameters form. With θ = 500000 and d = 128,
        // pair 0 (wavelength 2π) is kept, pair 36 (wavelength 10089 > 8192) is divided by 8, and
        // pair 30 (wavelength 2948, between 8192/4 and 8192/1) is blended:
        //   s = (8192 / 2948.30 − 1) / (4 − 1) = 0.59285…,  (1 − s) · f / 8 + s · f = 0.0013718935677611381
        const Result<ModelConfig> config = parseModelConfig(llamaConfig(parsed(
            R"({"rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                                    "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})")));
        QVERIFY_OK(config);
        QCOMPARE(config.value->rope.theta, 500000.0);
        const std::vector<double> frequencies = config.value->rope.inverseFrequencies(128);
        QCOMPARE(frequencies[0], 1.0);
        QVERIFY(std::abs(frequencies[36] - 0.000622772421914596 / 8.0) < 1e-18);
        QVERIFY(std::abs(frequencies[30] - 0.0013718935677611381) < 1e-15);
        QVERIFY(std::abs(frequencies[28] - 0.003211445994752591) < 1e-15); // wavelength 1956 < 2048: kept
    }

    void unsupportedSettingsAreRefusedByName_data()
    {
        QTest::addColumn<QString>("changes");
        QTest::addColumn<QString>("message");
        QTest::newRow("dynamic") << QString::fromUtf8(R"({"rope_scaling": {"rope_type": "dynamic", "factor": 2.0}})") << QString::fromUtf8("rotary scaling \"dynamic\" is not supported");
        QTest::newRow("yarn") << QString::fromUtf8(R"({"rope_scaling": {"type": "yarn", "factor": 4.0}})") << QString::fromUtf8("rotary scaling \"yarn\" is not supported");
        QTest::newRow("longrope") << QString::fromUtf8(R"({"rope_parameters": {"rope_type": "longrope"}})") << QString::fromUtf8("rotary scaling \"longrope\" is not supported");
        QTest::newRow("linear without factor") << QString::fromUtf8(R"({"rope_scaling": {"type": "linear"}})") << QString::fromUtf8("needs a \"factor\"");
        QTest::newRow("uneven groups") << QString::fromUtf8(R"({"num_key_value_heads": 3})") << QString::fromUtf8("cannot share 3 key/value heads evenly");
        QTest::newRow("odd head size") << QString::fromUtf8(R"({"head_dim": 7})") << QString::fromUtf8("head_dim 7 is odd");
        QTest::newRow("partial rotary") << QString::fromUtf8(R"({"partial_rotary_factor": 0.5})") << QString::fromUtf8("partial_rotary_factor 0.5 is not supported");
        QTest::newRow("unknown family") << QString::fromUtf8(R"({"model_type": "gemma"})") << QString::fromUtf8("model_type \"gemma\" is not supported");
        QTest::newRow("unknown activation") << QString::fromUtf8(R"({"hidden_act": "relu2"})") << QString::fromUtf8("hidden_act \"relu2\" is not supported");
        QTest::newRow("layer types of another length")
            << QString::fromUtf8(R"({"model_type": "qwen2", "use_sliding_window": true, "sliding_window": 4, "layer_types": ["full_attention"]})")
            << QStringLiteral("layer_types lists 1 layers, the model has 4");
    }

    void unsupportedSettingsAreRefusedByName()
    {
        QFETCH(QString, changes);
        QFETCH(QString, message);
        const Result<ModelConfig> config = parseModelConfig(llamaConfig(parsed(changes)));
        QVERIFY(!config);
        QVERIFY2(config.error.contains(message), qPrintable(config.error));
    }

    void rotationKeepsLengthsAndTurnsByPosition()
    {
        RopeConfig rope;
        const RotaryTable table = rotaryTable(rope, 5, 4);
        Matrix x(5, 8); // two heads of d = 4
        x.setRandom();
        const Matrix before = x;
        applyRotary(table, 2, 4, x);
        QCOMPARE(Matrix(x.row(0)), Matrix(before.row(0))); // position 0: no turn
        for (int t = 0; t < 5; ++t)
            for (int h = 0; h < 2; ++h)
                for (int i = 0; i < 2; ++i) {
                    const int a = h * 4 + i, b = a + 2; // the pair (i, i + d/2) of head h
                    const double lengthBefore = std::hypot(before(t, a), before(t, b));
                    const double lengthAfter = std::hypot(x(t, a), x(t, b));
                    QVERIFY(std::abs(lengthBefore - lengthAfter) < 1e-5);
                    const double angle = t * std::pow(10000.0, -2.0 * i / 4);
                    QVERIFY(std::abs(x(t, a) - (before(t, a) * std::cos(angle) - before(t, b) * std::sin(angle))) < 1e-5);
                }
    }
};

QTEST_GUILESS_MAIN(TestModelConfig)
#include "tst_modelconfig.moc"
