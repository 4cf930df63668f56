#include "checkpoint.h"
#include "embedding.h"
#include "stepexplainer.h"
#include "comparisonfigure.h"
#include "figures.h"
#include "figuresource.h"
#include "attentionflow.h"
#include "aggregation.h"
#include "prediction.h"
#include "attentionresult.h"
#include "tracejson.h"
#include "safetensorswriter.h"
#include "testsupport.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <sys/stat.h>
#include <thread>

using namespace studio;
using studio::testing::intList;
using studio::testing::readJson;

namespace {

const QString kData = QStringLiteral(STUDIO_TEST_DATA);
// The references are float64; our float32 forward agrees to about 1e-6. 1e-5 catches every
// structural mistake (see tests/data/README.md).
constexpr double kReferenceTolerance = 1e-5;
// The deviation of bf16 attention weights from fp32 that the README states as the bound seen on
// the reference checkpoints (random weights: larger logits than trained models have).
constexpr double kBf16Deviation = 0.05;

// Largest |ours − reference| over attentions[layer][head][query][key].
double maxDifference(const ModelTrace &trace, const QJsonArray &reference)
{
    double worst = 0;
    if (reference.size() != qsizetype(trace.attentions.size()))
        return INFINITY;
    for (qsizetype l = 0; l < reference.size(); ++l) {
        const QJsonArray heads = reference.at(l).toArray();
        if (heads.size() != qsizetype(trace.attentions[size_t(l)].size()))
            return INFINITY;
        for (qsizetype h = 0; h < heads.size(); ++h) {
            const Matrix &ours = trace.attentions[size_t(l)][size_t(h)];
            const QJsonArray rows = heads.at(h).toArray();
            if (rows.size() != ours.rows())
                return INFINITY;
            for (qsizetype i = 0; i < rows.size(); ++i)
                for (qsizetype j = 0; j < rows.at(i).toArray().size(); ++j)
                    worst = std::max(worst, std::abs(double(ours(i, j)) - rows.at(i).toArray().at(j).toDouble()));
        }
    }
    return worst;
}

void copyDirectory(const QString &from, const QString &to)
{
    QDir().mkpath(to);
    for (const QString &name : QDir(from).entryList(QDir::Files))
        QFile::copy(from + QLatin1Char('/') + name, to + QLatin1Char('/') + name);
}

void writeJson(const QString &path, const QJsonObject &json)
{
    QFile file(path);
    if (file.open(QIODevice::WriteOnly))
        file.write(QJsonDocument(json).toJson());
}

// Rewrites a safetensors file, renaming tensors with a function (return empty to drop one), and
// optionally into shards of about `shards` equal parts.
Status rewrite(const QString &from, const QString &to, const std::function<QString(const QString &)> &rename)
{
    const auto opened = SafetensorsFile::open(from);
    if (!opened)
        return Status::failure(opened.error);
    const auto &file = *opened.value;
    std::vector<TensorToWrite> tensors;
    QStringList names = file->tensors().keys();
    names.sort();
    for (const QString &name : names) {
        const TensorView view = file->tensors().value(name);
        const QString renamed = rename(name);
        if (renamed.isEmpty())
            continue;
        const QByteArray bytes(reinterpret_cast<const char *>(view.data), view.byteCount);
        tensors.push_back({renamed, view.dtype, view.shape, [bytes] { return bytes; }});
    }
    return writeSafetensors(to, tensors);
}

} // namespace

class TestCheckpoint : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void attentionTemperatureIsAnExperimentOnAnyModel();
    void unknownPiecesBecomeTheUnknownToken();
    void nonFiniteWeightsAreNamedAndNeverLookMasked();
    void traceIsWrittenAndFreedALayerAtATime();
    void pipesAndDevicesAreRefusedNotWaitedFor_data();
    void pipesAndDevicesAreRefusedNotWaitedFor();
    void foldersAndFilesOfTheWrongKind();
    void matchesReference_data();
    void matchesReference();
    void bf16StaysWithinItsStatedDeviation_data() { matchesReference_data(); }
    void bf16StaysWithinItsStatedDeviation();
    void rotaryVariantsMatchReference_data();
    void rotaryVariantsMatchReference();
    void predictsTheReferenceNextTokens_data();
    void predictsTheReferenceNextTokens();
    void onlyLanguageModelsPredict();
    void analysisHeatmapsOfACheckpoint();
    void comparisonOfTwoSentences();
    void blockStagesContinueTheForwardPass_data();
    void blockStagesContinueTheForwardPass();
    void stepThroughContinuesThroughTheBlock();
    void valueNormsAreEachHeadsShareOfTheOutput_data();
    void valueNormsAreEachHeadsShareOfTheOutput();
    void bertPaddedPairMatchesReference_data();
    void bertPaddedPairMatchesReference();
    void stagesOfARealHead();
    void rotaryStagesOfAGroupedHead();
    void slidingWindowIsABand();
    void stepThroughShowsTheHeatmapsBits_data();
    void stepThroughShowsTheHeatmapsBits();
    void threadsGiveTheSameResult();
    void linearLayersMatchADoubleProduct();
    void vectorisedGeluMatchesTheFormulas();
    void shardedCheckpoint();
    void halfPrecisionCheckpoint();
    void sentencePieceModelFileAloneIsExplained();
    void halfPrecisionWeightsStayInTheFile_data();
    void halfPrecisionWeightsStayInTheFile();
    void legacyLayerNormNamesAndPrefixes();
    void truncatesToTheModelsPositions();
    void refusesBadFolders_data();
    void refusesBadFolders();
    void cancelStopsBetweenLayers();
    void findsModelsInTheHuggingFaceCache();
};

void TestCheckpoint::matchesReference_data()
{
    QTest::addColumn<QString>("name");
    for (const char *name : {"hf-fake-gpt2", "hf-tiny-gpt2", "gpt2-random-tiny", "hf-bert-tiniest", "bert-random-tiny",
                             "llama-random-tiny", "llama-random-tiny.2", "llama-random-tiny.3",
                             "mistral-random-tiny", "mistral-random-tiny.2", "mistral-random-tiny.3"})
        QTest::newRow(name) << QString::fromLatin1(name);
}

void TestCheckpoint::matchesReference()
{
    QFETCH(QString, name);
    const QJsonObject reference = readJson(kData + QStringLiteral("/reference/") + name + QStringLiteral(".json"));
    QVERIFY(!reference.isEmpty());
    // NAME.2.json holds another sentence for checkpoints/NAME.
    const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/") + name.section(QLatin1Char('.'), 0, 0));
    QVERIFY2(checkpoint, qPrintable(checkpoint.error));
    const Checkpoint &c = **checkpoint.value;
    const bool bert = reference.contains(QStringLiteral("text_a"));
    const QString modelType = reference.value(QStringLiteral("config")).toObject().value(QStringLiteral("model_type"))
                                  .toString(bert ? QStringLiteral("bert") : QStringLiteral("gpt2"));
    QCOMPARE(architectureName(c.config.architecture), modelType);
    const auto input = bert ? prepareInput(c, reference.value(QStringLiteral("text_a")).toString(), reference.value(QStringLiteral("text_b")).toString())
                            : prepareInput(c, reference.value(QStringLiteral("text")).toString());
    QVERIFY2(input, qPrintable(input.error));
    QCOMPARE(input.value->encoding.ids, intList(reference.value(QStringLiteral("ids"))));
    QStringList tokens;
    for (const QJsonValue &t : reference.value(QStringLiteral("tokens")).toArray())
        tokens.append(t.toString());
    QCOMPARE(input.value->encoding.tokens, tokens);
    if (bert)
        QCOMPARE(input.value->forward.tokenTypes, intList(reference.value(QStringLiteral("token_type_ids"))));
    const ModelTrace trace = c.model->forward(input.value->forward);
    const double difference = maxDifference(trace, reference.value(QStringLiteral("attentions")).toArray());
    qInfo("%s: max |difference| %.3g", qPrintable(name), difference);
    QVERIFY2(difference <= kReferenceTolerance, qPrintable(QString::number(difference)));
}

void TestCheckpoint::bf16StaysWithinItsStatedDeviation()
{
    // bf16 rounds the linear layers' inputs to 8 significant bits: its attention weights move, by
    // the amount the trace states (maxDeviation, from an fp32 run of the same input), which is what
    // the window and the trace JSON show. Stated and true deviation must agree, bf16 must be within
    // it of the float64 reference, and the kernel's invariants hold as in fp32.
    QFETCH(QString, name);
    const QJsonObject reference = readJson(kData + QStringLiteral("/reference/") + name + QStringLiteral(".json"));
    const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/") + name.section(QLatin1Char('.'), 0, 0));
    QVERIFY2(checkpoint, qPrintable(checkpoint.error));
    const Checkpoint &c = **checkpoint.value;
    const bool bert = reference.contains(QStringLiteral("text_a"));
    const auto input = bert ? prepareInput(c, reference.value(QStringLiteral("text_a")).toString(), reference.value(QStringLiteral("text_b")).toString())
                            : prepareInput(c, reference.value(QStringLiteral("text")).toString());
    QVERIFY2(input, qPrintable(input.error));
    ForwardOptions options;
    options.precision = Precision::Bf16;
    ModelTrace trace = c.model->forward(input.value->forward, options);
    c.model->compareWithFp32(input.value->forward, options, trace);
    if (!bf16Supported()) { // this CPU: the run says it was fp32, and why bf16 is not offered
        QCOMPARE(trace.precision, Precision::Fp32);
        QCOMPARE(trace.maxDeviation, 0.0);
        QVERIFY(!bf16Unavailable().isEmpty());
        QVERIFY(maxDifference(trace, reference.value(QStringLiteral("attentions")).toArray()) <= kReferenceTolerance);
        return;
    }
    QCOMPARE(trace.precision, Precision::Bf16);
    QVERIFY(bf16Unavailable().isEmpty());
    const ModelTrace exact = c.model->forward(input.value->forward);
    QCOMPARE(trace.maxDeviation, largestAttentionDeviation(trace.attentions, exact.attentions));
    qInfo("%s: bf16 deviates from fp32 by at most %.3g", qPrintable(name), trace.maxDeviation);
    QVERIFY2(trace.maxDeviation > 0, "bf16 changed nothing: it did not run in bf16");
    QVERIFY2(trace.maxDeviation <= kBf16Deviation, qPrintable(QString::number(trace.maxDeviation)));
    const double fromReference = maxDifference(trace, reference.value(QStringLiteral("attentions")).toArray());
    QVERIFY2(fromReference <= trace.maxDeviation + kReferenceTolerance, qPrintable(QStringLiteral("%1 vs %2").arg(fromReference).arg(trace.maxDeviation)));
    for (const auto &heads : trace.attentions)
        for (const Matrix &w : heads) {
            QVERIFY(w.allFinite());
            QVERIFY((w.rowwise().sum().array() - 1.0f).abs().maxCoeff() < 1e-5f);
            if (!bert)
                for (Eigen::Index i = 0; i < w.rows(); ++i)
                    for (Eigen::Index j = i + 1; j < w.cols(); ++j)
                        QVERIFY(w(i, j) == 0.0f);
        }
}

void TestCheckpoint::rotaryVariantsMatchReference_data()
{
    // Written by tests/data/rotary-variants/generate.py with its own float64 forward pass: Qwen2's
    // q/k/v biases and per-layer window, an explicit head_dim with one key/value head, biases
    // everywhere and Llama 3's rotary scaling, and linear scaling in the rope_parameters form.
    QTest::addColumn<QString>("name");
    for (const char *name : {"qwen2-variant-tiny", "llama-variant-tiny", "llama-linear-tiny"})
        QTest::newRow(name) << QString::fromLatin1(name);
}

void TestCheckpoint::rotaryVariantsMatchReference()
{
    QFETCH(QString, name);
    const QJsonObject reference = readJson(kData + QStringLiteral("/reference/") + name + QStringLiteral(".json"));
    QVERIFY(!reference.isEmpty());
    const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/") + name);
    QVERIFY_OK(checkpoint);
    const Checkpoint &c = **checkpoint.value;
    ForwardInput input;
    input.ids = intList(reference.value(QStringLiteral("ids")));
    QVERIFY_OK(c.model->validate(input));
    const ModelTrace trace = c.model->forward(input);
    const double difference = maxDifference(trace, reference.value(QStringLiteral("attentions")).toArray());
    qInfo("%s: max |difference| %.3g", qPrintable(name), difference);
    QVERIFY2(difference <= kReferenceTolerance, qPrintable(QString::number(difference)));
}

void TestCheckpoint::predictsTheReferenceNextTokens_data()
{
    QTest::addColumn<QString>("name");
    for (const char *name : {"gpt2-random-tiny", "llama-random-tiny", "llama-random-tiny.2", "llama-random-tiny.3",
                             "mistral-random-tiny", "mistral-random-tiny.2", "mistral-random-tiny.3"})
        QTest::newRow(name) << QString::fromLatin1(name);
}

void TestCheckpoint::predictsTheReferenceNextTokens()
{
    // The float64 references' ten most likely tokens after the last position: ids exact, logits
    // to 1e-4 relative (float32 agrees to about 1e-7).
    QFETCH(QString, name);
    const QJsonObject reference = readJson(kData + QStringLiteral("/reference/") + name + QStringLiteral(".json"));
    const QJsonArray expected = reference.value(QStringLiteral("logits_last_position_top10")).toArray();
    QCOMPARE(expected.size(), 10);
    const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/") + name.section(QLatin1Char('.'), 0, 0));
    QVERIFY_OK(checkpoint);
    const Checkpoint &c = **checkpoint.value;
    QVERIFY(c.model->canPredict());
    const auto input = prepareInput(c, reference.value(QStringLiteral("text")).toString());
    QVERIFY_OK(input);
    QCOMPARE(input.value->encoding.ids, intList(reference.value(QStringLiteral("ids"))));
    ForwardOptions options;
    options.keepFinalHidden = true;
    const ModelTrace trace = c.model->forward(input.value->forward, options);
    QCOMPARE(trace.finalHidden.rows(), Eigen::Index(input.value->encoding.ids.size()));
    const RowVector logits = c.model->logits(trace.finalHidden.row(trace.finalHidden.rows() - 1));
    QCOMPARE(logits.size(), Eigen::Index(c.config.vocabSize));
    const std::vector<TokenChoice> top = topTokens(logits, 10);
    QCOMPARE(top.size(), size_t(10));
    double worst = 0;
    for (qsizetype i = 0; i < expected.size(); ++i) {
        const QJsonArray pair = expected.at(i).toArray();
        QCOMPARE(top[size_t(i)].id, pair.at(0).toInt());
        const double want = pair.at(1).toDouble();
        worst = std::max(worst, std::abs(double(top[size_t(i)].logit) - want) / std::abs(want));
    }
    qInfo("%s: worst relative logit difference %.3g", qPrintable(name), worst);
    QVERIFY2(worst <= 1e-4, qPrintable(QString::number(worst)));
    // The same logits without keeping them: the attention is untouched by asking for a prediction.
    const ModelTrace plain = c.model->forward(input.value->forward);
    QCOMPARE(plain.finalHidden.size(), Eigen::Index(0));
    for (size_t l = 0; l < plain.attentions.size(); ++l)
        for (size_t h = 0; h < plain.attentions[l].size(); ++h)
            QVERIFY(plain.attentions[l][h] == trace.attentions[l][h]);
}

void TestCheckpoint::onlyLanguageModelsPredict()
{
    const auto bert = openCheckpoint(kData + QStringLiteral("/checkpoints/bert-random-tiny"));
    QVERIFY_OK(bert);
    QVERIFY(!(*bert.value)->model->canPredict());
    QVERIFY((*bert.value)->model->predictionUnavailableReason().contains(QStringLiteral("not a left-to-right language model")));
    const auto input = prepareInput(**bert.value, QStringLiteral("the cat"));
    QVERIFY_OK(input);
    ForwardOptions options;
    options.keepFinalHidden = true;
    QCOMPARE((*bert.value)->model->forward(input.value->forward, options).finalHidden.size(), Eigen::Index(0));
    QCOMPARE((*bert.value)->model->logits(RowVector::Zero(64)).size(), Eigen::Index(0));

    // A Llama checkpoint that says its head is its own but lacks it shows attention, predicts nothing.
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("headless"));
    copyDirectory(kData + QStringLiteral("/checkpoints/llama-random-tiny"), folder);
    const auto original = SafetensorsFile::open(folder + QStringLiteral("/model.safetensors"));
    QVERIFY_OK(original);
    QHash<QString, TensorView> kept = (*original.value)->tensors();
    kept.remove(QStringLiteral("lm_head.weight"));
    const auto config = parseModelConfig(readJson(folder + QStringLiteral("/config.json")));
    QVERIFY_OK(config);
    const auto model = TransformerModel::bind(*config.value, kept);
    QVERIFY_OK(model);
    QVERIFY(!(*model.value)->canPredict());
    QVERIFY((*model.value)->predictionUnavailableReason().contains(QStringLiteral("lm_head.weight")));
    // Tied, the token embedding is the head.
    ModelConfig tied = *config.value;
    tied.tiedOutput = true;
    const auto tiedModel = TransformerModel::bind(tied, kept);
    QVERIFY_OK(tiedModel);
    QVERIFY((*tiedModel.value)->canPredict());
    const RowVector hidden = RowVector::LinSpaced(64, -1.0f, 1.0f);
    const TensorView embeddingView = kept.value(QStringLiteral("model.embed_tokens.weight"));
    QVERIFY(embeddingView.dtype == DType::F32);
    QCOMPARE(embeddingView.shape, (std::vector<qint64>{tied.vocabSize, tied.hidden}));
    const Eigen::Map<const Matrix> embedding(reinterpret_cast<const float *>(embeddingView.data), tied.vocabSize, tied.hidden);
    const RowVector expected = hidden * embedding.transpose();
    QVERIFY(((*tiedModel.value)->logits(hidden) - expected).cwiseAbs().maxCoeff() <= 1e-5f);
}

void TestCheckpoint::analysisHeatmapsOfACheckpoint()
{
    const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/bert-random-tiny"));
    QVERIFY_OK(checkpoint);
    const std::shared_ptr<const Checkpoint> c = std::move(*checkpoint.value);
    const auto source = checkpointFigureSource(c, QStringLiteral("The animal didn't cross the street"), QStringLiteral("because it was tired."), 1, 2);
    QVERIFY_OK(source);
    const AttentionResult &result = source.value->result;
    const FigureContext &context = source.value->context;
    const HeadDetails &details = source.value->details;
    const Matrix &weights = result.weights(1, 2);
    QCOMPARE(result.valueNorms.size(), size_t(2));

    // Value-weighted: the weights with column j scaled by ‖f(x_j)‖, on a scale from 0.
    const HeatmapFigure values = headHeatmap(result, details, context, HeatmapStage::ValueWeighted, ColorMapKind::Viridis);
    QVERIFY(values.values() == valueWeighted(weights, result.valueNorms[1].col(2)));
    QCOMPARE(values.scale.minimum, 0.0);
    QVERIFY(values.caption.join(QLatin1Char(' ')).contains(QStringLiteral("Kobayashi")));

    // Rollout up to layer 1, from every head of layers 0 and 1.
    const HeatmapFigure rollout = headHeatmap(result, details, context, HeatmapStage::Rollout, ColorMapKind::Viridis);
    QVERIFY(rollout.values() == attentionRollout(*result.maps).back());
    QVERIFY(rollout.caption.join(QLatin1Char(' ')).contains(QStringLiteral("½·mean_h A + ½·I")));

    // Flow: nothing until it is handed in, then the given layer's.
    QVERIFY(!heatmapUnavailableReason(result, HeatmapStage::Flow, {}).isEmpty());
    QCOMPARE(headHeatmap(result, details, context, HeatmapStage::Flow, ColorMapKind::Viridis).values().size(), Eigen::Index(0));
    HeatmapExtras extras;
    extras.flow = std::make_shared<const std::vector<Matrix>>(*attentionFlow(*result.maps));
    QVERIFY(heatmapUnavailableReason(result, HeatmapStage::Flow, extras).isEmpty());
    QVERIFY(headHeatmap(result, details, context, HeatmapStage::Flow, ColorMapKind::Viridis, -1, extras).values() == (*extras.flow)[1]);

    // Special tokens left out: [CLS] and both [SEP] grey, every other row renormalised over the
    // other keys; nothing of theirs reaches the image.
    QVERIFY(result.hasSpecialTokens());
    extras.leaveOutSpecial = true;
    const HeatmapFigure shown = headHeatmap(result, details, context, HeatmapStage::Weights, ColorMapKind::Viridis, -1, extras);
    QCOMPARE(shown.leftOut, result.special);
    QCOMPARE(int(std::count(result.special.begin(), result.special.end(), true)), 3);
    QVERIFY(result.special.front() && result.special.back());
    const QImage body = heatmapBodyImage(shown);
    for (int r = 0; r < result.tokenCount(); ++r) {
        double kept = 0;
        for (int k = 0; k < result.tokenCount(); ++k)
            if (!result.special[size_t(k)])
                kept += weights(r, k);
        for (int k = 0; k < result.tokenCount(); ++k) {
            const bool grey = result.special[size_t(r)] || result.special[size_t(k)];
            QCOMPARE(shown.cellGrey(r, k), grey);
            QCOMPARE(body.pixel(k, r) == kHiddenCellColor, grey);
            if (!grey)
                QVERIFY(std::abs(shown.values()(r, k) - weights(r, k) / kept) <= 1e-6);
        }
    }
    QVERIFY(shown.caption.last().contains(QStringLiteral("renormalised")));
    // The switch changes nothing where there are no special tokens (the teaching model's).
    AttentionResult plain = result;
    plain.special.assign(size_t(result.tokenCount()), false);
    QVERIFY(headHeatmap(plain, details, context, HeatmapStage::Weights, ColorMapKind::Viridis, -1, extras).leftOut.empty());
}

void TestCheckpoint::comparisonOfTwoSentences()
{
    const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/llama-random-tiny"));
    QVERIFY_OK(checkpoint);
    const std::shared_ptr<const Checkpoint> c = std::move(*checkpoint.value);
    const QString textA = QStringLiteral("The animal didn't cross the street because it was too tired.");
    const QString textB = QStringLiteral("The animal didn't cross the street because it was too wide.");
    const auto a = checkpointFigureSource(c, textA, {}, 1, 2);
    const auto b = checkpointFigureSource(c, textB, {}, 1, 2);
    QVERIFY_OK(a);
    QVERIFY_OK(b);
    const auto resultA = std::make_shared<const AttentionResult>(a.value->result);
    const auto resultB = std::make_shared<const AttentionResult>(b.value->result);
    const auto comparison = compareResults(resultA, resultB, textB);
    QVERIFY(comparison);
    // Aligned by the vocabulary's pieces; every head's divergence is headDivergence of its maps.
    QCOMPARE(comparison->alignment, alignTokens(resultA->pieces, resultB->pieces));
    QVERIFY(comparison->alignment.size() >= 13);
    for (int l = 0; l < 2; ++l)
        for (int h = 0; h < 4; ++h)
            QCOMPARE(comparison->divergence[size_t(l)][size_t(h)].divergence,
                     headDivergence(resultA->weights(l, h), resultB->weights(l, h), comparison->alignment).divergence);
    // A causal model: the tokens before the changed word attend identically, so only the rows after
    // it differ, and the head that differs most comes first.
    const auto order = comparison->headsByDivergence();
    QCOMPARE(order.size(), size_t(8));
    QCOMPARE(comparison->divergence[size_t(order[0].first)][size_t(order[0].second)].divergence, comparison->largest);
    QVERIFY(comparison->largest > 0);
    FigureContext context = a.value->context;
    const HeatmapFigure figure = comparisonHeatmap(*comparison, context);
    QVERIFY(figure.values() == alignedDifference(resultA->weights(1, 2), resultB->weights(1, 2), comparison->alignment));
    QCOMPARE(figure.scale.minimum, -figure.scale.maximum);
    for (Eigen::Index r = 0; r + 1 < figure.values().rows(); ++r)
        QCOMPARE(figure.values().row(r).cwiseAbs().maxCoeff(), 0.0f);
    QVERIFY(figure.caption.last().contains(QStringLiteral("JSD₂")));
    // The model view marks each head's divergence relative to the largest.
    const GridFigure grid = gridFigure(*resultA, context, ColorMapKind::Viridis, 1, 2, comparison.get());
    QCOMPARE(grid.divergence.size(), size_t(2));
    QCOMPARE(grid.divergence[size_t(order[0].first)][size_t(order[0].second)], 1.0);
    QVERIFY(grid.caption.last().contains(QStringLiteral("Magenta bar")));
    // Results of different models are not compared.
    const auto bert = openCheckpoint(kData + QStringLiteral("/checkpoints/bert-random-tiny"));
    QVERIFY_OK(bert);
    const auto other = checkpointFigureSource(std::move(*bert.value), textB, {}, 0, 0);
    QVERIFY_OK(other);
    AttentionResult fewerLayers = other.value->result;
    fewerLayers.maps = std::make_shared<const AttentionMaps>(AttentionMaps{(*other.value->result.maps)[0]});
    QVERIFY(!compareResults(resultA, std::make_shared<const AttentionResult>(fewerLayers), textB));
}

void TestCheckpoint::blockStagesContinueTheForwardPass_data()
{
    QTest::addColumn<QString>("name");
    for (const char *name : {"gpt2-random-tiny", "bert-random-tiny", "llama-random-tiny", "mistral-random-tiny"})
        QTest::newRow(name) << QString::fromLatin1(name);
}

void TestCheckpoint::blockStagesContinueTheForwardPass()
{
    // Each layer's block, recomputed from the residual stream entering it, hands the next layer
    // exactly the residual stream the forward pass did; the last one ends in the final hidden state.
    QFETCH(QString, name);
    const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/") + name);
    QVERIFY_OK(checkpoint);
    const Checkpoint &c = **checkpoint.value;
    const auto input = prepareInput(c, QStringLiteral("The animal didn't cross the street because it was too tired."));
    QVERIFY_OK(input);
    ForwardOptions options;
    options.keepLayerInputs = true;
    options.keepFinalHidden = true;
    const ModelTrace trace = c.model->forward(input.value->forward, options);
    QCOMPARE(trace.residualInputs.size(), size_t(c.config.layers));
    const bool preNorm = c.config.traits().normPlacement == NormPlacement::PreLN;
    for (int l = 0; l < c.config.layers; ++l) {
        const BlockTrace block = c.model->blockStages(trace.residualInputs.at(l), l, input.value->forward);
        QCOMPARE(block.context.cols(), Eigen::Index(c.config.heads * c.config.headDim()));
        QCOMPARE(block.mlpHidden.cols(), Eigen::Index(c.config.intermediate));
        if (preNorm) { // the residual adds, written out
            QVERIFY(block.afterAttention == Matrix(block.residualIn + block.attentionOut));
            QVERIFY(block.residualOut == Matrix(block.afterAttention + block.mlpOut));
        }
        if (l + 1 < c.config.layers) {
            QVERIFY2(block.residualOut == trace.residualInputs.at(l + 1), qPrintable(QString::number(l)));
            QCOMPARE(block.finalNormed.size(), Eigen::Index(0));
        } else if (c.model->canPredict()) {
            QVERIFY(block.finalNormed == trace.finalHidden);
        }
    }
    if (name != QStringLiteral("gpt2-random-tiny"))
        return;
    // GPT-2's MLP by hand from the file's tensors: gelu_new(x W₁ + b₁), W₁ stored [in, out].
    const BlockTrace block = c.model->blockStages(trace.residualInputs.at(0), 0, input.value->forward);
    const SafetensorsFile &file = *c.model->files().front();
    const TensorView *w1 = file.find(QStringLiteral("h.0.mlp.c_fc.weight"));
    const TensorView *b1 = file.find(QStringLiteral("h.0.mlp.c_fc.bias"));
    QVERIFY(w1 && b1 && w1->dtype == DType::F32);
    const Eigen::Map<const Matrix> weight(reinterpret_cast<const float *>(w1->data), 64, 256);
    const Eigen::Map<const RowVector> bias(reinterpret_cast<const float *>(b1->data), 256);
    Matrix expected = (block.mlpInput * weight).rowwise() + bias;
    for (Eigen::Index i = 0; i < expected.size(); ++i) {
        const double x = expected.data()[i];
        expected.data()[i] = float(0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))));
    }
    QVERIFY((block.mlpHidden - expected).cwiseAbs().maxCoeff() <= 1e-4f);
}

void TestCheckpoint::stepThroughContinuesThroughTheBlock()
{
    const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/gpt2-random-tiny"));
    QVERIFY_OK(checkpoint);
    const std::shared_ptr<const Checkpoint> c = std::move(*checkpoint.value);
    const auto source = checkpointFigureSource(c, QStringLiteral("The animal didn't cross the street because it was too tired."), {}, 1, 2);
    QVERIFY_OK(source);
    const AttentionResult &result = source.value->result;
    const HeadDetails &details = source.value->details;
    QVERIFY(result.hasBlock() && result.predicts());
    QCOMPARE(stagesFor(result).size(), size_t(12)); // no RoPE stage for GPT-2
    QVERIFY(details.block);
    const BlockTrace &b = *details.block;
    struct Expected {
        Stage stage;
        const Matrix &matrix;
    };
    for (const Expected &e : {Expected{Stage::HeadsOut, b.attentionOut}, Expected{Stage::Residual, b.afterAttention},
                              Expected{Stage::Mlp, b.mlpHidden}, Expected{Stage::LayerOut, b.residualOut}}) {
        const HeatmapFigure figure = stageFigure(result, details, source.value->context, e.stage, Projection::Q, ColorMapKind::Diverging, 4);
        QVERIFY(figure.values() == Matrix(e.matrix.leftCols(64))); // d_model 64; the MLP's 256 neurons cut to 64
        QCOMPARE(figure.rowTitle, QStringLiteral("token"));
    }
    const QStringList mlpCaption = stageFigure(result, details, source.value->context, Stage::Mlp, Projection::Q, ColorMapKind::Diverging).caption;
    QVERIFY(mlpCaption.join(QLatin1Char(' ')).contains(QStringLiteral("the first 64 of 256")));
    QVERIFY(mlpCaption.join(QLatin1Char(' ')).contains(QStringLiteral("layer 1, every head"))); // the layer's, not head 2's
    // The residual written out: h + attn = h′ component by component.
    const QString residual = explainStage(result, details, Stage::Residual, 4, -1, Projection::Q);
    const QString sum = QString::number(double(b.afterAttention(4, 0)), 'g', 4).replace(QLatin1Char('-'), QStringLiteral("−"));
    QVERIFY2(residual.contains(QStringLiteral("<b>%1</b>").arg(sum)), qPrintable(sum));
    // The MLP's most active neuron for the token is named.
    Eigen::Index best = 0;
    b.mlpHidden.row(4).maxCoeff(&best);
    QVERIFY(explainStage(result, details, Stage::Mlp, 4, -1, Projection::Q).contains(QStringLiteral("n%1 = ").arg(best)));
    // The prediction: each position's probabilities of the tokens most likely after the last, the
    // last row's first the model's top token.
    QCOMPARE(details.nextTokenProbabilities.rows(), Eigen::Index(result.tokenCount()));
    const int last = result.tokenCount() - 1;
    Eigen::Index top = 0;
    details.nextTokenProbabilities.row(last).maxCoeff(&top);
    QCOMPARE(top, Eigen::Index(0));
    QCOMPARE(details.positionTop[size_t(last)].front().first, details.nextTokens.front());
    QVERIFY(std::abs(details.positionTop[size_t(last)].front().second - double(details.nextTokenProbabilities(last, 0))) <= 1e-6);
    QVERIFY(explainStage(result, details, Stage::Prediction, last, -1, Projection::Q).contains(QStringLiteral("after the last layer")));
    // A teaching result has none of the block's stages.
    AttentionResult teaching;
    QVERIFY(!stageApplies(Stage::HeadsOut, teaching) && !stageApplies(Stage::Prediction, teaching));
}

void TestCheckpoint::valueNormsAreEachHeadsShareOfTheOutput_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("outputName"); // layer 1's attention output projection, as stored
    QTest::newRow("gpt2 (Conv1D [in, out])") << QStringLiteral("gpt2-random-tiny") << QStringLiteral("h.1.attn.c_proj.weight");
    QTest::newRow("llama (Linear [out, in], grouped)") << QStringLiteral("llama-random-tiny") << QStringLiteral("model.layers.1.self_attn.o_proj.weight");
}

void TestCheckpoint::valueNormsAreEachHeadsShareOfTheOutput()
{
    // ‖f_h(x_j)‖ = ‖v_j W_O^h‖, with v from the head's own stages and W_O^h cut by hand from the
    // tensor in the file: the head's d rows of [in, out], or its d columns of [out, in].
    QFETCH(QString, name);
    QFETCH(QString, outputName);
    const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/") + name);
    QVERIFY_OK(checkpoint);
    const Checkpoint &c = **checkpoint.value;
    const auto input = prepareInput(c, QStringLiteral("The animal didn't cross the street because it was too tired."));
    QVERIFY_OK(input);
    ForwardOptions options;
    options.keepValueNorms = true;
    for (int h = 0; h < c.config.heads; ++h)
        options.stageHeads.push_back({1, h});
    const ModelTrace trace = c.model->forward(input.value->forward, options);
    QCOMPARE(trace.valueNorms.size(), size_t(c.config.layers));
    const TensorView *stored = c.model->files().front()->find(outputName);
    QVERIFY(stored && stored->dtype == DType::F32 && stored->shape.size() == 2);
    const Eigen::Map<const Matrix> output(reinterpret_cast<const float *>(stored->data), Eigen::Index(stored->shape[0]), Eigen::Index(stored->shape[1]));
    const int d = c.config.headDim();
    const bool outByIn = name.startsWith(QStringLiteral("llama"));
    for (int h = 0; h < c.config.heads; ++h) {
        const Matrix slice = outByIn ? Matrix(output.middleCols(h * d, d).transpose()) : Matrix(output.middleRows(h * d, d));
        const Matrix &v = trace.stages.at({1, h}).v; // (T, d), the group's value head
        const Vector expected = (v * slice).rowwise().norm();
        const Vector got = trace.valueNorms[1].col(h);
        QVERIFY2((got - expected).cwiseAbs().maxCoeff() <= 1e-5f * std::max(1.0f, expected.maxCoeff()), qPrintable(QString::number(h)));
        QVERIFY(got.minCoeff() > 0);
    }
}

void TestCheckpoint::bertPaddedPairMatchesReference_data()
{
    QTest::addColumn<QString>("name");
    QTest::newRow("hf-bert-tiniest") << QStringLiteral("hf-bert-tiniest");
    QTest::newRow("bert-random-tiny") << QStringLiteral("bert-random-tiny");
}

void TestCheckpoint::bertPaddedPairMatchesReference()
{
    QFETCH(QString, name);
    const QJsonObject padded = readJson(kData + QStringLiteral("/reference/") + name + QStringLiteral(".json")).value(QStringLiteral("padded")).toObject();
    const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/") + name);
    QVERIFY2(checkpoint, qPrintable(checkpoint.error));
    ForwardInput input;
    input.ids = intList(padded.value(QStringLiteral("ids")));
    input.tokenTypes = intList(padded.value(QStringLiteral("token_type_ids")));
    input.attentionMask = intList(padded.value(QStringLiteral("attention_mask")));
    QVERIFY_OK((*checkpoint.value)->model->validate(input));
    const ModelTrace trace = (*checkpoint.value)->model->forward(input);
    const double difference = maxDifference(trace, padded.value(QStringLiteral("attentions")).toArray());
    qInfo("%s padded: max |difference| %.3g", qPrintable(name), difference);
    QVERIFY2(difference <= kReferenceTolerance, qPrintable(QString::number(difference)));
    // Padding keys get exactly zero weight from every query.
    const Matrix &w = trace.attentions[0][0];
    for (int i = 0; i < w.rows(); ++i)
        QVERIFY(w(i, w.cols() - 1) == 0.0f);
}

void TestCheckpoint::traceIsWrittenAndFreedALayerAtATime()
{
    const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/gpt2-random-tiny"));
    QVERIFY_OK(checkpoint);
    const Checkpoint &c = **checkpoint.value;
    const auto input = prepareInput(c, QStringLiteral("Hello world! The quick brown fox jumps over the lazy dog."));
    QVERIFY_OK(input);
    const ModelTrace whole = c.model->forward(input.value->forward);

    QByteArray bytes;
    JsonStream out([&bytes](const QByteArray &chunk) { bytes += chunk; return true; }, 64);
    ModelTraceWriter writer(out, c, *input.value);
    writer.begin();
    ForwardOptions options;
    options.stageHeads = {{0, 1}, {1, 0}};
    int layersSeen = 0;
    bool earlierLayersFreed = true;
    qsizetype bytesBeforeLastLayer = 0;
    options.layerDone = [&](int layer, ModelTrace &trace) {
        QCOMPARE(layer, layersSeen++);
        // When a layer is done, every earlier one has been written and freed.
        for (int earlier = 0; earlier < layer; ++earlier) {
            for (const Matrix &map : trace.attentions[size_t(earlier)])
                earlierLayersFreed = earlierLayersFreed && map.size() == 0;
            earlierLayersFreed = earlierLayersFreed && !trace.layerInputs.count(earlier);
        }
        for (const auto &[key, stages] : trace.stages)
            earlierLayersFreed = earlierLayersFreed && key.first >= layer;
        if (layer + 1 == c.config.layers)
            bytesBeforeLastLayer = bytes.size();
        writer.writeLayer(layer, trace);
    };
    const ModelTrace streamed = c.model->forward(input.value->forward, options);
    writer.end(streamed);
    QVERIFY(out.finish());
    QCOMPARE(layersSeen, c.config.layers);
    QVERIFY(earlierLayersFreed);
    QVERIFY(bytesBeforeLastLayer > 0); // the file grew while the model still ran
    QVERIFY(streamed.stages.empty());

    // The streamed file holds the same numbers as the whole trace, bit for bit.
    QJsonParseError error{};
    const QJsonObject json = QJsonDocument::fromJson(bytes, &error).object();
    QCOMPARE(error.error, QJsonParseError::NoError);
    const QJsonArray layers = json.value(QStringLiteral("layers")).toArray();
    QCOMPARE(layers.size(), c.config.layers);
    for (int l = 0; l < c.config.layers; ++l) {
        const QJsonArray heads = layers.at(l).toObject().value(QStringLiteral("heads")).toArray();
        QCOMPARE(heads.size(), c.config.heads);
        for (int h = 0; h < c.config.heads; ++h) {
            const QJsonObject head = heads.at(h).toObject();
            const QJsonArray weights = head.value(QStringLiteral("weights")).toArray();
            const Matrix &expected = whole.attentions[size_t(l)][size_t(h)];
            QCOMPARE(weights.size(), expected.rows());
            for (int i = 0; i < expected.rows(); ++i)
                for (int j = 0; j < expected.cols(); ++j)
                    QCOMPARE(float(weights.at(i).toArray().at(j).toDouble()), expected(i, j));
            const bool kept = (l == 0 && h == 1) || (l == 1 && h == 0);
            QCOMPARE(head.contains(QStringLiteral("scores")), kept);
        }
        QCOMPARE(layers.at(l).toObject().contains(QStringLiteral("input")), l <= 1);
    }
}

void TestCheckpoint::stagesOfARealHead()
{
    const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/gpt2-random-tiny"));
    QVERIFY(checkpoint);
    const Checkpoint &c = **checkpoint.value;
    const auto input = prepareInput(c, QStringLiteral("Hello world! The quick brown fox."));
    ForwardOptions options;
    options.stageHeads = {{1, 2}};
    const ModelTrace trace = c.model->forward(input.value->forward, options);
    QCOMPARE(trace.stages.size(), size_t(1));
    const HeadTrace &stages = trace.stages.at({1, 2});
    QCOMPARE(stages.weights, trace.attentions[1][2]);
    // q = X W_Q + b_Q with X the layer's attention input and the head's slice of c_attn.
    const Matrix &x = trace.layerInputs.at(1);
    const auto projection = c.model->headProjection(1, 2);
    const Matrix q = (x * projection.wQ).rowwise() + projection.bQ;
    const Matrix k = (x * projection.wK).rowwise() + projection.bK;
    const Matrix v = (x * projection.wV).rowwise() + projection.bV;
    QVERIFY((q - stages.q).cwiseAbs().maxCoeff() < 1e-4f);
    QVERIFY((k - stages.k).cwiseAbs().maxCoeff() < 1e-4f);
    QVERIFY((v - stages.v).cwiseAbs().maxCoeff() < 1e-4f);
    QVERIFY((stages.scaled * std::sqrt(16.0f) - stages.scores).cwiseAbs().maxCoeff() < 1e-4f);
    for (int i = 0; i < stages.masked.rows(); ++i)
        for (int j = i + 1; j < stages.masked.cols(); ++j)
            QVERIFY(std::isinf(stages.masked(i, j)));
    QVERIFY((stages.weights * stages.v - stages.output).cwiseAbs().maxCoeff() < 1e-5f);

    // Recomputed later from the kept layer input, any head's stages agree with the forward pass.
    ForwardOptions keep;
    keep.keepLayerInputs = true;
    const ModelTrace kept = c.model->forward(input.value->forward, keep);
    QCOMPARE(kept.layerInputs.size(), size_t(2));
    const HeadTrace again = c.model->headStages(kept.layerInputs.at(1), 1, 2, input.value->forward);
    QVERIFY((again.weights - stages.weights).cwiseAbs().maxCoeff() < 1e-6f);
    QVERIFY((again.q - stages.q).cwiseAbs().maxCoeff() < 1e-5f);
}

void TestCheckpoint::rotaryStagesOfAGroupedHead()
{
    // Llama: 4 query heads share 2 key/value heads, so heads 2 and 3 read key/value head 1.
    const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/llama-random-tiny"));
    QVERIFY_OK(checkpoint);
    const Checkpoint &c = **checkpoint.value;
    QCOMPARE(c.config.kvHeads, 2);
    QCOMPARE(c.config.kvHeadOf(3), 1);
    const auto input = prepareInput(c, QStringLiteral("The quick brown fox jumps over the lazy dog."));
    QVERIFY_OK(input);
    ForwardOptions options;
    options.stageHeads = {{1, 2}, {1, 3}};
    const ModelTrace trace = c.model->forward(input.value->forward, options);
    const HeadTrace &head = trace.stages.at({1, 3});
    QCOMPARE(head.k, trace.stages.at({1, 2}).k); // one key/value head, shared
    QCOMPARE(head.v, trace.stages.at({1, 2}).v);
    // Before rotation: q = X W_Q, k = X W_K of the shared head (no biases in Llama).
    const Matrix &x = trace.layerInputs.at(1);
    const auto projection = c.model->headProjection(1, 3);
    QVERIFY(testing::maxAbsDifference(x * projection.wQ, head.qPreRope) < 1e-4);
    QVERIFY(testing::maxAbsDifference(x * projection.wK, head.kPreRope) < 1e-4);
    // The rotation: position 0 is not turned at all; pair (i, i + d/2) of position t turns by
    // t · 10000^(−2i/d), written out here in double.
    const int d = c.config.headDim();
    QCOMPARE(Matrix(head.q.row(0)), Matrix(head.qPreRope.row(0)));
    double worst = 0;
    for (int t = 0; t < head.q.rows(); ++t)
        for (int i = 0; i < d / 2; ++i) {
            const double angle = t * std::pow(10000.0, -2.0 * i / d);
            const double a = head.qPreRope(t, i), b = head.qPreRope(t, i + d / 2);
            worst = std::max({worst, std::abs(head.q(t, i) - (a * std::cos(angle) - b * std::sin(angle))),
                              std::abs(head.q(t, i + d / 2) - (b * std::cos(angle) + a * std::sin(angle)))});
        }
    QVERIFY2(worst < 1e-5, qPrintable(QString::number(worst)));
}

void TestCheckpoint::slidingWindowIsABand()
{
    // Mistral's window of 4: query i sees keys i−3..i only; the others are −∞ in the mask stage
    // and exactly 0 in the weights.
    const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/mistral-random-tiny"));
    QVERIFY_OK(checkpoint);
    const Checkpoint &c = **checkpoint.value;
    QCOMPARE(c.config.slidingWindow(0), 4);
    const auto input = prepareInput(c, QStringLiteral("Attention is all you need, said the llama."));
    QVERIFY_OK(input);
    ForwardOptions options;
    options.stageHeads = {{0, 1}};
    const ModelTrace trace = c.model->forward(input.value->forward, options);
    const HeadTrace &head = trace.stages.at({0, 1});
    const Eigen::Index tokens = head.weights.rows();
    QVERIFY(tokens > 8);
    for (Eigen::Index i = 0; i < tokens; ++i) {
        double sum = 0;
        for (Eigen::Index j = 0; j < tokens; ++j) {
            const bool visible = j <= i && j > i - 4;
            QCOMPARE(std::isinf(head.masked(i, j)) && head.masked(i, j) < 0, !visible);
            if (!visible)
                QVERIFY(head.weights(i, j) == 0.0f);
            sum += head.weights(i, j);
        }
        QVERIFY(std::abs(sum - 1.0) < 1e-6);
    }
}

void TestCheckpoint::stepThroughShowsTheHeatmapsBits_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("text");
    // Short inputs stream the linear layers; longer ones use the blocked product.
    for (const char *model : {"gpt2-random-tiny", "bert-random-tiny", "llama-random-tiny", "mistral-random-tiny"}) {
        QTest::newRow(qPrintable(QStringLiteral("%1 short").arg(QLatin1String(model))))
            << QString::fromLatin1(model) << QStringLiteral("The cat sat.");
        QTest::newRow(qPrintable(QStringLiteral("%1 long").arg(QLatin1String(model))))
            << QString::fromLatin1(model)
            << QStringLiteral("The animal didn't cross the street because it was too tired, and then it slept all afternoon.");
    }
}

void TestCheckpoint::stepThroughShowsTheHeatmapsBits()
{
    // One kernel: the stages recomputed for the step-through give exactly the weights the forward
    // pass gave the heatmap, for every head, not merely close ones.
    QFETCH(QString, model);
    QFETCH(QString, text);
    const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/") + model);
    QVERIFY_OK(checkpoint);
    const Checkpoint &c = **checkpoint.value;
    const auto input = prepareInput(c, text);
    QVERIFY_OK(input);
    ForwardOptions options;
    options.keepLayerInputs = true;
    const ModelTrace trace = c.model->forward(input.value->forward, options);
    for (int layer = 0; layer < c.config.layers; ++layer) {
        for (int head = 0; head < c.config.heads; ++head) {
            const HeadTrace stages = c.model->headStages(trace.layerInputs.at(layer), layer, head, input.value->forward, options);
            QCOMPARE(stages.weights, trace.attentions[size_t(layer)][size_t(head)]);
        }
    }
}

void TestCheckpoint::threadsGiveTheSameResult()
{
    for (const QString &name : {QStringLiteral("bert-random-tiny"), QStringLiteral("gpt2-random-tiny")}) {
        const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/") + name);
        QVERIFY(checkpoint);
        const auto input = prepareInput(**checkpoint.value, QStringLiteral("the quick brown fox jumps over the lazy dog"));
        ForwardOptions one, two;
        one.threads = 1;
        two.threads = 2;
        const ModelTrace a = (*checkpoint.value)->model->forward(input.value->forward, one);
        const ModelTrace b = (*checkpoint.value)->model->forward(input.value->forward, two);
        for (size_t l = 0; l < a.attentions.size(); ++l)
            for (size_t h = 0; h < a.attentions[l].size(); ++h)
                QCOMPARE(a.attentions[l][h], b.attentions[l][h]); // the same arithmetic, split differently
    }
}

void TestCheckpoint::linearLayersMatchADoubleProduct()
{
    // y = x W + b on oneDNN against the same product in double, for both storage orders, odd sizes,
    // one token to many, float and bfloat16 weights; and in bf16 against the product of the
    // bfloat16-rounded operands, which is what bf16 promises (float sums of exact bf16 products).
    SplitMix64 rng(11);
    const auto random = [&rng](int rows, int cols) {
        Matrix m(rows, cols);
        for (int i = 0; i < rows; ++i)
            for (int j = 0; j < cols; ++j)
                m(i, j) = float(double(rng.next() % 2001) / 1000.0 - 1.0);
        return m;
    };
    const auto rounded = [](const Matrix &m) {
        Matrix r = m;
        for (Eigen::Index i = 0; i < r.size(); ++i)
            r.data()[i] = bf16ToFloat(floatToBf16(r.data()[i]));
        return r;
    };
    for (bool outByIn : {false, true})
        for (int tokens : {1, 3, 17, 130}) {
            const int inputs = 37, outputs = 300;
            const Matrix x = random(tokens, inputs);
            const Matrix stored = outByIn ? random(outputs, inputs) : random(inputs, outputs);
            const Matrix weights = outByIn ? Matrix(stored.transpose()) : stored; // (in, out)
            const Matrix bias = random(1, outputs);
            std::vector<quint16> halves(size_t(stored.size()));
            floatsToBf16(stored.data(), stored.size(), halves.data());
            LinearWeights linear;
            linear.outByIn = outByIn;
            linear.weight = WeightRef{stored.data(), nullptr, DType::BF16, int(stored.rows()), int(stored.cols())};
            linear.bias = WeightRef{bias.data(), nullptr, DType::BF16, 1, outputs};
            LinearWeights half = linear;
            half.weight = WeightRef{nullptr, reinterpret_cast<const uchar *>(halves.data()), DType::BF16, int(stored.rows()), int(stored.cols())};
            const auto expected = [&](const Matrix &a, const Matrix &w) {
                Eigen::MatrixXd e = a.cast<double>() * w.cast<double>();
                e.rowwise() += bias.row(0).cast<double>();
                return e;
            };
            const auto check = [&](const Matrix &y, const Eigen::MatrixXd &e, const char *what) {
                QCOMPARE(y.rows(), Eigen::Index(tokens));
                QCOMPARE(y.cols(), Eigen::Index(outputs));
                const double difference = (y.cast<double>() - e).cwiseAbs().maxCoeff();
                QVERIFY2(difference < 2e-5, qPrintable(QStringLiteral("%1, outByIn %2, T %3: %4").arg(QLatin1String(what)).arg(outByIn).arg(tokens).arg(difference)));
            };
            for (int threads : {1, 2}) {
                Matrix y;
                applyLinear(linear, x, y, LinearRun{threads});
                check(y, expected(x, weights), "fp32");
                applyLinear(half, x, y, LinearRun{threads});
                check(y, expected(x, rounded(weights)), "bf16 weights in fp32");
                if (!bf16Supported())
                    continue;
                Bf16Weights copies;
                applyLinear(linear, x, y, LinearRun{threads, &copies});
                check(y, expected(rounded(x), rounded(weights)), "bf16");
                QVERIFY(copies.bytes() >= qint64(stored.size()) * 2); // packed, perhaps padded
                applyLinear(half, x, y, LinearRun{threads, &copies});
                check(y, expected(rounded(x), rounded(weights)), "bf16 weights in bf16");
            }
        }
}

void TestCheckpoint::vectorisedGeluMatchesTheFormulas()
{
    Matrix x(3, 7);
    x << -6, -3, -1, -0.5f, 0, 0.5f, 1, 1.5f, 2, 3, 6, -0.1f, 0.1f, 4, 10, -10, 0.7f, -0.7f, 2.5f, -2.5f, 0.01f;
    for (bool tanhForm : {true, false}) {
        Matrix y = x;
        applyActivation(y, tanhForm ? Activation::GeluTanh : Activation::GeluErf, 2);
        for (int i = 0; i < x.rows(); ++i)
            for (int j = 0; j < x.cols(); ++j) {
                const float expected = tanhForm ? geluTanh(x(i, j)) : geluErf(x(i, j));
                QVERIFY2(std::abs(y(i, j) - expected) <= 2e-6f * std::max(1.0f, std::abs(expected)),
                         qPrintable(QStringLiteral("x = %1: %2 vs %3").arg(x(i, j)).arg(y(i, j)).arg(expected)));
            }
    }
    // Known values: GELU(1) = 0.8413447 (erf form), 0.8411920 (tanh form).
    QVERIFY(std::abs(geluErf(1.0f) - 0.8413447f) < 1e-6f);
    QVERIFY(std::abs(geluTanh(1.0f) - 0.8411920f) < 1e-6f);
}

void TestCheckpoint::shardedCheckpoint()
{
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("sharded"));
    copyDirectory(kData + QStringLiteral("/checkpoints/gpt2-random-tiny"), folder);
    QFile::remove(folder + QStringLiteral("/model.safetensors"));
    const QString source = kData + QStringLiteral("/checkpoints/gpt2-random-tiny/model.safetensors");
    QJsonObject weightMap;
    // Layer 0 and the embeddings in shard 1, the rest in shard 2.
    auto inFirst = [](const QString &name) { return name.startsWith(QStringLiteral("h.0.")) || name.startsWith(QStringLiteral("w")); };
    QVERIFY_OK(rewrite(source, folder + QStringLiteral("/model-00001-of-00002.safetensors"),
                       [&](const QString &n) { return inFirst(n) ? n : QString(); }));
    QVERIFY_OK(rewrite(source, folder + QStringLiteral("/model-00002-of-00002.safetensors"),
                       [&](const QString &n) { return inFirst(n) ? QString() : n; }));
    for (const QString &shard : {QStringLiteral("model-00001-of-00002.safetensors"), QStringLiteral("model-00002-of-00002.safetensors")})
        for (const QString &name : (*SafetensorsFile::open(folder + QLatin1Char('/') + shard).value)->tensors().keys())
            weightMap.insert(name, shard);
    writeJson(folder + QStringLiteral("/model.safetensors.index.json"), {{QStringLiteral("weight_map"), weightMap}});
    const auto checkpoint = openCheckpoint(folder);
    QVERIFY2(checkpoint, qPrintable(checkpoint.error));
    QCOMPARE((*checkpoint.value)->model->files().size(), size_t(2));
    const QJsonObject reference = readJson(kData + QStringLiteral("/reference/gpt2-random-tiny.json"));
    const auto input = prepareInput(**checkpoint.value, reference.value(QStringLiteral("text")).toString());
    const ModelTrace trace = (*checkpoint.value)->model->forward(input.value->forward);
    QVERIFY(maxDifference(trace, reference.value(QStringLiteral("attentions")).toArray()) <= kReferenceTolerance);

    // An index naming a shard that is not there is reported with the shard's name.
    QFile::remove(folder + QStringLiteral("/model-00002-of-00002.safetensors"));
    const auto broken = openCheckpoint(folder);
    QVERIFY(!broken);
    QVERIFY2(broken.error.contains(QStringLiteral("model-00002-of-00002.safetensors")), qPrintable(broken.error));
}

void TestCheckpoint::halfPrecisionCheckpoint()
{
    // The same model stored as F16 and as BF16: converted per tensor, attention still close.
    for (DType dtype : {DType::F16, DType::BF16}) {
        QTemporaryDir dir;
        const QString folder = dir.filePath(QStringLiteral("m"));
        copyDirectory(kData + QStringLiteral("/checkpoints/bert-random-tiny"), folder);
        const auto opened = SafetensorsFile::open(kData + QStringLiteral("/checkpoints/bert-random-tiny/model.safetensors"));
        QVERIFY_OK(opened);
        const auto &source = *opened.value;
        std::vector<TensorToWrite> tensors;
        for (const TensorView &view : source->tensors()) {
            if (view.dtype != DType::F32) { // the int64 position_ids buffer stays as it is
                const QByteArray bytes(reinterpret_cast<const char *>(view.data), view.byteCount);
                tensors.push_back({view.name, view.dtype, view.shape, [bytes] { return bytes; }});
                continue;
            }
            std::vector<float> values(size_t(view.elementCount()));
            QVERIFY_OK(readFloats(view, values.data(), view.elementCount()));
            tensors.push_back({view.name, dtype, view.shape, [values, dtype] { return encodeFloats(values, dtype); }});
        }
        QVERIFY_OK(writeSafetensors(folder + QStringLiteral("/model.safetensors"), tensors));
        const auto checkpoint = openCheckpoint(folder);
        QVERIFY2(checkpoint, qPrintable(checkpoint.error));
        const QJsonObject reference = readJson(kData + QStringLiteral("/reference/bert-random-tiny.json"));
        const auto input = prepareInput(**checkpoint.value, reference.value(QStringLiteral("text_a")).toString(),
                                        reference.value(QStringLiteral("text_b")).toString());
        const ModelTrace trace = (*checkpoint.value)->model->forward(input.value->forward);
        // Rounding the weights to 16 bits moves the attention a little; the pattern stays.
        const double difference = maxDifference(trace, reference.value(QStringLiteral("attentions")).toArray());
        qInfo("%s weights: max |difference| %.3g", qPrintable(dtypeName(dtype)), difference);
        QVERIFY2(difference < (dtype == DType::F16 ? 0.005 : 0.03), qPrintable(QString::number(difference)));
    }
}

void TestCheckpoint::halfPrecisionWeightsStayInTheFile_data()
{
    QTest::addColumn<QString>("model");
    QTest::newRow("GPT-2, Conv1D [in, out]") << QStringLiteral("gpt2-random-tiny");
    QTest::newRow("Llama, Linear [out, in]") << QStringLiteral("llama-random-tiny");
}

void TestCheckpoint::halfPrecisionWeightsStayInTheFile()
{
    // The same weights stored as BF16, and as F32 holding exactly the BF16 values: the BF16 model
    // keeps its matrices in the file (converted block by block as used, never whole) and gives
    // the same attention as the float one, for short (streamed) and long (blocked) inputs.
    QFETCH(QString, model);
    QTemporaryDir dir;
    const auto opened = SafetensorsFile::open(kData + QStringLiteral("/checkpoints/") + model + QStringLiteral("/model.safetensors"));
    QVERIFY_OK(opened);
    std::vector<TensorToWrite> half, rounded;
    for (const TensorView &view : (*opened.value)->tensors()) {
        if (view.dtype != DType::F32)
            continue; // buffers the model does not read
        std::vector<float> values(size_t(view.elementCount()));
        QVERIFY_OK(readFloats(view, values.data(), view.elementCount()));
        const QByteArray bf16 = encodeFloats(values, DType::BF16);
        halfsToFloats(DType::BF16, reinterpret_cast<const uchar *>(bf16.constData()), qint64(values.size()), values.data());
        half.push_back({view.name, DType::BF16, view.shape, [bf16] { return bf16; }});
        rounded.push_back({view.name, DType::F32, view.shape, [values] { return encodeFloats(values, DType::F32); }});
    }
    const QString halfFolder = dir.filePath(QStringLiteral("bf16")), floatFolder = dir.filePath(QStringLiteral("f32"));
    copyDirectory(kData + QStringLiteral("/checkpoints/") + model, halfFolder);
    copyDirectory(kData + QStringLiteral("/checkpoints/") + model, floatFolder);
    QFile::remove(halfFolder + QStringLiteral("/model.safetensors"));
    QFile::remove(floatFolder + QStringLiteral("/model.safetensors"));
    QVERIFY_OK(writeSafetensors(halfFolder + QStringLiteral("/model.safetensors"), half));
    QVERIFY_OK(writeSafetensors(floatFolder + QStringLiteral("/model.safetensors"), rounded));
    const auto halfModel = openCheckpoint(halfFolder);
    const auto floatModel = openCheckpoint(floatFolder);
    QVERIFY_OK(halfModel);
    QVERIFY_OK(floatModel);
    // Only the vectors (norms, biases) are converted: under 2 % of the weights.
    const qint64 converted = (*halfModel.value)->model->convertedBytes();
    qInfo("%s: %lld converted bytes of %lld in the file", qPrintable(model), converted, (*halfModel.value)->weightBytes);
    QVERIFY(converted < (*halfModel.value)->weightBytes / 50);
    for (const QString &text : {QStringLiteral("Hello world."),
                                QStringLiteral("The animal didn't cross the street because it was too tired, so it slept.")}) {
        const auto input = prepareInput(**halfModel.value, text);
        QVERIFY_OK(input);
        const ModelTrace a = (*halfModel.value)->model->forward(input.value->forward);
        const ModelTrace b = (*floatModel.value)->model->forward(input.value->forward);
        double worst = 0;
        for (size_t l = 0; l < a.attentions.size(); ++l)
            for (size_t h = 0; h < a.attentions[l].size(); ++h)
                worst = std::max(worst, testing::maxAbsDifference(a.attentions[l][h], b.attentions[l][h]));
        QVERIFY2(worst < 1e-5, qPrintable(QString::number(worst)));
    }
}

void TestCheckpoint::sentencePieceModelFileAloneIsExplained()
{
    // A Llama folder with tokenizer.model but no tokenizer.json is told what is missing.
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("llama"));
    copyDirectory(kData + QStringLiteral("/checkpoints/mistral-random-tiny"), folder);
    QVERIFY(QFile::remove(folder + QStringLiteral("/tokenizer.json")));
    const Result<std::shared_ptr<Checkpoint>> withNone = openCheckpoint(folder);
    QVERIFY(!withNone);
    QVERIFY2(withNone.error.contains(QStringLiteral("needs tokenizer.json")), qPrintable(withNone.error));
    QFile model(folder + QStringLiteral("/tokenizer.model"));
    QVERIFY(model.open(QIODevice::WriteOnly));
    model.write("\x0a\x05<unk>");
    model.close();
    const Result<std::shared_ptr<Checkpoint>> withModel = openCheckpoint(folder);
    QVERIFY(!withModel);
    QVERIFY2(withModel.error.contains(QStringLiteral("only tokenizer.model")) && withModel.error.contains(QStringLiteral("tokenizer.json")),
             qPrintable(withModel.error));
}

void TestCheckpoint::legacyLayerNormNamesAndPrefixes()
{
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("legacy"));
    copyDirectory(kData + QStringLiteral("/checkpoints/bert-random-tiny"), folder);
    // Old BERT files: LayerNorm.gamma/beta, and a "bert." prefix.
    QVERIFY_OK(rewrite(kData + QStringLiteral("/checkpoints/bert-random-tiny/model.safetensors"), folder + QStringLiteral("/model.safetensors"),
                       [](QString n) {
                           n.replace(QStringLiteral("LayerNorm.weight"), QStringLiteral("LayerNorm.gamma"));
                           n.replace(QStringLiteral("LayerNorm.bias"), QStringLiteral("LayerNorm.beta"));
                           return QStringLiteral("bert.") + n;
                       }));
    const auto checkpoint = openCheckpoint(folder);
    QVERIFY2(checkpoint, qPrintable(checkpoint.error));
    const QJsonObject reference = readJson(kData + QStringLiteral("/reference/bert-random-tiny.json"));
    const auto input = prepareInput(**checkpoint.value, reference.value(QStringLiteral("text_a")).toString(),
                                    reference.value(QStringLiteral("text_b")).toString());
    QVERIFY(maxDifference((*checkpoint.value)->model->forward(input.value->forward), reference.value(QStringLiteral("attentions")).toArray())
            <= kReferenceTolerance);
}

void TestCheckpoint::truncatesToTheModelsPositions()
{
    const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/bert-random-tiny")); // 64 positions
    QVERIFY(checkpoint);
    QString text;
    for (int i = 0; i < 100; ++i)
        text += QStringLiteral("the ");
    const auto input = prepareInput(**checkpoint.value, text);
    QVERIFY2(input, qPrintable(input.error));
    QCOMPARE(input.value->truncatedFrom, 102); // [CLS] + 100 + [SEP]
    QCOMPARE(input.value->forward.ids.size(), size_t(64));
    QCOMPARE(input.value->encoding.tokens.size(), 64);
    const ModelTrace trace = (*checkpoint.value)->model->forward(input.value->forward);
    QCOMPARE(trace.attentions[1][3].rows(), 64);
    // Input that did not go through prepareInput is checked too.
    ForwardInput tooLong;
    tooLong.ids.assign(65, 5);
    QVERIFY((*checkpoint.value)->model->validate(tooLong).error.contains(QStringLiteral("positions")));
    ForwardInput badId;
    badId.ids = {1, 5000};
    QVERIFY((*checkpoint.value)->model->validate(badId).error.contains(QStringLiteral("vocabulary")));
}

void TestCheckpoint::refusesBadFolders_data()
{
    QTest::addColumn<QString>("edit");
    QTest::addColumn<QString>("message");
    QTest::newRow("not a folder") << QStringLiteral("file") << QStringLiteral("is not a folder");
    QTest::newRow("no config") << QStringLiteral("rm config.json") << QStringLiteral("has no config.json");
    QTest::newRow("config not JSON") << QStringLiteral("write config.json {") << QStringLiteral("config.json is not valid JSON");
    QTest::newRow("other architecture") << QStringLiteral("config model_type=\"falcon\"") << QStringLiteral("model_type \"falcon\" (GPT2LMHeadModel) is not supported");
    QTest::newRow("bad size") << QStringLiteral("config n_head=0") << QStringLiteral("\"n_head\" must be a positive whole number");
    QTest::newRow("d_model beyond any model") << QStringLiteral("config n_embd=1000000000") << QStringLiteral("\"n_embd\" is 1000000000, more than any model Attention Studio runs");
    QTest::newRow("ten million layers") << QStringLiteral("config n_layer=10000000") << QStringLiteral("\"n_layer\" is 10000000, more than any model");
    QTest::newRow("more layers than the file holds") << QStringLiteral("config n_layer=4000") << QStringLiteral("missing tensor \"h.2.ln_1.weight\"");
    QTest::newRow("default MLP width overflows") << QStringLiteral("config n_embd=600000") << QStringLiteral("the default of \"n_inner\" (2400000)");
    QTest::newRow("heads do not divide") << QStringLiteral("config n_head=3") << QStringLiteral("not divisible by 3 heads");
    QTest::newRow("config disagrees with weights") << QStringLiteral("config n_embd=32") << QStringLiteral("has shape [1000, 64], expected [1000, 32]");
    QTest::newRow("no weights") << QStringLiteral("rm model.safetensors") << QStringLiteral("has no model.safetensors");
    QTest::newRow("only a PyTorch file") << QStringLiteral("mv model.safetensors pytorch_model.bin") << QStringLiteral("only pytorch_model.bin");
    QTest::newRow("missing tensor") << QStringLiteral("drop h.1.mlp.c_fc.weight") << QStringLiteral("missing tensor \"h.1.mlp.c_fc.weight\"");
    QTest::newRow("wrong dtype") << QStringLiteral("int h.0.ln_1.weight") << QStringLiteral("has dtype I32");
    QTest::newRow("no tokenizer") << QStringLiteral("rm vocab.json") << QStringLiteral("no tokenizer");
    QTest::newRow("truncated weights") << QStringLiteral("truncate model.safetensors") << QStringLiteral("run past the end");
}

void TestCheckpoint::refusesBadFolders()
{
    QFETCH(QString, edit);
    QFETCH(QString, message);
    QTemporaryDir dir;
    QString folder = dir.filePath(QStringLiteral("m"));
    const QString source = kData + QStringLiteral("/checkpoints/gpt2-random-tiny");
    copyDirectory(source, folder);
    const QStringList words = edit.split(QLatin1Char(' '));
    const QString verb = words.at(0);
    const QString target = words.value(1);
    const QString path = folder + QLatin1Char('/') + target;
    if (verb == QStringLiteral("file")) {
        folder += QStringLiteral("/config.json");
    } else if (verb == QStringLiteral("rm")) {
        QVERIFY(QFile::remove(path));
    } else if (verb == QStringLiteral("mv")) {
        QVERIFY(QFile::rename(path, folder + QLatin1Char('/') + words.at(2)));
    } else if (verb == QStringLiteral("write")) {
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(words.at(2).toUtf8());
    } else if (verb == QStringLiteral("config")) {
        QJsonObject config = readJson(folder + QStringLiteral("/config.json"));
        const QStringList kv = target.split(QLatin1Char('='));
        config.insert(kv.at(0), QJsonDocument::fromJson("[" + kv.at(1).toUtf8() + "]").array().at(0));
        writeJson(folder + QStringLiteral("/config.json"), config);
    } else if (verb == QStringLiteral("drop")) {
        QVERIFY_OK(rewrite(source + QStringLiteral("/model.safetensors"), folder + QStringLiteral("/model.safetensors"),
                           [&](const QString &n) { return n == target ? QString() : n; }));
    } else if (verb == QStringLiteral("int")) {
        const auto opened = SafetensorsFile::open(source + QStringLiteral("/model.safetensors"));
        QVERIFY_OK(opened);
        const auto &file = *opened.value;
        std::vector<TensorToWrite> tensors;
        for (const TensorView &view : file->tensors()) {
            const QByteArray bytes(reinterpret_cast<const char *>(view.data), view.byteCount);
            tensors.push_back({view.name, view.name == target ? DType::I32 : view.dtype, view.shape, [bytes] { return bytes; }});
        }
        QVERIFY_OK(writeSafetensors(folder + QStringLiteral("/model.safetensors"), tensors));
    } else if (verb == QStringLiteral("truncate")) {
        QFile file(path);
        QVERIFY(file.resize(file.size() - 1000));
    }
    const auto checkpoint = openCheckpoint(folder);
    QVERIFY(!checkpoint);
    QVERIFY2(checkpoint.error.contains(message), qPrintable(checkpoint.error));
}

void TestCheckpoint::cancelStopsBetweenLayers()
{
    const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/gpt2-random-tiny"));
    const auto input = prepareInput(**checkpoint.value, QStringLiteral("Hello"));
    std::atomic<bool> cancel{false};
    ForwardOptions options;
    options.cancel = &cancel;
    QList<int> progress;
    options.progress = [&](int layers) {
        progress.append(layers);
        cancel = true; // cancel after the first layer
    };
    const ModelTrace trace = (*checkpoint.value)->model->forward(input.value->forward, options);
    QVERIFY(trace.cancelled);
    QCOMPARE(progress, QList<int>{1});
    QCOMPARE(trace.attentions[1][0].size(), 0); // layer 1 never ran
}

void TestCheckpoint::findsModelsInTheHuggingFaceCache()
{
    QTemporaryDir home;
    const QString hub = home.filePath(QStringLiteral("hub"));
    copyDirectory(kData + QStringLiteral("/checkpoints/hf-tiny-gpt2"), hub + QStringLiteral("/models--sshleifer--tiny-gpt2/snapshots/abc123"));
    QDir().mkpath(hub + QStringLiteral("/models--empty--repo/snapshots/def"));
    QDir().mkpath(hub + QStringLiteral("/datasets--x--y/snapshots/1"));
    const QList<CachedModel> models = listCachedModels(hub);
    QCOMPARE(models.size(), 1);
    QCOMPARE(models.first().name, QStringLiteral("sshleifer/tiny-gpt2"));
    const auto checkpoint = openCheckpoint(models.first().directory);
    QVERIFY2(checkpoint, qPrintable(checkpoint.error));
    QCOMPARE((*checkpoint.value)->name, QStringLiteral("sshleifer/tiny-gpt2"));
    qputenv("HF_HOME", home.path().toUtf8());
    QCOMPARE(defaultHuggingFaceHub(), hub);
}

void TestCheckpoint::foldersAndFilesOfTheWrongKind()
{
    QTemporaryDir dir;
    QVERIFY(openCheckpoint(dir.filePath(QStringLiteral("missing"))).error.contains(QStringLiteral("is not a folder")));
    // A model folder whose model.safetensors is a folder.
    QDir(dir.path()).mkpath(QStringLiteral("m/model.safetensors"));
    QFile::copy(QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny/config.json"), dir.filePath(QStringLiteral("m/config.json")));
    const auto checkpoint = openCheckpoint(dir.filePath(QStringLiteral("m")));
    QVERIFY(!checkpoint);
    QVERIFY2(checkpoint.error.contains(QStringLiteral("is a folder")), qPrintable(checkpoint.error));
}

void TestCheckpoint::pipesAndDevicesAreRefusedNotWaitedFor_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("kind"); // "fifo", or the device a symbolic link points to
    QTest::newRow("config.json as a FIFO") << QStringLiteral("gpt2-random-tiny") << QStringLiteral("config.json") << QStringLiteral("fifo");
    QTest::newRow("model.safetensors as a FIFO") << QStringLiteral("gpt2-random-tiny") << QStringLiteral("model.safetensors") << QStringLiteral("fifo");
    QTest::newRow("vocab.json as a FIFO") << QStringLiteral("gpt2-random-tiny") << QStringLiteral("vocab.json") << QStringLiteral("fifo");
    QTest::newRow("merges.txt to /dev/zero") << QStringLiteral("gpt2-random-tiny") << QStringLiteral("merges.txt") << QStringLiteral("/dev/zero");
    QTest::newRow("model.safetensors to /dev/zero") << QStringLiteral("gpt2-random-tiny") << QStringLiteral("model.safetensors") << QStringLiteral("/dev/zero");
    QTest::newRow("vocab.txt as a FIFO") << QStringLiteral("bert-random-tiny") << QStringLiteral("vocab.txt") << QStringLiteral("fifo");
    QTest::newRow("tokenizer_config.json to /dev/zero") << QStringLiteral("bert-random-tiny") << QStringLiteral("tokenizer_config.json") << QStringLiteral("/dev/zero");
}

void TestCheckpoint::pipesAndDevicesAreRefusedNotWaitedFor()
{
    QFETCH(QString, model);
    QFETCH(QString, file);
    QFETCH(QString, kind);
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("m"));
    copyDirectory(kData + QStringLiteral("/checkpoints/") + model, folder);
    const QString path = folder + QLatin1Char('/') + file;
    QFile::remove(path);
    if (kind == QStringLiteral("fifo"))
        QCOMPARE(mkfifo(QFile::encodeName(path).constData(), 0600), 0);
    else
        QVERIFY(QFile::link(kind, path));
    // Opened on a thread of its own: a regression blocks that thread, not the test.
    auto message = std::make_shared<QString>();
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::thread([folder, message, done] {
        *message = openCheckpoint(folder).error;
        *done = true;
    }).detach();
    QTRY_VERIFY_WITH_TIMEOUT(done->load(), 20000);
    QVERIFY2(message->contains(QStringLiteral("not a regular file")) && message->contains(file), qPrintable(*message));
}

void TestCheckpoint::nonFiniteWeightsAreNamedAndNeverLookMasked()
{
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("m"));
    const QString source = kData + QStringLiteral("/checkpoints/gpt2-random-tiny");
    copyDirectory(source, folder);
    const auto opened = SafetensorsFile::open(source + QStringLiteral("/model.safetensors"));
    QVERIFY_OK(opened);
    std::vector<TensorToWrite> tensors;
    for (const TensorView &view : (*opened.value)->tensors()) {
        QByteArray bytes(reinterpret_cast<const char *>(view.data), view.byteCount);
        if (view.name.endsWith(QStringLiteral("h.0.attn.c_attn.weight"))) { // W_Q[0][0] of head 0
            const float nan = std::numeric_limits<float>::quiet_NaN();
            std::memcpy(bytes.data(), &nan, sizeof nan);
        }
        tensors.push_back({view.name, view.dtype, view.shape, [bytes] { return bytes; }});
    }
    QVERIFY_OK(writeSafetensors(folder + QStringLiteral("/model.safetensors"), tensors));
    const auto checkpoint = openCheckpoint(folder);
    QVERIFY_OK(checkpoint);
    const Checkpoint &c = **checkpoint.value;
    QCOMPARE(c.model->nonFiniteTensors(), QStringList{QStringLiteral("h.0.attn.c_attn.weight")});
    const auto input = prepareInput(c, QStringLiteral("The cat sat."));
    QVERIFY_OK(input);
    const ModelTrace trace = c.model->forward(input.value->forward);
    QVERIFY(std::isnan(trace.attentions[0][0](1, 0))); // head 0 of layer 0 reads the NaN
    ModelTrace streamed = trace;
    QByteArray bytes;
    JsonStream out([&bytes](const QByteArray &chunk) { bytes += chunk; return true; });
    ModelTraceWriter writer(out, c, *input.value);
    writer.begin();
    for (int layer = 0; layer < c.config.layers; ++layer)
        writer.writeLayer(layer, streamed);
    writer.end(trace);
    QVERIFY(out.finish());
    const QJsonObject json = QJsonDocument::fromJson(bytes).object();
    const QJsonArray warnings = json.value(QStringLiteral("warnings")).toArray();
    QCOMPARE(warnings.size(), 1);
    QVERIFY(warnings.at(0).toString().contains(QStringLiteral("h.0.attn.c_attn.weight")));
    const QJsonArray row = json.value(QStringLiteral("layers")).toArray().at(0).toObject().value(QStringLiteral("heads")).toArray()
                               .at(0).toObject().value(QStringLiteral("weights")).toArray().at(1).toArray();
    QCOMPARE(row.at(0).toString(), QStringLiteral("NaN")); // not null, which means masked
    for (const QJsonValue &cell : row)
        QVERIFY(!cell.isNull());
    // The window says so too.
    QVERIFY(checkpointResult(c, *input.value, ModelTrace(trace)).notice.contains(QStringLiteral("h.0.attn.c_attn.weight")));
}

void TestCheckpoint::unknownPiecesBecomeTheUnknownToken()
{
    // A GPT-2 vocabulary missing the byte "ð" (the first byte of "🐈"): GPT2Tokenizer maps the piece
    // to its unk_token, "<|endoftext|>" by default, or the token tokenizer_config.json names.
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("gpt2"));
    copyDirectory(kData + QStringLiteral("/checkpoints/gpt2-random-tiny"), folder);
    QJsonObject vocab = readJson(folder + QStringLiteral("/vocab.json"));
    QVERIFY(vocab.contains(QStringLiteral("ð")));
    QVERIFY(vocab.contains(QStringLiteral("<|endoftext|>")));
    vocab.remove(QStringLiteral("ð"));
    writeJson(folder + QStringLiteral("/vocab.json"), vocab);
    auto tokensOf = [&](const QString &text) {
        const auto checkpoint = openCheckpoint(folder);
        if (!checkpoint)
            return Result<Encoding>::failure(checkpoint.error);
        return (*checkpoint.value)->tokenizer->encode(text);
    };
    Result<Encoding> encoded = tokensOf(QStringLiteral("a 🐈"));
    QVERIFY2(encoded, qPrintable(encoded.error));
    QVERIFY2(encoded.value->tokens.contains(QStringLiteral("<|endoftext|>")), qPrintable(encoded.value->tokens.join(u' ')));
    QCOMPARE(encoded.value->ids[size_t(encoded.value->tokens.indexOf(QStringLiteral("<|endoftext|>")))],
             vocab.value(QStringLiteral("<|endoftext|>")).toInt());
    // The app runs on it: a result with a token for every piece, the unknown one included.
    const auto checkpoint = openCheckpoint(folder);
    const auto input = prepareInput(**checkpoint.value, QStringLiteral("a 🐈"));
    QVERIFY2(input, qPrintable(input.error));
    // tokenizer_config.json may name another unknown token.
    writeJson(folder + QStringLiteral("/tokenizer_config.json"), {{QStringLiteral("unk_token"), QJsonObject{{QStringLiteral("content"), QStringLiteral("a")}}}});
    encoded = tokensOf(QStringLiteral("🐈"));
    QVERIFY2(encoded, qPrintable(encoded.error));
    QCOMPARE(encoded.value->tokens.first(), QStringLiteral("a"));
    // One the vocabulary lacks cannot stand in: the piece is named in the message.
    writeJson(folder + QStringLiteral("/tokenizer_config.json"), {{QStringLiteral("unk_token"), QStringLiteral("<unk>")}});
    encoded = tokensOf(QStringLiteral("🐈"));
    QVERIFY(!encoded);
    QVERIFY2(encoded.error.contains(QStringLiteral("not in the vocabulary")) && encoded.error.contains(QStringLiteral("<F0>")), qPrintable(encoded.error));
}

void TestCheckpoint::attentionTemperatureIsAnExperimentOnAnyModel()
{
    const auto checkpoint = openCheckpoint(kData + QStringLiteral("/checkpoints/gpt2-random-tiny"));
    QVERIFY2(checkpoint, qPrintable(checkpoint.error));
    const TransformerModel &model = *(*checkpoint.value)->model;
    Result<PreparedInput> input = prepareInput(**checkpoint.value, QStringLiteral("Hello world, how are you?"));
    QVERIFY(input);
    ForwardOptions options;
    options.keepLayerInputs = true;
    options.stageHeads = {{0, 1}, {1, 2}};
    const ModelTrace asTrained = model.forward(input.value->forward, options);
    ForwardInput hot = input.value->forward;
    hot.attentionTemperature = 2.0;
    const ModelTrace experiment = model.forward(hot, options);
    // Layer 0 sees the same input: its weights are exactly the softmax of the same masked scores / 2.
    const HeadTrace &first = experiment.stages.at({0, 1});
    QCOMPARE(first.masked, asTrained.stages.at({0, 1}).masked);
    // (softmaxRows is the kernel's softmax on its own; the kernel may fold 1/τ into its exponent, so
    // the two agree to float rounding.)
    const float offBy = (first.weights - softmaxRows(first.masked, 2.0)).cwiseAbs().maxCoeff();
    QVERIFY2(offBy <= 1e-6f, qPrintable(QString::number(offBy)));
    QVERIFY(std::abs(first.weights.row(3).sum() - 1.0f) < 1e-6f);
    QVERIFY(first.weights != asTrained.stages.at({0, 1}).weights);
    // Layer 1 sees another input (layer 0 changed), so its scores differ too, and the recomputed
    // stages of one head agree with the run.
    QVERIFY(experiment.stages.at({1, 2}).masked != asTrained.stages.at({1, 2}).masked);
    const HeadTrace again = model.headStages(experiment.layerInputs.at(1), 1, 2, hot, options);
    QCOMPARE(again.weights, experiment.stages.at({1, 2}).weights);
    // τ = 1 is the model as trained, bit for bit; a τ that is not a positive number is read as 1.
    ForwardInput one = input.value->forward;
    one.attentionTemperature = 1.0;
    QCOMPARE(model.forward(one, options).attentions, asTrained.attentions);
    one.attentionTemperature = std::numeric_limits<double>::quiet_NaN();
    QCOMPARE(model.forward(one, options).attentions, asTrained.attentions);
}

QTEST_GUILESS_MAIN(TestCheckpoint)
#include "tst_checkpoint.moc"
