#include "checkpoint.h"
#include "mariantokenizer.h"
#include "safetensorswriter.h"
#include "testsupport.h"
#include "translationcheckpoint.h"
#include "translationmodel.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <functional>
#include <sys/stat.h>

using namespace studio;
using studio::testing::intList;
using studio::testing::readJson;

namespace {

const QString kData = QStringLiteral(STUDIO_TEST_DATA);
const QString kMarian = kData + QStringLiteral("/checkpoints/marian-random-tiny");
const QString kT5 = kData + QStringLiteral("/checkpoints/t5-random-tiny");
// The float64 references' recommended tolerances for a float32 port (tests/data/README.md):
// attentions 1e-5 absolute; logits 1e-4 relative to max(1, |x|); greedy ids exact.
constexpr double kAttentionTolerance = 1e-5;
constexpr double kLogitTolerance = 1e-4;

QStringList stringList(const QJsonValue &value)
{
    QStringList out;
    for (const QJsonValue &v : value.toArray())
        out.append(v.toString());
    return out;
}

// Largest |ours − reference| over maps[layer][head][row][col]; ∞ when the shapes differ.
double maxDifference(const AttentionMaps &maps, const QJsonArray &reference)
{
    if (reference.size() != qsizetype(maps.size()))
        return INFINITY;
    double worst = 0;
    for (qsizetype l = 0; l < reference.size(); ++l) {
        const QJsonArray heads = reference.at(l).toArray();
        if (heads.size() != qsizetype(maps[size_t(l)].size()))
            return INFINITY;
        for (qsizetype h = 0; h < heads.size(); ++h) {
            const Matrix &ours = maps[size_t(l)][size_t(h)];
            const QJsonArray rows = heads.at(h).toArray();
            if (rows.size() != ours.rows())
                return INFINITY;
            for (qsizetype i = 0; i < rows.size(); ++i) {
                const QJsonArray cols = rows.at(i).toArray();
                if (cols.size() != ours.cols())
                    return INFINITY;
                for (qsizetype j = 0; j < cols.size(); ++j)
                    worst = std::max(worst, std::abs(cols.at(j).toDouble() - double(ours(i, j))));
            }
        }
    }
    return worst;
}

std::shared_ptr<TranslationCheckpoint> openMarian(const QString &directory = kMarian)
{
    Result<std::shared_ptr<TranslationCheckpoint>> opened = openTranslationCheckpoint(directory);
    if (!opened)
        qWarning("%s", qPrintable(opened.error));
    return opened ? *opened.value : nullptr;
}

// A stored checkpoint's tensors (Marian's unless `from` says otherwise), changed by `edit` (name, values → new values, or drop when it
// returns false), written as `dtype` into `folder` with the tokenizer files and a config edited by
// `config`.
Status writeVariant(const QString &folder, const std::function<void(QJsonObject &)> &config,
                    const std::function<bool(QString &, std::vector<float> &, std::vector<qint64> &)> &edit, DType dtype = DType::F32,
                    const QString &from = kMarian)
{
    QDir().mkpath(folder);
    for (const QString &name : QDir(from).entryList(QDir::Files))
        if (name != QStringLiteral("model.safetensors") && name != QStringLiteral("config.json")
            && !QFile::copy(from + QLatin1Char('/') + name, folder + QLatin1Char('/') + name))
            return Status::failure(QStringLiteral("cannot copy ") + name);
    QJsonObject json = readJson(from + QStringLiteral("/config.json"));
    config(json);
    QFile out(folder + QStringLiteral("/config.json"));
    if (!out.open(QIODevice::WriteOnly) || out.write(QJsonDocument(json).toJson()) < 0)
        return Status::failure(QStringLiteral("cannot write config.json"));
    out.close();
    Result<std::unique_ptr<SafetensorsFile>> source = SafetensorsFile::open(from + QStringLiteral("/model.safetensors"));
    if (!source)
        return Status::failure(source.error);
    std::vector<TensorToWrite> tensors;
    for (auto it = (*source.value)->tensors().cbegin(); it != (*source.value)->tensors().cend(); ++it) {
        std::vector<float> values(size_t(it.value().elementCount()));
        if (const Status read = readFloats(it.value(), values.data(), qint64(values.size())); !read)
            return read;
        QString name = it.key();
        std::vector<qint64> shape = it.value().shape;
        if (!edit(name, values, shape))
            continue;
        const QByteArray bytes = encodeFloats(values, dtype);
        tensors.push_back({name, dtype, shape, [bytes] { return bytes; }});
    }
    return writeSafetensors(folder + QStringLiteral("/model.safetensors"), tensors);
}

// Rewrites a folder's model.safetensors: each tensor goes to `each` (name, values, shape), which
// writes it (or not) and may add tensors of its own through `write`.
using TensorWriter = std::function<void(const QString &name, const std::vector<float> &values, const std::vector<qint64> &shape)>;
Status rewriteTensors(const QString &folder,
                      const std::function<void(const QString &, const std::vector<float> &, const std::vector<qint64> &, const TensorWriter &)> &each)
{
    const QString path = folder + QStringLiteral("/model.safetensors");
    std::vector<TensorToWrite> tensors;
    {
        Result<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::open(path);
        if (!file)
            return Status::failure(file.error);
        const TensorWriter write = [&tensors](const QString &name, const std::vector<float> &values, const std::vector<qint64> &shape) {
            const QByteArray bytes = encodeFloats(values, DType::F32);
            tensors.push_back({name, DType::F32, shape, [bytes] { return bytes; }});
        };
        for (auto it = (*file.value)->tensors().cbegin(); it != (*file.value)->tensors().cend(); ++it) {
            std::vector<float> values(size_t(it.value().elementCount()));
            if (const Status read = readFloats(it.value(), values.data(), qint64(values.size())); !read)
                return read;
            each(it.key(), values, it.value().shape, write);
        }
    } // the file is unmapped before it is replaced
    return writeSafetensors(path, tensors);
}

bool keep(QString &, std::vector<float> &, std::vector<qint64> &)
{
    return true;
}

void noChange(QJsonObject &) {}

TranslationTrace run(const TranslationCheckpoint &checkpoint, const QString &source, const QString &target)
{
    const Result<PreparedTranslation> prepared = prepareTranslation(checkpoint, source, target);
    if (!prepared)
        return {};
    return checkpoint.model->forward(prepared.value->input);
}

double maxMapDifference(const SharedAttentionMaps &a, const SharedAttentionMaps &b)
{
    if (a->size() != b->size())
        return INFINITY;
    double worst = 0;
    for (size_t l = 0; l < a->size(); ++l) {
        if ((*a)[l].size() != (*b)[l].size())
            return INFINITY;
        for (size_t h = 0; h < (*a)[l].size(); ++h)
            worst = std::max(worst, testing::maxAbsDifference((*a)[l][h], (*b)[l][h]));
    }
    return worst;
}

} // namespace

class TestTranslation : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void tokenizerMatchesVectors_data();
    void tokenizerMatchesVectors();
    void tokenizerSplitsSpecialTokensAndLanguageCodes();
    void matchesReference_data();
    void matchesReference();
    void greedyMatchesReference_data();
    void greedyMatchesReference();
    void attentionInvariants();
    void relativeBucketsMatchTransformers();
    void t5ConfigAndItsTeachingPoints();
    void t5GatedFeedForwardAndUntiedOutput();
    void sourcePaddingIsMasked();
    void positionsAreSinThenCos();
    void configDefaultsAndRefusals();
    void otherEncoderDecodersAreRefusedByName();
    void halfPrecisionWeightsAreUpcast();
    void unscaledEmbeddingsAndSeparateTables();
    void untiedOutputAndLogitsBias();
    void activationVariants();
    void separateVocabularies();
    void malformedFoldersGiveMessages();
    void longSourceIsCutKeepingTheEnd();
    void headStagesEqualTheForwardPass();
};

void TestTranslation::tokenizerMatchesVectors_data()
{
    QTest::addColumn<QJsonObject>("vector");
    const QJsonArray vectors = QJsonDocument::fromJson(testing::readAll(kData + QStringLiteral("/tokenizers/marian-random-tiny.vectors.json"))).array();
    QCOMPARE(vectors.size(), 20);
    for (qsizetype i = 0; i < vectors.size(); ++i)
        QTest::newRow(qPrintable(QStringLiteral("%1: %2").arg(i).arg(vectors.at(i).toObject().value(QStringLiteral("text")).toString().simplified().left(24))))
            << vectors.at(i).toObject();
}

void TestTranslation::tokenizerMatchesVectors()
{
    QFETCH(QJsonObject, vector);
    static const auto tokenizer = MarianTokenizer::fromFolder(kMarian);
    QVERIFY_OK(tokenizer);
    const QString text = vector.value(QStringLiteral("text")).toString();
    const Result<Encoding> source = (*tokenizer.value)->encode(text);
    QVERIFY_OK(source);
    QCOMPARE(source.value->tokens, stringList(vector.value(QStringLiteral("source_pieces"))));
    QCOMPARE(source.value->ids, intList(vector.value(QStringLiteral("source_ids"))));
    const Result<Encoding> target = (*tokenizer.value)->encodeTarget(text);
    QVERIFY_OK(target);
    QCOMPARE(target.value->tokens, stringList(vector.value(QStringLiteral("target_pieces"))));
    QCOMPARE(target.value->ids, intList(vector.value(QStringLiteral("target_ids"))));
}

void TestTranslation::tokenizerSplitsSpecialTokensAndLanguageCodes()
{
    const auto tokenizer = MarianTokenizer::fromFolder(kMarian);
    QVERIFY_OK(tokenizer);
    const MarianTokenizer &t = **tokenizer.value;
    // A special token written in the text is that token, not pieces of it.
    const Result<Encoding> withEnd = t.encode(QStringLiteral("The</s>cat"));
    QVERIFY_OK(withEnd);
    QCOMPARE(withEnd.value->tokens.count(QStringLiteral("</s>")), 2);
    QCOMPARE(withEnd.value->ids[size_t(withEnd.value->tokens.indexOf(QStringLiteral("</s>")))], 0);
    // A language code only at the very start; elsewhere it is text.
    const Result<Encoding> code = t.encode(QStringLiteral(">>fr<<Hello"));
    QVERIFY_OK(code);
    QCOMPARE(code.value->tokens.first(), QStringLiteral(">>fr<<"));
    QCOMPARE(code.value->ids.front(), t.unknownId()); // not in this vocabulary
    const Result<Encoding> inside = t.encode(QStringLiteral("Hello >>fr<<"));
    QVERIFY_OK(inside);
    QVERIFY(!inside.value->tokens.contains(QStringLiteral(">>fr<<")));
    // Display: ▁ is a visible space; special tokens as they are.
    QCOMPARE(t.displayToken(QStringLiteral("\u2581Haus")), QStringLiteral("\u2423Haus"));
    QCOMPARE(t.displayToken(QStringLiteral("</s>")), QStringLiteral("</s>"));
    QVERIFY(t.isSpecial(QStringLiteral("</s>")));
    QVERIFY(!t.isSpecial(QStringLiteral("\u2581Haus")));
    QCOMPARE(t.tokenText(QStringLiteral("\u2581Haus")), QByteArray(" Haus"));
    QCOMPARE(t.targetTokenForId(692), QStringLiteral("<pad>"));
    // A pair is refused: the target is its own text.
    QVERIFY(!t.encode(QStringLiteral("a"), QStringLiteral("b")));
}

void TestTranslation::matchesReference_data()
{
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("folder");
    for (const char *file : {"marian-random-tiny.json", "marian-random-tiny.2.json", "marian-random-tiny.3.json"})
        QTest::newRow(file) << QString::fromLatin1(file) << kMarian;
    for (const char *file : {"t5-random-tiny.json", "t5-random-tiny.2.json"})
        QTest::newRow(file) << QString::fromLatin1(file) << kT5;
}

void TestTranslation::matchesReference()
{
    QFETCH(QString, file);
    QFETCH(QString, folder);
    const QJsonObject reference = readJson(kData + QStringLiteral("/reference/") + file);
    QVERIFY(!reference.isEmpty());
    const auto checkpoint = openMarian(folder);
    QVERIFY(checkpoint);
    const Result<PreparedTranslation> prepared = prepareTranslation(*checkpoint, reference.value(QStringLiteral("source_text")).toString(),
                                                                    reference.value(QStringLiteral("target_text")).toString());
    QVERIFY_OK(prepared);
    QCOMPARE(prepared.value->source.ids, intList(reference.value(QStringLiteral("source_ids"))));
    QCOMPARE(prepared.value->source.tokens, stringList(reference.value(QStringLiteral("source_tokens"))));
    QCOMPARE(prepared.value->targetIds, intList(reference.value(QStringLiteral("target_ids"))));
    QCOMPARE(prepared.value->targetPieces, stringList(reference.value(QStringLiteral("target_tokens"))));
    QCOMPARE(prepared.value->input.decoderIds, intList(reference.value(QStringLiteral("decoder_input_ids"))));
    if (reference.contains(QStringLiteral("decoder_input_tokens"))) // the Marian references spell them out
        QCOMPARE(prepared.value->decoderTokens, stringList(reference.value(QStringLiteral("decoder_input_tokens"))));

    const TranslationTrace trace = checkpoint->model->forward(prepared.value->input);
    const double encoder = maxDifference(*trace.encoder, reference.value(QStringLiteral("encoder_attentions")).toArray());
    const double decoder = maxDifference(*trace.decoder, reference.value(QStringLiteral("decoder_attentions")).toArray());
    const double cross = maxDifference(*trace.cross, reference.value(QStringLiteral("cross_attentions")).toArray());
    QVERIFY2(encoder <= kAttentionTolerance, qPrintable(QStringLiteral("encoder max |Δ| %1").arg(encoder)));
    QVERIFY2(decoder <= kAttentionTolerance, qPrintable(QStringLiteral("decoder max |Δ| %1").arg(decoder)));
    QVERIFY2(cross <= kAttentionTolerance, qPrintable(QStringLiteral("cross max |Δ| %1").arg(cross)));

    // Every position's top five logits, and the whole row through its log-sum-exp.
    const QJsonArray top5 = reference.value(QStringLiteral("logits_top5")).toArray();
    const QJsonArray logSumExp = reference.value(QStringLiteral("logits_logsumexp")).toArray();
    QCOMPARE(top5.size(), trace.decoderOutput.rows());
    for (qsizetype t = 0; t < top5.size(); ++t) {
        const RowVector logits = checkpoint->model->logits(trace.decoderOutput.row(t));
        QCOMPARE(logits.size(), Eigen::Index(checkpoint->config.decoderVocabSize));
        std::vector<int> order(size_t(logits.size()));
        for (size_t i = 0; i < order.size(); ++i)
            order[i] = int(i);
        std::partial_sort(order.begin(), order.begin() + 5, order.end(), [&](int a, int b) { return logits[a] > logits[b]; });
        const QJsonArray expected = top5.at(t).toArray();
        for (int k = 0; k < 5; ++k) {
            const QJsonArray pair = expected.at(k).toArray();
            QCOMPARE(order[size_t(k)], pair.at(0).toInt());
            const double want = pair.at(1).toDouble();
            QVERIFY2(std::abs(double(logits[order[size_t(k)]]) - want) <= kLogitTolerance * std::max(1.0, std::abs(want)),
                     qPrintable(QStringLiteral("position %1 rank %2: %3 vs %4").arg(t).arg(k).arg(logits[order[size_t(k)]]).arg(want)));
        }
        const double maximum = logits.maxCoeff();
        const double lse = maximum + std::log((logits.array().cast<double>() - maximum).exp().sum());
        const double want = logSumExp.at(t).toDouble();
        QVERIFY2(std::abs(lse - want) <= kLogitTolerance * std::max(1.0, std::abs(want)),
                 qPrintable(QStringLiteral("position %1 logsumexp %2 vs %3").arg(t).arg(lse).arg(want)));
    }
}

void TestTranslation::greedyMatchesReference_data()
{
    matchesReference_data();
}

void TestTranslation::greedyMatchesReference()
{
    QFETCH(QString, file);
    QFETCH(QString, folder);
    const QJsonObject reference = readJson(kData + QStringLiteral("/reference/") + file);
    const QJsonObject greedy = reference.value(QStringLiteral("greedy")).toObject();
    const auto checkpoint = openMarian(folder);
    QVERIFY(checkpoint);
    QCOMPARE(checkpoint->config.bannedIds, intList(greedy.value(QStringLiteral("banned_ids"))));
    const QString source = reference.value(QStringLiteral("source_text")).toString();
    const int steps = greedy.value(QStringLiteral("steps")).toInt();
    int calls = 0;
    const Result<GreedyTranslation> translated = translateGreedy(*checkpoint, source, steps, false, nullptr,
                                                                 [&](int step, const GreedyTranslation &sofar) {
                                                                     QCOMPARE(int(sofar.ids.size()), step + 1);
                                                                     ++calls;
                                                                 });
    QVERIFY_OK(translated);
    QCOMPARE(calls, steps);
    QCOMPARE(translated.value->ids, intList(greedy.value(QStringLiteral("ids"))));
    const QJsonValue endStep = greedy.value(QStringLiteral("eos_step"));
    QCOMPARE(translated.value->endStep.has_value(), !endStep.isNull());
    const QJsonArray topLogits = greedy.value(QStringLiteral("top_logit")).toArray(); // the Marian references give them
    QCOMPARE(topLogits.isEmpty(), file.startsWith(QStringLiteral("t5")));
    for (int s = 0; s < int(topLogits.size()); ++s)
        QVERIFY(std::abs(translated.value->topLogits[size_t(s)] - topLogits.at(s).toDouble()) <= kLogitTolerance * std::max(1.0, std::abs(topLogits.at(s).toDouble())));
    QCOMPARE(stringList(greedy.value(QStringLiteral("tokens"))).size(), steps);
    for (int s = 0; s < steps; ++s)
        QCOMPARE(checkpoint->tokenizer->targetTokenForId(translated.value->ids[size_t(s)]), stringList(greedy.value(QStringLiteral("tokens"))).at(s));

    // Step t's cross-attention is row t of the decoder run on [start] + the first t tokens, which a
    // teacher-forced run over all but the last token holds in its rows.
    std::vector<int> prefix = translated.value->ids;
    prefix.pop_back();
    const Result<PreparedTranslation> prepared = prepareTranslationIds(*checkpoint, source, prefix);
    QVERIFY_OK(prepared);
    const TranslationTrace trace = checkpoint->model->forward(prepared.value->input);
    const QJsonArray perStep = greedy.value(QStringLiteral("cross_attentions")).toArray();
    QCOMPARE(perStep.size(), steps);
    double worst = 0;
    for (int s = 0; s < steps; ++s) {
        const QJsonArray layers = perStep.at(s).toArray();
        QCOMPARE(layers.size(), qsizetype(trace.cross->size()));
        for (qsizetype l = 0; l < layers.size(); ++l) {
            const QJsonArray heads = layers.at(l).toArray();
            for (qsizetype h = 0; h < heads.size(); ++h) {
                const QJsonArray row = heads.at(h).toArray();
                const Matrix &ours = (*trace.cross)[size_t(l)][size_t(h)];
                QCOMPARE(row.size(), ours.cols());
                for (qsizetype j = 0; j < row.size(); ++j)
                    worst = std::max(worst, std::abs(row.at(j).toDouble() - double(ours(s, j))));
            }
        }
    }
    QVERIFY2(worst <= kAttentionTolerance, qPrintable(QStringLiteral("greedy cross max |Δ| %1").arg(worst)));
}

void TestTranslation::relativeBucketsMatchTransformers()
{
    const QJsonObject tables = readJson(kData + QStringLiteral("/t5/relative_buckets.json"));
    const QJsonArray range = tables.value(QStringLiteral("relative_position = key_index - query_index")).toArray();
    QCOMPARE(range.size(), 2);
    const int first = range.at(0).toInt();
    int checked = 0;
    for (const QJsonValue &value : tables.value(QStringLiteral("tables")).toArray()) {
        const QJsonObject table = value.toObject();
        const int buckets = table.value(QStringLiteral("num_buckets")).toInt();
        const int distance = table.value(QStringLiteral("max_distance")).toInt();
        const bool bidirectional = table.value(QStringLiteral("bidirectional")).toBool();
        const QJsonArray expected = table.value(QStringLiteral("buckets")).toArray();
        QCOMPARE(expected.size(), range.at(1).toInt() - first + 1);
        for (qsizetype i = 0; i < expected.size(); ++i) {
            const int relative = first + int(i);
            QVERIFY2(relativePositionBucket(relative, bidirectional, buckets, distance) == expected.at(i).toInt(),
                     qPrintable(QStringLiteral("%1 buckets, distance %2, %3: relative %4 → %5, expected %6")
                                    .arg(buckets).arg(distance).arg(bidirectional ? QStringLiteral("bidirectional") : QStringLiteral("causal"))
                                    .arg(relative).arg(relativePositionBucket(relative, bidirectional, buckets, distance)).arg(expected.at(i).toInt())));
            ++checked;
        }
    }
    QVERIFY(checked >= 601 * 2);
}

void TestTranslation::t5ConfigAndItsTeachingPoints()
{
    const auto checkpoint = openMarian(kT5);
    QVERIFY(checkpoint);
    const TranslationConfig &config = checkpoint->config;
    QVERIFY(config.t5());
    QCOMPARE(config.headDim(AttentionKind::Encoder), 24); // d_kv, not d_model / heads
    QCOMPARE(config.decoderLayers, 3);
    QCOMPARE(config.decoderStartId, 0);
    QCOMPARE(config.eosId, 1);
    QVERIFY(config.scaleOutput);
    // v1.1's gated GELU is the tanh form, gated by a second projection.
    const Result<TranslationConfig> gated = parseTranslationConfig(QJsonObject{{QStringLiteral("model_type"), QStringLiteral("t5")},
                                                                               {QStringLiteral("feed_forward_proj"), QStringLiteral("gated-gelu")},
                                                                               {QStringLiteral("tie_word_embeddings"), false}});
    QVERIFY_OK(gated);
    QVERIFY(gated.value->gatedFfn);
    QCOMPARE(gated.value->activation, Activation::GeluTanh);
    QVERIFY(!gated.value->scaleOutput);
    QVERIFY(!parseTranslationConfig(QJsonObject{{QStringLiteral("model_type"), QStringLiteral("t5")},
                                                {QStringLiteral("feed_forward_proj"), QStringLiteral("gated-tanh")}}));
    // No ÷ √d: the scaled stage is the scores plus the bias of each key's relative position.
    const Result<PreparedTranslation> prepared = prepareTranslation(*checkpoint, QStringLiteral("The cat sleeps."), QStringLiteral("Die Katze"));
    QVERIFY_OK(prepared);
    const TranslationTrace trace = checkpoint->model->forward(prepared.value->input);
    const HeadTrace encoder = checkpoint->model->headStages(trace, AttentionKind::Encoder, 1, 2, prepared.value->input);
    QCOMPARE(encoder.bias.rows(), encoder.scores.rows());
    COMPARE_MATRIX(encoder.scaled, Matrix(encoder.scores + encoder.bias), 1e-4);
    QVERIFY(encoder.bias != Matrix::Zero(encoder.bias.rows(), encoder.bias.cols()));
    // The bias depends only on j − i (and is the same in every layer).
    QCOMPARE(encoder.bias(0, 1), encoder.bias(2, 3));
    QCOMPARE(checkpoint->model->headStages(trace, AttentionKind::Encoder, 0, 2, prepared.value->input).bias, encoder.bias);
    const HeadTrace cross = checkpoint->model->headStages(trace, AttentionKind::Cross, 1, 2, prepared.value->input);
    QCOMPARE(cross.bias.size(), Eigen::Index(0)); // cross-attention has none
    QCOMPARE(cross.scaled, cross.scores);
    // The tokenizer: SentencePiece's own ids, </s> = 1 appended, <extra_id_0> the last id.
    const Result<Encoding> extra = checkpoint->tokenizer->encode(QStringLiteral("a <extra_id_0> b"));
    QVERIFY_OK(extra);
    QVERIFY(extra.value->tokens.contains(QStringLiteral("<extra_id_0>")));
    // 400 pieces and 8 extra ids: <extra_id_0> is 407 (the model's embedding has room to 416).
    const int extraId = extra.value->ids[size_t(extra.value->tokens.indexOf(QStringLiteral("<extra_id_0>")))];
    QCOMPARE(extraId, checkpoint->tokenizer->sourceVocabularySize() - 1);
    QCOMPARE(extraId, 407);
    QCOMPARE(checkpoint->tokenizer->tokenForId(extraId), QStringLiteral("<extra_id_0>"));
    QCOMPARE(extra.value->ids.back(), 1);
}

void TestTranslation::t5GatedFeedForwardAndUntiedOutput()
{
    // v1.1's gated FFN, wo(gelu(x·wi_0) ⊙ x·wi_1), with wi_1 = 0 adds nothing: the same as the
    // plain FFN with wo = 0. If the gate were not applied (or not read), the two would differ.
    QTemporaryDir dir;
    const QString gated = dir.filePath(QStringLiteral("gated"));
    const QString silent = dir.filePath(QStringLiteral("silent"));
    QVERIFY_OK(writeVariant(
        gated, [](QJsonObject &json) { json.insert(QStringLiteral("feed_forward_proj"), QStringLiteral("gated-gelu")); },
        [](QString &name, std::vector<float> &, std::vector<qint64> &) {
            if (name.endsWith(QStringLiteral("DenseReluDense.wi.weight")))
                name.replace(QStringLiteral(".wi."), QStringLiteral(".wi_0."));
            return true;
        },
        DType::F32, kT5));
    // The gate: a zero wi_1 beside every wi_0.
    QVERIFY_OK(rewriteTensors(gated, [](const QString &name, const std::vector<float> &values, const std::vector<qint64> &shape,
                                        const TensorWriter &write) {
        write(name, values, shape);
        if (name.endsWith(QStringLiteral("wi_0.weight")))
            write(QString(name).replace(QStringLiteral("wi_0"), QStringLiteral("wi_1")), std::vector<float>(values.size(), 0.0f), shape);
    }));
    QVERIFY_OK(writeVariant(
        silent, noChange,
        [](QString &name, std::vector<float> &values, std::vector<qint64> &) {
            if (name.endsWith(QStringLiteral("DenseReluDense.wo.weight")))
                std::fill(values.begin(), values.end(), 0.0f);
            return true;
        },
        DType::F32, kT5));
    const auto a = openMarian(gated);
    const auto b = openMarian(silent);
    const auto original = openMarian(kT5);
    QVERIFY(a && b && original);
    QVERIFY(a->config.gatedFfn);
    const QString source = QStringLiteral("The cat sleeps on the mat.");
    const TranslationTrace ta = run(*a, source, QStringLiteral("Die Katze"));
    const TranslationTrace tb = run(*b, source, QStringLiteral("Die Katze"));
    const TranslationTrace to = run(*original, source, QStringLiteral("Die Katze"));
    QVERIFY(maxMapDifference(ta.cross, tb.cross) < 1e-6);
    QVERIFY(maxMapDifference(ta.encoder, tb.encoder) < 1e-6);
    QVERIFY(maxMapDifference(to.encoder, tb.encoder) > 1e-3); // the FFN matters in the original

    // v1.1's untied output: lm_head.weight as it is, without T5's d_model^−½ rescale. An lm_head
    // of shared × 64^−½ = shared / 8 gives the tied model's logits.
    const QString untied = dir.filePath(QStringLiteral("untied"));
    QVERIFY_OK(writeVariant(untied, [](QJsonObject &json) { json.insert(QStringLiteral("tie_word_embeddings"), false); }, keep, DType::F32, kT5));
    QVERIFY_OK(rewriteTensors(untied, [](const QString &name, const std::vector<float> &values, const std::vector<qint64> &shape,
                                         const TensorWriter &write) {
        write(name, values, shape);
        if (name != QStringLiteral("shared.weight"))
            return;
        std::vector<float> head = values;
        for (float &v : head)
            v /= 8.0f;
        write(QStringLiteral("lm_head.weight"), head, shape);
    }));
    const auto u = openMarian(untied);
    QVERIFY(u);
    QVERIFY(!u->config.tiedOutput && !u->config.scaleOutput);
    const TranslationTrace tu = run(*u, source, QStringLiteral("Die Katze"));
    COMPARE_MATRIX(Matrix(u->model->logits(tu.decoderOutput.row(2))), Matrix(original->model->logits(to.decoderOutput.row(2))), 1e-4);
}

void TestTranslation::attentionInvariants()
{
    const auto checkpoint = openMarian();
    QVERIFY(checkpoint);
    const TranslationTrace trace = run(*checkpoint, QStringLiteral("She sees the small elephant."), QStringLiteral("Sie sieht den kleinen Elefanten."));
    QCOMPARE(trace.encoder->size(), size_t(2));
    QCOMPARE(trace.cross->size(), size_t(2));
    for (AttentionKind kind : kAttentionKinds)
        for (const std::vector<Matrix> &layer : *trace.maps(kind)) {
            QCOMPARE(int(layer.size()), 4);
            for (const Matrix &w : layer) {
                QVERIFY(w.allFinite());
                for (Eigen::Index i = 0; i < w.rows(); ++i)
                    QVERIFY(std::abs(w.row(i).cast<double>().sum() - 1.0) < 1e-5);
                if (kind == AttentionKind::Decoder)
                    for (Eigen::Index i = 0; i < w.rows(); ++i)
                        for (Eigen::Index j = i + 1; j < w.cols(); ++j)
                            QCOMPARE(w(i, j), 0.0f); // causal: exactly 0
            }
        }
    // Cross-attention: target rows × source columns.
    const Matrix &cross = (*trace.cross)[0][0];
    QCOMPARE(cross.rows(), trace.decoderOutput.rows());
    QCOMPARE(cross.cols(), trace.encoderOutput.rows());
    QVERIFY(cross.rows() != cross.cols());
}

void TestTranslation::sourcePaddingIsMasked()
{
    const auto checkpoint = openMarian();
    QVERIFY(checkpoint);
    Result<PreparedTranslation> prepared = prepareTranslation(*checkpoint, QStringLiteral("She sees the small elephant."), QStringLiteral("Sie sieht"));
    QVERIFY_OK(prepared);
    const TranslationTrace plain = checkpoint->model->forward(prepared.value->input);
    // The same source padded with three <pad> tokens, hidden by the attention mask.
    TranslationInput padded = prepared.value->input;
    const size_t real = padded.sourceIds.size();
    padded.sourceMask.assign(real, 1);
    for (int i = 0; i < 3; ++i) {
        padded.sourceIds.push_back(checkpoint->config.padId);
        padded.sourceMask.push_back(0);
    }
    QVERIFY_OK(checkpoint->model->validate(padded));
    const TranslationTrace trace = checkpoint->model->forward(padded);
    for (size_t l = 0; l < trace.cross->size(); ++l)
        for (size_t h = 0; h < (*trace.cross)[l].size(); ++h) {
            const Matrix &w = (*trace.cross)[l][h];
            QCOMPARE(w.cols(), Eigen::Index(real + 3));
            QVERIFY(w.rightCols(3).isZero(0)); // exactly 0
            // The same up to float32 rounding: a longer source changes the products' summation order.
            COMPARE_MATRIX(Matrix(w.leftCols(Eigen::Index(real))), (*plain.cross)[l][h], kAttentionTolerance);
            const Matrix &e = (*trace.encoder)[l][h];
            QVERIFY(e.rightCols(3).isZero(0));
            COMPARE_MATRIX(Matrix(e.topLeftCorner(Eigen::Index(real), Eigen::Index(real))), (*plain.encoder)[l][h], kAttentionTolerance);
        }
    COMPARE_MATRIX(trace.decoderOutput, plain.decoderOutput, 1e-5);
    QVERIFY(!checkpoint->model->validate({{1, 2}, {1}, {692}}));
}

void TestTranslation::positionsAreSinThenCos()
{
    const Matrix table = marianPositions(5, 6);
    // Column i < 3: sin(pos / 10000^(2i/6)); column 3 + i: cos of the same angle.
    for (int pos = 0; pos < 5; ++pos)
        for (int i = 0; i < 3; ++i) {
            const double angle = pos / std::pow(10000.0, 2.0 * i / 6.0);
            QCOMPARE(table(pos, i), float(std::sin(angle)));
            QCOMPARE(table(pos, 3 + i), float(std::cos(angle)));
        }
    QCOMPARE(table(0, 0), 0.0f);
    QCOMPARE(table(0, 3), 1.0f);
    // An odd width: ⌈7/2⌉ = 4 sin columns, then 3 cos columns.
    const Matrix odd = marianPositions(3, 7);
    QCOMPARE(odd(2, 3), float(std::sin(2.0 / std::pow(10000.0, 6.0 / 7.0))));
    QCOMPARE(odd(2, 4), float(std::cos(2.0)));
    QCOMPARE(odd(2, 6), float(std::cos(2.0 / std::pow(10000.0, 4.0 / 7.0))));
}

void TestTranslation::configDefaultsAndRefusals()
{
    const Result<TranslationConfig> defaults = parseTranslationConfig(QJsonObject{{QStringLiteral("model_type"), QStringLiteral("marian")}});
    QVERIFY_OK(defaults);
    QCOMPARE(defaults.value->hidden, 1024);
    QCOMPARE(defaults.value->vocabSize, 58101);
    QCOMPARE(defaults.value->decoderStartId, 58100);
    QCOMPARE(defaults.value->padId, 58100);
    QCOMPARE(defaults.value->eosId, 0);
    QCOMPARE(defaults.value->activation, Activation::GeluErf);
    QVERIFY(!defaults.value->scaleEmbedding);
    QVERIFY(defaults.value->sharedEmbeddings);
    QVERIFY(defaults.value->tiedOutput);
    QCOMPARE(defaults.value->normEps, 1e-5);

    const Result<TranslationConfig> stored = parseTranslationConfig(readJson(kMarian + QStringLiteral("/config.json")));
    QVERIFY_OK(stored);
    QCOMPARE(stored.value->activation, Activation::Silu); // "swish"
    QVERIFY(stored.value->scaleEmbedding);
    QCOMPARE(stored.value->encoderHeads, 4);
    QCOMPARE(stored.value->decoderLayers, 2);
    QCOMPARE(stored.value->decoderStartId, 692);
    QCOMPARE(stored.value->bannedIds, std::vector<int>{692});

    const auto refused = [](QJsonObject json, const QString &key, const QJsonValue &value, const QString &expected) {
        json.insert(key, value);
        const Result<TranslationConfig> parsed = parseTranslationConfig(json);
        return !parsed && parsed.error.contains(expected);
    };
    const QJsonObject base = readJson(kMarian + QStringLiteral("/config.json"));
    QVERIFY(refused(base, QStringLiteral("d_model"), 66, QStringLiteral("not a multiple")));
    QVERIFY(refused(base, QStringLiteral("activation_function"), QStringLiteral("tanh"), QStringLiteral("\"tanh\"")));
    QVERIFY(refused(base, QStringLiteral("encoder_layers"), 1e12, QStringLiteral("encoder_layers")));
    QVERIFY(refused(base, QStringLiteral("decoder_start_token_id"), 5000, QStringLiteral("decoder_start_token_id")));
    QVERIFY(refused(base, QStringLiteral("vocab_size"), -3, QStringLiteral("vocab_size")));
}

void TestTranslation::otherEncoderDecodersAreRefusedByName()
{
    for (const char *type : {"bart", "pegasus", "mbart"}) {
        const QJsonObject json{{QStringLiteral("model_type"), QString::fromLatin1(type)}, {QStringLiteral("is_encoder_decoder"), true}};
        QVERIFY(isEncoderDecoderConfig(json));
        const Result<TranslationConfig> parsed = parseTranslationConfig(json);
        QVERIFY(!parsed);
        QVERIFY2(parsed.error.contains(QStringLiteral("\"%1\"").arg(QLatin1String(type))) && parsed.error.contains(QStringLiteral("marian")),
                 qPrintable(parsed.error));
    }
    QVERIFY(!isEncoderDecoderConfig(QJsonObject{{QStringLiteral("model_type"), QStringLiteral("gpt2")}}));
    // A folder of one of them is refused by name, whichever way it is opened.
    QTemporaryDir dir;
    QVERIFY_OK(writeVariant(dir.path(), [](QJsonObject &json) { json.insert(QStringLiteral("model_type"), QStringLiteral("bart")); }, keep));
    QVERIFY(isTranslationFolder(dir.path()));
    const auto asTranslation = openTranslationCheckpoint(dir.path());
    QVERIFY(!asTranslation && asTranslation.error.contains(QStringLiteral("\"bart\"")));
    const auto asCheckpoint = openCheckpoint(dir.path());
    QVERIFY(!asCheckpoint && asCheckpoint.error.contains(QStringLiteral("\"bart\"")));
    // A Marian folder opened as a single-stack checkpoint says what it is.
    const auto marianAsCheckpoint = openCheckpoint(kMarian);
    QVERIFY(!marianAsCheckpoint && marianAsCheckpoint.error.contains(QStringLiteral("translation")));
    QVERIFY(isTranslationFolder(kMarian));
    QVERIFY(!isTranslationFolder(kData + QStringLiteral("/checkpoints/gpt2-random-tiny")));
}

void TestTranslation::halfPrecisionWeightsAreUpcast()
{
    // F16 weights give what F32 weights holding the same (rounded) values give, up to float32
    // rounding (half matrices are converted and multiplied a block of 64 outputs at a time).
    QTemporaryDir dir;
    const auto rounded = [](QString &, std::vector<float> &values, std::vector<qint64> &) {
        const QByteArray half = encodeFloats(values, DType::F16);
        TensorView view;
        view.dtype = DType::F16;
        view.shape = {qint64(values.size())};
        view.data = reinterpret_cast<const uchar *>(half.constData());
        view.byteCount = half.size();
        return bool(readFloats(view, values.data(), qint64(values.size())));
    };
    QVERIFY_OK(writeVariant(dir.filePath(QStringLiteral("f16")), [](QJsonObject &json) { json.insert(QStringLiteral("torch_dtype"), QStringLiteral("float16")); },
                            keep, DType::F16));
    QVERIFY_OK(writeVariant(dir.filePath(QStringLiteral("f32")), noChange, rounded));
    const auto half = openMarian(dir.filePath(QStringLiteral("f16")));
    const auto single = openMarian(dir.filePath(QStringLiteral("f32")));
    QVERIFY(half && single);
    const QString source = QStringLiteral("She sees the small elephant.");
    const TranslationTrace a = run(*half, source, QStringLiteral("Sie sieht den Elefanten."));
    const TranslationTrace b = run(*single, source, QStringLiteral("Sie sieht den Elefanten."));
    QVERIFY(maxMapDifference(a.cross, b.cross) < kAttentionTolerance);
    QVERIFY(maxMapDifference(a.encoder, b.encoder) < kAttentionTolerance);
    QVERIFY(maxMapDifference(a.decoder, b.decoder) < kAttentionTolerance);
    COMPARE_MATRIX(half->model->logits(a.decoderOutput.row(2)), single->model->logits(b.decoderOutput.row(2)), kLogitTolerance);
    // And they differ from the full-precision run by far more: F16's rounding of the weights.
    const TranslationTrace full = run(*openMarian(), source, QStringLiteral("Sie sieht den Elefanten."));
    const double rounding = maxMapDifference(a.cross, full.cross);
    QVERIFY2(rounding > 10 * kAttentionTolerance && rounding < 0.05, qPrintable(QString::number(rounding)));
}

void TestTranslation::unscaledEmbeddingsAndSeparateTables()
{
    // Without scale_embedding, a table stored × √d_model gives the same attention; the separate
    // encoder and decoder tables (no sharing) hold it twice, and the output is tied to the
    // decoder's, so the logits grow by √d_model.
    QTemporaryDir dir;
    const float root = std::sqrt(64.0f);
    QVERIFY_OK(writeVariant(
        dir.path(),
        [](QJsonObject &json) {
            json.insert(QStringLiteral("scale_embedding"), false);
            json.insert(QStringLiteral("share_encoder_decoder_embeddings"), false);
        },
        [&](QString &name, std::vector<float> &values, std::vector<qint64> &) {
            if (name != QStringLiteral("model.shared.weight"))
                return true;
            for (float &v : values)
                v *= root;
            return true;
        }));
    // The two tables under their own names.
    QVERIFY_OK(rewriteTensors(dir.path(), [](const QString &name, const std::vector<float> &values, const std::vector<qint64> &shape,
                                             const TensorWriter &write) {
        if (name != QStringLiteral("model.shared.weight")) {
            write(name, values, shape);
            return;
        }
        write(QStringLiteral("model.encoder.embed_tokens.weight"), values, shape);
        write(QStringLiteral("model.decoder.embed_tokens.weight"), values, shape);
    }));
    const auto variant = openMarian(dir.path());
    const auto original = openMarian();
    QVERIFY(variant && original);
    QVERIFY(!variant->config.sharedEmbeddings && !variant->config.scaleEmbedding);
    const QString source = QStringLiteral("The cat sleeps.");
    const TranslationTrace a = run(*variant, source, QStringLiteral("Die Katze schläft."));
    const TranslationTrace b = run(*original, source, QStringLiteral("Die Katze schläft."));
    QVERIFY(maxMapDifference(a.cross, b.cross) < 1e-5);
    QVERIFY(maxMapDifference(a.decoder, b.decoder) < 1e-5);
    const RowVector scaled = variant->model->logits(a.decoderOutput.row(1));
    const RowVector plain = original->model->logits(b.decoderOutput.row(1));
    COMPARE_MATRIX(Matrix(scaled), Matrix(plain * root), 1e-4);
}

void TestTranslation::untiedOutputAndLogitsBias()
{
    // tie_word_embeddings false: the logits come from lm_head.weight, plus final_logits_bias.
    QTemporaryDir dir;
    std::vector<float> head, bias;
    QVERIFY_OK(writeVariant(
        dir.path(), [](QJsonObject &json) { json.insert(QStringLiteral("tie_word_embeddings"), false); },
        [&](QString &name, std::vector<float> &values, std::vector<qint64> &) {
            if (name == QStringLiteral("final_logits_bias")) {
                for (size_t i = 0; i < values.size(); ++i)
                    values[i] = float(i % 7) * 0.25f;
                bias = values;
            }
            return true;
        }));
    // Add an lm_head of its own: the shared table reversed row by row.
    QVERIFY_OK(rewriteTensors(dir.path(), [&head](const QString &name, const std::vector<float> &values, const std::vector<qint64> &shape,
                                                  const TensorWriter &write) {
        write(name, values, shape);
        if (name != QStringLiteral("model.shared.weight"))
            return;
        head.resize(values.size());
        for (size_t r = 0; r < 693; ++r)
            std::copy_n(values.begin() + qsizetype(r * 64), 64, head.begin() + qsizetype((692 - r) * 64));
        write(QStringLiteral("lm_head.weight"), head, shape);
    }));
    const auto variant = openMarian(dir.path());
    QVERIFY(variant);
    const TranslationTrace trace = run(*variant, QStringLiteral("The cat."), QStringLiteral("Die Katze."));
    const RowVector h = trace.decoderOutput.row(2);
    const RowVector logits = variant->model->logits(h);
    const Eigen::Map<const Matrix> w(head.data(), 693, 64);
    for (int id : {0, 5, 300, 692}) {
        double expected = bias[size_t(id)];
        for (int i = 0; i < 64; ++i)
            expected += double(h[i]) * double(w(id, i));
        QVERIFY2(std::abs(logits[id] - expected) < 1e-4, qPrintable(QStringLiteral("id %1: %2 vs %3").arg(id).arg(logits[id]).arg(expected)));
    }
    // Greedy never takes a banned id, even when it scores best.
    RowVector forced = logits;
    forced[692] = 1e9f;
    QVERIFY(variant->model->greedyChoice(forced).id != 692);
    RowVector undefined = RowVector::Constant(693, std::nanf(""));
    QCOMPARE(variant->model->greedyChoice(undefined).id, -1);
}

void TestTranslation::activationVariants()
{
    // Each activation name selects its function, and the forward pass uses it.
    const std::pair<const char *, Activation> names[] = {{"relu", Activation::Relu}, {"gelu", Activation::GeluErf}, {"gelu_new", Activation::GeluTanh},
                                                         {"silu", Activation::Silu}, {"swish", Activation::Silu}};
    QTemporaryDir dir;
    std::vector<SharedAttentionMaps> cross;
    for (const auto &[name, activation] : names) {
        const QString folder = dir.filePath(QLatin1String(name));
        QVERIFY_OK(writeVariant(folder, [&](QJsonObject &json) { json.insert(QStringLiteral("activation_function"), QLatin1String(name)); }, keep));
        const auto checkpoint = openMarian(folder);
        QVERIFY(checkpoint);
        QCOMPARE(checkpoint->config.activation, activation);
        cross.push_back(run(*checkpoint, QStringLiteral("The cat sleeps."), QStringLiteral("Die Katze")).cross);
    }
    // The encoder's first layer's FFN changes what layer 2 sees: different activations differ there,
    // the two names of x·σ(x) do not.
    QVERIFY(maxMapDifference(cross[0], cross[1]) > 1e-3);
    QVERIFY(maxMapDifference(cross[1], cross[2]) > 1e-6);
    QCOMPARE(maxMapDifference(cross[3], cross[4]), 0.0);
    Matrix x(1, 4);
    x << -2.0f, -0.5f, 0.0f, 3.0f;
    applyActivation(x, Activation::Relu, 1);
    QCOMPARE(x(0, 0), 0.0f);
    QCOMPARE(x(0, 1), 0.0f);
    QCOMPARE(x(0, 3), 3.0f);
}

void TestTranslation::separateVocabularies()
{
    // separate_vocabs: target text is looked up in target_vocab.json. Here that vocabulary is the
    // joint one with "▁Die" and "▁Ka" swapped, so the target's ids show which file was read.
    QTemporaryDir dir;
    QVERIFY_OK(writeVariant(dir.path(), noChange, keep));
    QJsonObject config = readJson(dir.filePath(QStringLiteral("tokenizer_config.json")));
    config.insert(QStringLiteral("separate_vocabs"), true);
    QFile::remove(dir.filePath(QStringLiteral("tokenizer_config.json")));
    QFile configFile(dir.filePath(QStringLiteral("tokenizer_config.json")));
    QVERIFY(configFile.open(QIODevice::WriteOnly));
    configFile.write(QJsonDocument(config).toJson());
    configFile.close();
    QJsonObject vocab = readJson(kMarian + QStringLiteral("/vocab.json"));
    const int die = vocab.value(QStringLiteral("\u2581Die")).toInt();
    const int ka = vocab.value(QStringLiteral("\u2581Ka")).toInt();
    vocab.insert(QStringLiteral("\u2581Die"), ka);
    vocab.insert(QStringLiteral("\u2581Ka"), die);
    QFile target(dir.filePath(QStringLiteral("target_vocab.json")));
    QVERIFY(target.open(QIODevice::WriteOnly));
    target.write(QJsonDocument(vocab).toJson());
    target.close();
    const auto tokenizer = MarianTokenizer::fromFolder(dir.path());
    QVERIFY_OK(tokenizer);
    QVERIFY((*tokenizer.value)->separateVocabularies());
    const Result<Encoding> t = (*tokenizer.value)->encodeTarget(QStringLiteral("Die Katze"));
    QVERIFY_OK(t);
    QCOMPARE(t.value->ids.front(), ka);
    QCOMPARE((*tokenizer.value)->targetTokenForId(ka), QStringLiteral("\u2581Die"));
    const Result<Encoding> s = (*tokenizer.value)->encode(QStringLiteral("Die Katze"));
    QVERIFY_OK(s);
    QCOMPARE(s.value->tokens.front(), QStringLiteral("\u2581"));
    // Without target_vocab.json the folder is refused with a message.
    QFile::remove(dir.filePath(QStringLiteral("target_vocab.json")));
    const auto missing = MarianTokenizer::fromFolder(dir.path());
    QVERIFY(!missing && missing.error.contains(QStringLiteral("target_vocab.json")));
}

void TestTranslation::malformedFoldersGiveMessages()
{
    QTemporaryDir dir;
    const QString folder = dir.filePath(QStringLiteral("m"));
    QVERIFY_OK(writeVariant(folder, noChange, keep));
    // A corrupt SentencePiece model.
    {
        QFile spm(folder + QStringLiteral("/target.spm"));
        QVERIFY(spm.open(QIODevice::WriteOnly | QIODevice::Truncate));
        spm.write("not a model");
    }
    auto opened = openTranslationCheckpoint(folder);
    QVERIFY(!opened && opened.error.contains(QStringLiteral("target.spm")));
    // A missing one.
    QFile::remove(folder + QStringLiteral("/target.spm"));
    opened = openTranslationCheckpoint(folder);
    QVERIFY(!opened && opened.error.contains(QStringLiteral("target.spm")));
    // A FIFO where the model should be is refused, not read.
    QFile::copy(kMarian + QStringLiteral("/target.spm"), folder + QStringLiteral("/target.spm"));
    QFile::remove(folder + QStringLiteral("/source.spm"));
    QVERIFY(::mkfifo(QFile::encodeName(folder + QStringLiteral("/source.spm")).constData(), 0600) == 0);
    opened = openTranslationCheckpoint(folder);
    QVERIFY(!opened && opened.error.contains(QStringLiteral("source.spm")));
    // A missing decoder tensor is named.
    const QString other = dir.filePath(QStringLiteral("n"));
    QVERIFY_OK(writeVariant(other, noChange, [](QString &name, std::vector<float> &, std::vector<qint64> &) {
        return name != QStringLiteral("model.decoder.layers.1.encoder_attn.k_proj.weight");
    }));
    opened = openTranslationCheckpoint(other);
    QVERIFY(!opened && opened.error.contains(QStringLiteral("decoder.layers.1.encoder_attn.k_proj.weight")));
    // A NaN weight: the model opens and says which tensor holds it.
    const QString nan = dir.filePath(QStringLiteral("nan"));
    QVERIFY_OK(writeVariant(nan, noChange, [](QString &name, std::vector<float> &values, std::vector<qint64> &) {
        if (name == QStringLiteral("model.encoder.layers.0.fc1.weight"))
            values[3] = std::nanf("");
        return true;
    }));
    const auto withNan = openMarian(nan);
    QVERIFY(withNan);
    QCOMPARE(withNan->model->nonFiniteTensors(), QStringList{QStringLiteral("model.encoder.layers.0.fc1.weight")});
}

void TestTranslation::longSourceIsCutKeepingTheEnd()
{
    const auto checkpoint = openMarian();
    QVERIFY(checkpoint);
    QString longText;
    for (int i = 0; i < 200; ++i)
        longText += QStringLiteral("the cat ");
    const Result<PreparedTranslation> prepared = prepareTranslation(*checkpoint, longText, QStringLiteral("Die"));
    QVERIFY_OK(prepared);
    QCOMPARE(int(prepared.value->input.sourceIds.size()), checkpoint->config.maxPositions);
    QCOMPARE(prepared.value->input.sourceIds.back(), 0); // </s> kept last
    QVERIFY(prepared.value->truncatedFrom > checkpoint->config.maxPositions);
    const Result<PreparedTranslation> empty = prepareTranslation(*checkpoint, QString(), QString());
    QVERIFY_OK(empty);
    QCOMPARE(empty.value->input.sourceIds, std::vector<int>{0});
    QCOMPARE(empty.value->input.decoderIds, std::vector<int>{692});
    const TranslationTrace trace = checkpoint->model->forward(empty.value->input);
    QCOMPARE((*trace.cross)[0][0].rows(), Eigen::Index(1));
    QCOMPARE((*trace.cross)[0][0](0, 0), 1.0f);
}

void TestTranslation::headStagesEqualTheForwardPass()
{
    const auto checkpoint = openMarian();
    QVERIFY(checkpoint);
    const Result<PreparedTranslation> prepared = prepareTranslation(*checkpoint, QStringLiteral("She sees the small elephant."), QStringLiteral("Sie sieht"));
    QVERIFY_OK(prepared);
    const TranslationTrace trace = checkpoint->model->forward(prepared.value->input);
    for (AttentionKind kind : kAttentionKinds) {
        const HeadTrace stages = checkpoint->model->headStages(trace, kind, 1, 2, prepared.value->input);
        QCOMPARE(stages.weights, (*trace.maps(kind))[1][2]);
        // q = X W_Q + b_Q from the head's slices: for cross-attention, X is the decoder's and k's
        // input the encoder's output.
        const TransformerModel::HeadProjection p = checkpoint->model->headProjection(kind, 1, 2);
        const Matrix &x = kind == AttentionKind::Encoder ? trace.encoderInputs[1] : kind == AttentionKind::Decoder ? trace.decoderInputs[1] : trace.crossInputs[1];
        const Matrix &memory = kind == AttentionKind::Cross ? trace.encoderOutput : x;
        COMPARE_MATRIX(Matrix((x * p.wQ).rowwise() + p.bQ), stages.q, 1e-4);
        COMPARE_MATRIX(Matrix((memory * p.wK).rowwise() + p.bK), stages.k, 1e-4);
        QCOMPARE(stages.scores.rows(), x.rows());
        QCOMPARE(stages.scores.cols(), memory.rows());
    }
}

QTEST_GUILESS_MAIN(TestTranslation)
#include "tst_translation.moc"
