#include "gemm.h"
#include "tracejson.h"
#include "workspace.h"
#include "fakehub.h"
#include "figuresupport.h"
#include "randomcheckpoint.h"
#include "testsupport.h"

#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QStandardPaths>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <sys/resource.h>
#include <numeric>

using namespace studio;
using studio::testing::opensAs;

namespace {

struct Run {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

// Runs the executable, waiting without blocking this process's event loop (a test's local server
// answers on it).
Run run(const QStringList &arguments, const QProcessEnvironment &environment = QProcessEnvironment::systemEnvironment())
{
    QProcess process;
    process.setProcessEnvironment(environment);
    QSignalSpy finished(&process, &QProcess::finished);
    process.start(QStringLiteral(STUDIO_EXECUTABLE), arguments);
    Run result;
    if (!finished.wait(60000)) {
        process.kill();
        return result;
    }
    result.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -2;
    result.out = process.readAllStandardOutput();
    result.err = process.readAllStandardError();
    return result;
}

QJsonObject parse(const QByteArray &bytes)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(bytes, &error);
    return error.error == QJsonParseError::NoError ? document.object() : QJsonObject();
}

} // namespace

class TestCli : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void traceTranslatesWithCrossAttention();
    void downloadFetchesIntoTheCacheAndPrintsTheSnapshot();
    void optionsDoWhatTheySay_data();
    void optionsDoWhatTheySay();
    void tinyTemperatureIsTheArgmax();
    void everyCutIsStatedInTheTrace();
    void fileSizeLimitGivesAMessageNotASignal();
    void runThatCannotFitIsRefusedWithItsFigure();
    void helpAndVersionDoNotOpenTheWindow();
    void traceMatchesLibrary();
    void traceStagesAndMask();
    void traceFromWorkspace();
    void traceToFile();
    void exportWritesFigures_data();
    void exportWritesFigures();
    void exportViews_data();
    void exportViews();
    void modelTraceMatchesReference();
    void tracePrecisionSaysHowFarBf16Is();
    void modelTraceStagesOfOneHead();
    void tokenizeModel();
    void rotaryModelTrace();
    void modelErrors_data();
    void modelErrors();
    void badInputFails_data();
    void badInputFails();
    void handoutFromTheCommandLine();
    void temperatureOnAModelIsAnExperiment();
    void compareTwoSentences();
    void traceWithRollout();
    void tracePredictsTheNextToken();
    void traceWithFlowAndValueWeighted();
    void traceWithoutSpecialTokens();
    void exportsTheComparison();
};

void TestCli::traceMatchesLibrary()
{
    const QString sentence = QStringLiteral("The cat sat on the mat.");
    const Run r = run({QStringLiteral("trace"), QStringLiteral("--text"), sentence});
    QCOMPARE(r.exitCode, 0);
    const QJsonObject json = parse(r.out);
    QVERIFY(!json.isEmpty());
    const QJsonObject model = json.value(QStringLiteral("model")).toObject();
    QCOMPARE(model.value(QStringLiteral("kind")).toString(), QStringLiteral("teaching"));
    QCOMPARE(model.value(QStringLiteral("layers")).toInt(), 1);
    QCOMPARE(model.value(QStringLiteral("heads")).toInt(), 3);
    QCOMPARE(model.value(QStringLiteral("d_model")).toInt(), 16);
    QCOMPARE(model.value(QStringLiteral("d_head")).toInt(), 8);
    QCOMPARE(json.value(QStringLiteral("tokens")).toArray().size(), 7);
    QCOMPARE(json.value(QStringLiteral("settings")).toObject().value(QStringLiteral("mask")).toString(), QStringLiteral("none"));

    // Every number equals the library's, bit for bit (floats survive JSON through double).
    const Workspace w = defaultWorkspace(sentence);
    const TeachingTrace trace = traceTeachingModel(w.text, w.config, w.heads, w.settings);
    const QJsonObject layer = json.value(QStringLiteral("layers")).toArray().at(0).toObject();
    const QJsonArray input = layer.value(QStringLiteral("input")).toArray();
    QCOMPARE(input.size(), 7);
    for (int t = 0; t < 7; ++t)
        for (int c = 0; c < 8; ++c)
            QCOMPARE(float(input.at(t).toArray().at(c).toDouble()), trace.input(t, c));
    const QJsonArray heads = layer.value(QStringLiteral("heads")).toArray();
    QCOMPARE(heads.size(), 3);
    for (int h = 0; h < 3; ++h) {
        const QJsonObject head = heads.at(h).toObject();
        QCOMPARE(head.value(QStringLiteral("name")).toString(), w.heads[size_t(h)].name);
        QVERIFY(!head.contains(QStringLiteral("scores"))); // stages only with --stages
        const QJsonArray weights = head.value(QStringLiteral("weights")).toArray();
        for (int i = 0; i < 7; ++i)
            for (int j = 0; j < 7; ++j)
                QCOMPARE(float(weights.at(i).toArray().at(j).toDouble()), trace.heads[size_t(h)].weights(i, j));
    }
}

void TestCli::traceStagesAndMask()
{
    const Run r = run({QStringLiteral("trace"), QStringLiteral("--text"), QStringLiteral("a b c"), QStringLiteral("--mask"),
                       QStringLiteral("causal"), QStringLiteral("--temperature"), QStringLiteral("0.5"),
                       QStringLiteral("--no-scale"), QStringLiteral("--stages")});
    QCOMPARE(r.exitCode, 0);
    const QJsonObject json = parse(r.out);
    const QJsonObject settings = json.value(QStringLiteral("settings")).toObject();
    QCOMPARE(settings.value(QStringLiteral("mask")).toString(), QStringLiteral("causal"));
    QCOMPARE(settings.value(QStringLiteral("temperature")).toDouble(), 0.5);
    QCOMPARE(settings.value(QStringLiteral("scale")).toBool(), false);
    const QJsonObject head = json.value(QStringLiteral("layers")).toArray().at(0).toObject()
                                 .value(QStringLiteral("heads")).toArray().at(2).toObject();
    for (const char *key : {"w_q", "w_k", "w_v", "q", "k", "v", "scores", "scaled", "masked", "weights", "output"})
        QVERIFY2(head.contains(QLatin1String(key)), key);
    QCOMPARE(head.value(QStringLiteral("w_q")).toArray().size(), 16);                      // d_model rows
    QCOMPARE(head.value(QStringLiteral("q")).toArray().at(0).toArray().size(), 8);         // d_head columns
    const QJsonArray masked = head.value(QStringLiteral("masked")).toArray();
    QVERIFY(masked.at(0).toArray().at(1).isNull());
    QVERIFY(masked.at(0).toArray().at(2).isNull());
    QVERIFY(masked.at(1).toArray().at(2).isNull());
    QVERIFY(masked.at(2).toArray().at(0).isDouble());
    // Without scaling, scaled equals scores.
    QCOMPARE(head.value(QStringLiteral("scaled")), head.value(QStringLiteral("scores")));
    const QJsonArray weights = head.value(QStringLiteral("weights")).toArray();
    QCOMPARE(weights.at(0).toArray().at(0).toDouble(), 1.0);
    QCOMPARE(weights.at(0).toArray().at(1).toDouble(), 0.0);
}

void TestCli::traceFromWorkspace()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("w.json"));
    Workspace w = defaultWorkspace(QStringLiteral("saved sentence"));
    w.heads[0].wQ(0, 0) = 3.5f;
    w.settings.mask = MaskMode::Keys;
    w.settings.maskedKeys = {0};
    QVERIFY_OK(saveWorkspace(w, path));
    const Run r = run({QStringLiteral("trace"), QStringLiteral("--workspace"), path, QStringLiteral("--stages")});
    QCOMPARE(r.exitCode, 0);
    const QJsonObject json = parse(r.out);
    QCOMPARE(json.value(QStringLiteral("tokens")).toArray().at(0).toString(), QStringLiteral("saved"));
    const QJsonObject head = json.value(QStringLiteral("layers")).toArray().at(0).toObject()
                                 .value(QStringLiteral("heads")).toArray().at(0).toObject();
    QCOMPARE(head.value(QStringLiteral("w_q")).toArray().at(0).toArray().at(0).toDouble(), 3.5);
    QCOMPARE(head.value(QStringLiteral("weights")).toArray().at(1).toArray().at(0).toDouble(), 0.0); // key 0 masked
    // --text overrides the saved sentence, the rest stays.
    const Run other = run({QStringLiteral("trace"), QStringLiteral("--workspace"), path, QStringLiteral("--text"), QStringLiteral("x y z")});
    QCOMPARE(parse(other.out).value(QStringLiteral("tokens")).toArray().size(), 3);
}

void TestCli::traceToFile()
{
    QTemporaryDir dir;
    const QString out = dir.filePath(QStringLiteral("trace.json"));
    const Run r = run({QStringLiteral("trace"), QStringLiteral("--text"), QStringLiteral("hello world"), QStringLiteral("--out"), out});
    QCOMPARE(r.exitCode, 0);
    QVERIFY(r.out.isEmpty());
    QFile file(out);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(parse(file.readAll()).value(QStringLiteral("tokens")).toArray().size(), 2);
}

void TestCli::exportWritesFigures_data()
{
    QTest::addColumn<QString>("format");
    QTest::newRow("png") << QStringLiteral("png");
    QTest::newRow("svg") << QStringLiteral("svg");
    QTest::newRow("pdf") << QStringLiteral("pdf");
}

void TestCli::exportWritesFigures()
{
    QFETCH(QString, format);
    QTemporaryDir dir;
    const QString out = dir.filePath(QStringLiteral("heatmap.") + format);
    const Run r = run({QStringLiteral("export"), QStringLiteral("--text"), QStringLiteral("The cat sat on the mat."),
                       QStringLiteral("--view"), QStringLiteral("heatmap"), QStringLiteral("--head"), QStringLiteral("1"),
                       QStringLiteral("--format"), format, QStringLiteral("--out"), out, QStringLiteral("--dpi"), QStringLiteral("96")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QFile file(out);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray bytes = file.readAll();
    QVERIFY(opensAs(out, *figureFormatFromName(format)));
    if (format == QStringLiteral("png")) {
        QImage image;
        QVERIFY(image.loadFromData(bytes, "PNG"));
        QVERIFY(image.width() > 200 && image.height() > 200);
    } else if (format == QStringLiteral("svg")) {
        QVERIFY(bytes.contains("<svg"));
        QVERIFY(bytes.contains("Same word")); // the caption is text
        QVERIFY(bytes.contains(">mat<"));     // token labels are text
    } else {
        QVERIFY(bytes.startsWith("%PDF-"));
        QVERIFY(bytes.contains("/Type /Page"));
    }
}

void TestCli::exportViews_data()
{
    QTest::addColumn<QStringList>("arguments");
    const QString model = QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny");
    QTest::newRow("arcs") << QStringList{QStringLiteral("--view"), QStringLiteral("arcs"), QStringLiteral("--top-k"), QStringLiteral("2")};
    QTest::newRow("arcs of two heads") << QStringList{QStringLiteral("--view"), QStringLiteral("arcs"), QStringLiteral("--show-heads"), QStringLiteral("0,2")};
    QTest::newRow("arcs of a four-head model") << QStringList{QStringLiteral("--view"), QStringLiteral("arcs"), QStringLiteral("--heads"), QStringLiteral("4"),
                                                             QStringLiteral("--show-heads"), QStringLiteral("3")};
    QTest::newRow("grid") << QStringList{QStringLiteral("--view"), QStringLiteral("grid")};
    QTest::newRow("steps") << QStringList{QStringLiteral("--view"), QStringLiteral("steps"), QStringLiteral("--stage"), QStringLiteral("projections"), QStringLiteral("--projection"), QStringLiteral("k")};
    QTest::newRow("model heatmap") << QStringList{QStringLiteral("--model"), model, QStringLiteral("--layer"), QStringLiteral("1"), QStringLiteral("--head"), QStringLiteral("3")};
    QTest::newRow("model grid") << QStringList{QStringLiteral("--model"), model, QStringLiteral("--view"), QStringLiteral("grid")};
    QTest::newRow("model steps") << QStringList{QStringLiteral("--model"), model, QStringLiteral("--view"), QStringLiteral("steps"), QStringLiteral("--stage"), QStringLiteral("scores"), QStringLiteral("--layer"), QStringLiteral("1")};
    QTest::newRow("model arcs") << QStringList{QStringLiteral("--model"), model, QStringLiteral("--view"), QStringLiteral("arcs"), QStringLiteral("--show-heads"), QStringLiteral("0,2")};
}

void TestCli::exportViews()
{
    QFETCH(QStringList, arguments);
    QTemporaryDir dir;
    for (const QString &format : {QStringLiteral("png"), QStringLiteral("svg"), QStringLiteral("pdf")}) {
        const QString out = dir.filePath(QStringLiteral("view.") + format);
        const Run r = run(QStringList{QStringLiteral("export"), QStringLiteral("--text"), QStringLiteral("The cat sat on the mat."),
                                      QStringLiteral("--out"), out, QStringLiteral("--dpi"), QStringLiteral("96")} + arguments);
        QVERIFY2(r.exitCode == 0, r.err.constData());
        QVERIFY2(!r.err.contains("already having an option"), r.err.constData()); // one name, one meaning
        QFile file(out);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray bytes = file.readAll();
        QVERIFY(opensAs(out, *figureFormatFromName(format)));
        if (format == QStringLiteral("png"))
            QVERIFY(QImage::fromData(bytes, "PNG").width() > 200);
        else if (format == QStringLiteral("svg"))
            QVERIFY(bytes.contains("<svg") && bytes.contains("cat"));
        else
            QVERIFY(bytes.startsWith("%PDF-"));
    }
}

void TestCli::modelTraceMatchesReference()
{
    QFile file(QStringLiteral(STUDIO_TEST_DATA "/reference/bert-random-tiny.json"));
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QJsonObject reference = QJsonDocument::fromJson(file.readAll()).object();
    const Run r = run({QStringLiteral("trace"), QStringLiteral("--model"), QStringLiteral(STUDIO_TEST_DATA "/checkpoints/bert-random-tiny"),
                       QStringLiteral("--text"), reference.value(QStringLiteral("text_a")).toString(),
                       QStringLiteral("--text-pair"), reference.value(QStringLiteral("text_b")).toString()});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject json = parse(r.out);
    QCOMPARE(json.value(QStringLiteral("model")).toObject().value(QStringLiteral("kind")).toString(), QStringLiteral("bert"));
    QCOMPARE(json.value(QStringLiteral("ids")), reference.value(QStringLiteral("ids")));
    QCOMPARE(json.value(QStringLiteral("tokens")), reference.value(QStringLiteral("tokens")));
    QCOMPARE(json.value(QStringLiteral("token_type_ids")), reference.value(QStringLiteral("token_type_ids")));
    const QJsonArray layers = json.value(QStringLiteral("layers")).toArray();
    const QJsonArray expected = reference.value(QStringLiteral("attentions")).toArray();
    QCOMPARE(layers.size(), 2);
    double worst = 0;
    for (int l = 0; l < 2; ++l)
        for (int h = 0; h < 4; ++h) {
            const QJsonArray ours = layers.at(l).toObject().value(QStringLiteral("heads")).toArray().at(h).toObject().value(QStringLiteral("weights")).toArray();
            const QJsonArray theirs = expected.at(l).toArray().at(h).toArray();
            QCOMPARE(ours.size(), theirs.size());
            for (int i = 0; i < ours.size(); ++i)
                for (int j = 0; j < ours.size(); ++j)
                    worst = std::max(worst, std::abs(ours.at(i).toArray().at(j).toDouble() - theirs.at(i).toArray().at(j).toDouble()));
        }
    QVERIFY2(worst <= 1e-5, qPrintable(QString::number(worst)));
}

void TestCli::tracePrecisionSaysHowFarBf16Is()
{
    // "precision": fp32 is exact (deviation 0); bf16 states its largest deviation from fp32, and
    // the weights it writes are within that of the fp32 trace's. A CPU without bf16 refuses it.
    const QString gpt2 = QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny");
    const QStringList base{QStringLiteral("trace"), QStringLiteral("--model"), gpt2, QStringLiteral("--text"),
                           QStringLiteral("The teacher wrote the sentence on the board so every student could see it")};
    const Run exact = run(base);
    QVERIFY2(exact.exitCode == 0, exact.err.constData());
    const QJsonObject fp32 = parse(exact.out);
    QCOMPARE(fp32.value(QStringLiteral("precision")).toObject(),
             (QJsonObject{{QStringLiteral("mode"), QStringLiteral("fp32")}, {QStringLiteral("max_deviation"), 0}}));
    const Run approximate = run(base + QStringList{QStringLiteral("--precision"), QStringLiteral("bf16")});
    if (!bf16Supported()) {
        QCOMPARE(approximate.exitCode, 1);
        QVERIFY2(QString::fromUtf8(approximate.err).contains(QStringLiteral("AVX512_BF16")), approximate.err.constData());
        return;
    }
    QVERIFY2(approximate.exitCode == 0, approximate.err.constData());
    const QJsonObject bf16 = parse(approximate.out);
    const QJsonObject precision = bf16.value(QStringLiteral("precision")).toObject();
    QCOMPARE(precision.value(QStringLiteral("mode")).toString(), QStringLiteral("bf16"));
    const double stated = precision.value(QStringLiteral("max_deviation")).toDouble();
    QVERIFY(stated > 0 && stated < 0.05);
    double largest = 0;
    const QJsonArray a = fp32.value(QStringLiteral("layers")).toArray(), b = bf16.value(QStringLiteral("layers")).toArray();
    QCOMPARE(a.size(), b.size());
    for (int l = 0; l < a.size(); ++l) {
        const QJsonArray ha = a.at(l).toObject().value(QStringLiteral("heads")).toArray();
        const QJsonArray hb = b.at(l).toObject().value(QStringLiteral("heads")).toArray();
        for (int h = 0; h < ha.size(); ++h) {
            const QJsonArray wa = ha.at(h).toObject().value(QStringLiteral("weights")).toArray();
            const QJsonArray wb = hb.at(h).toObject().value(QStringLiteral("weights")).toArray();
            for (int i = 0; i < wa.size(); ++i)
                for (int j = 0; j < wa.at(i).toArray().size(); ++j)
                    largest = std::max(largest, std::abs(wa.at(i).toArray().at(j).toDouble() - wb.at(i).toArray().at(j).toDouble()));
        }
    }
    // The JSON's numbers are rounded for printing; the stated figure is the unrounded largest.
    QVERIFY2(std::abs(largest - stated) < 1e-6, qPrintable(QStringLiteral("%1 vs %2").arg(largest).arg(stated)));
}

void TestCli::modelTraceStagesOfOneHead()
{
    const Run r = run({QStringLiteral("trace"), QStringLiteral("--model"), QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny"),
                       QStringLiteral("--text"), QStringLiteral("Hello world"), QStringLiteral("--stages"),
                       QStringLiteral("--layer"), QStringLiteral("1"), QStringLiteral("--head"), QStringLiteral("2")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject json = parse(r.out);
    QCOMPARE(json.value(QStringLiteral("model")).toObject().value(QStringLiteral("kind")).toString(), QStringLiteral("gpt2"));
    QCOMPARE(json.value(QStringLiteral("display_tokens")).toArray().last().toString(), QStringLiteral("␣world"));
    const QJsonArray layers = json.value(QStringLiteral("layers")).toArray();
    const QJsonObject selected = layers.at(1).toObject().value(QStringLiteral("heads")).toArray().at(2).toObject();
    for (const char *key : {"q", "k", "v", "scores", "scaled", "masked", "weights", "output"})
        QVERIFY2(selected.contains(QLatin1String(key)), key);
    QVERIFY(selected.value(QStringLiteral("masked")).toArray().at(0).toArray().at(1).isNull()); // causal
    QVERIFY(layers.at(1).toObject().contains(QStringLiteral("input")));
    // Other heads carry only their weights.
    QVERIFY(!layers.at(0).toObject().value(QStringLiteral("heads")).toArray().at(2).toObject().contains(QStringLiteral("q")));
    QVERIFY(!layers.at(0).toObject().contains(QStringLiteral("input")));
}

void TestCli::rotaryModelTrace()
{
    // Llama: the trace names the key/value heads and each head's key/value head and attention
    // sink; with --stages, q and k before and after the rotation.
    const Run r = run({QStringLiteral("trace"), QStringLiteral("--model"), QStringLiteral(STUDIO_TEST_DATA "/checkpoints/llama-random-tiny"),
                       QStringLiteral("--text"), QStringLiteral("Hello world! The quick brown fox."), QStringLiteral("--stages"),
                       QStringLiteral("--layer"), QStringLiteral("0"), QStringLiteral("--head"), QStringLiteral("3")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject json = parse(r.out);
    const QJsonObject model = json.value(QStringLiteral("model")).toObject();
    QCOMPARE(model.value(QStringLiteral("kind")).toString(), QStringLiteral("llama"));
    QCOMPARE(model.value(QStringLiteral("kv_heads")).toInt(), 2);
    QCOMPARE(model.value(QStringLiteral("positions")).toString(), QStringLiteral("rotary"));
    QCOMPARE(json.value(QStringLiteral("tokens")).toArray().at(0).toString(), QStringLiteral("<s>"));
    QCOMPARE(json.value(QStringLiteral("display_tokens")).toArray().at(1).toString(), QStringLiteral("␣Hello"));
    const QJsonObject head = json.value(QStringLiteral("layers")).toArray().at(0).toObject().value(QStringLiteral("heads")).toArray().at(3).toObject();
    QCOMPARE(head.value(QStringLiteral("kv_head")).toInt(), 1);
    const QJsonArray weights = head.value(QStringLiteral("weights")).toArray();
    double firstColumn = 0;
    for (const QJsonValue &row : weights)
        firstColumn += row.toArray().at(0).toDouble();
    QVERIFY(std::abs(head.value(QStringLiteral("first_token_share")).toDouble() - firstColumn / weights.size()) < 1e-9);
    const QJsonArray q = head.value(QStringLiteral("q")).toArray();
    const QJsonArray qPre = head.value(QStringLiteral("q_pre_rope")).toArray();
    QCOMPARE(qPre.size(), q.size());
    QCOMPARE(q.at(0), qPre.at(0)); // position 0 is not rotated
    QVERIFY(q.at(3) != qPre.at(3));
    QVERIFY(head.contains(QStringLiteral("k_pre_rope")));
    // Mistral's layers say their window.
    const Run mistral = run({QStringLiteral("trace"), QStringLiteral("--model"), QStringLiteral(STUDIO_TEST_DATA "/checkpoints/mistral-random-tiny"),
                             QStringLiteral("--text"), QStringLiteral("Attention is all you need.")});
    QVERIFY2(mistral.exitCode == 0, mistral.err.constData());
    QCOMPARE(parse(mistral.out).value(QStringLiteral("layers")).toArray().at(1).toObject().value(QStringLiteral("sliding_window")).toInt(), 4);
}

void TestCli::tokenizeModel()
{
    const Run r = run({QStringLiteral("tokenize"), QStringLiteral("--model"), QStringLiteral(STUDIO_TEST_DATA "/checkpoints/hf-fake-gpt2"),
                       QStringLiteral("--text"), QStringLiteral("Hello world! The quick brown fox jumps over the lazy dog.")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject json = parse(r.out);
    QCOMPARE(json.value(QStringLiteral("ids")).toArray(), (QJsonArray{15496, 995, 0, 383, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13}));
    QCOMPARE(json.value(QStringLiteral("tokens")).toArray().at(1).toString(), QStringLiteral("Ġworld"));
}

void TestCli::modelErrors_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");
    const QString gpt2 = QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny");
    QTest::newRow("not a folder") << QStringList{QStringLiteral("trace"), QStringLiteral("--model"), QStringLiteral("/nonexistent"), QStringLiteral("--text"), QStringLiteral("a")} << QStringLiteral("is not a folder");
    QTest::newRow("not a model") << QStringList{QStringLiteral("trace"), QStringLiteral("--model"), QStringLiteral(STUDIO_TEST_DATA), QStringLiteral("--text"), QStringLiteral("a")} << QStringLiteral("no config.json");
    QTest::newRow("pair for GPT-2") << QStringList{QStringLiteral("trace"), QStringLiteral("--model"), gpt2, QStringLiteral("--text"), QStringLiteral("a"), QStringLiteral("--text-pair"), QStringLiteral("b")} << QStringLiteral("takes one text");
    QTest::newRow("no such head") << QStringList{QStringLiteral("trace"), QStringLiteral("--model"), gpt2, QStringLiteral("--text"), QStringLiteral("a"), QStringLiteral("--stages"), QStringLiteral("--head"), QStringLiteral("4")} << QStringLiteral("no layer");
    QTest::newRow("export no such layer") << QStringList{QStringLiteral("export"), QStringLiteral("--model"), gpt2, QStringLiteral("--text"), QStringLiteral("a"), QStringLiteral("--layer"), QStringLiteral("2"), QStringLiteral("--out"), QStringLiteral("/tmp/x.png")} << QStringLiteral("no layer 2");
    QTest::newRow("tokenize without model") << QStringList{QStringLiteral("tokenize"), QStringLiteral("--text"), QStringLiteral("a")} << QStringLiteral("--model");
    QTest::newRow("empty text") << QStringList{QStringLiteral("trace"), QStringLiteral("--model"), gpt2, QStringLiteral("--text"), QStringLiteral("  ")} << QStringLiteral("text is empty");
    QTest::newRow("unknown precision") << QStringList{QStringLiteral("trace"), QStringLiteral("--model"), gpt2, QStringLiteral("--text"), QStringLiteral("a"), QStringLiteral("--precision"), QStringLiteral("fp16")} << QStringLiteral("fp32 or bf16");
    QTest::newRow("bf16 on the teaching model") << QStringList{QStringLiteral("trace"), QStringLiteral("--text"), QStringLiteral("a"), QStringLiteral("--precision"), QStringLiteral("bf16")} << QStringLiteral("needs --model");
}

void TestCli::modelErrors()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    const Run r = run(arguments);
    QVERIFY2(r.exitCode > 0, qPrintable(QString::number(r.exitCode)));
    QVERIFY2(QString::fromUtf8(r.err).contains(message), r.err.constData());
}

void TestCli::badInputFails_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");
    const QString t = QStringLiteral("--text");
    QTest::newRow("empty text") << QStringList{QStringLiteral("trace"), t, QString()} << QStringLiteral("text is empty");
    QTest::newRow("no text") << QStringList{QStringLiteral("trace")} << QStringLiteral("text is empty");
    QTest::newRow("white space only") << QStringList{QStringLiteral("trace"), t, QStringLiteral("   ")} << QStringLiteral("text is empty");
    QTest::newRow("unknown option") << QStringList{QStringLiteral("trace"), QStringLiteral("--frobnicate")} << QStringLiteral("frobnicate");
    QTest::newRow("zero temperature") << QStringList{QStringLiteral("trace"), t, QStringLiteral("a"), QStringLiteral("--temperature"), QStringLiteral("0")} << QStringLiteral("--temperature");
    QTest::newRow("negative temperature") << QStringList{QStringLiteral("trace"), t, QStringLiteral("a"), QStringLiteral("--temperature"), QStringLiteral("-1")} << QStringLiteral("--temperature");
    QTest::newRow("nan temperature") << QStringList{QStringLiteral("trace"), t, QStringLiteral("a"), QStringLiteral("--temperature"), QStringLiteral("nan")} << QStringLiteral("--temperature");
    QTest::newRow("bad mask") << QStringList{QStringLiteral("trace"), t, QStringLiteral("a"), QStringLiteral("--mask"), QStringLiteral("up")} << QStringLiteral("--mask");
    QTest::newRow("missing workspace") << QStringList{QStringLiteral("trace"), QStringLiteral("--workspace"), QStringLiteral("/nonexistent/w.json")} << QStringLiteral("cannot read");
    QTest::newRow("workspace is a folder") << QStringList{QStringLiteral("trace"), QStringLiteral("--workspace"), QStringLiteral("/")} << QStringLiteral("is a folder");
    QTest::newRow("malformed workspace") << QStringList{QStringLiteral("trace"), QStringLiteral("--workspace"), QStringLiteral(STUDIO_TEST_DATA "/malformed-workspace.json")} << QStringLiteral("not valid JSON");
    QTest::newRow("bad d_model") << QStringList{QStringLiteral("trace"), t, QStringLiteral("a"), QStringLiteral("--d-model"), QStringLiteral("1")} << QStringLiteral("d_model");
    QTest::newRow("unknown view") << QStringList{QStringLiteral("export"), t, QStringLiteral("a"), QStringLiteral("--view"), QStringLiteral("pie"), QStringLiteral("--out"), QStringLiteral("x.png")} << QStringLiteral("--view");
    QTest::newRow("head out of range") << QStringList{QStringLiteral("export"), t, QStringLiteral("a"), QStringLiteral("--head"), QStringLiteral("3"), QStringLiteral("--out"), QStringLiteral("x.png")} << QStringLiteral("--head");
    QTest::newRow("bad format") << QStringList{QStringLiteral("export"), t, QStringLiteral("a"), QStringLiteral("--out"), QStringLiteral("x.gif")} << QStringLiteral("--format");
    QTest::newRow("no out") << QStringList{QStringLiteral("export"), t, QStringLiteral("a")} << QStringLiteral("--out");
    QTest::newRow("bad dpi") << QStringList{QStringLiteral("export"), t, QStringLiteral("a"), QStringLiteral("--out"), QStringLiteral("/tmp/x.png"), QStringLiteral("--dpi"), QStringLiteral("5")} << QStringLiteral("dpi");
    QTest::newRow("unwritable out") << QStringList{QStringLiteral("export"), t, QStringLiteral("a"), QStringLiteral("--out"), QStringLiteral("/nonexistent/dir/x.png")} << QStringLiteral("cannot write");
}

void TestCli::badInputFails()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    const Run r = run(arguments);
    QVERIFY2(r.exitCode > 0, qPrintable(QString::number(r.exitCode))); // an error exit, not a crash (-2)
    const QString err = QString::fromUtf8(r.err);
    QVERIFY2(err.contains(QStringLiteral("attention-studio: error: ")), qPrintable(err));
    QVERIFY2(err.contains(message), qPrintable(err));
    QVERIFY(r.out.isEmpty());
}

void TestCli::everyCutIsStatedInTheTrace()
{
    QStringList words;
    for (int i = 0; i < 1100; ++i)
        words.append(QStringLiteral("w%1").arg(i % 10));
    const Run teaching = run({QStringLiteral("trace"), QStringLiteral("--text"), words.join(QLatin1Char(' '))});
    QCOMPARE(teaching.exitCode, 0);
    const QJsonObject cut = parse(teaching.out).value(QStringLiteral("truncated")).toObject();
    QCOMPARE(cut.value(QStringLiteral("from")).toInt(), 1100);
    QCOMPARE(cut.value(QStringLiteral("to")).toInt(), 1024);
    QCOMPARE(parse(teaching.out).value(QStringLiteral("tokens")).toArray().size(), 1024);

    const Run model = run({QStringLiteral("trace"), QStringLiteral("--model"), QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny"),
                           QStringLiteral("--text"), words.join(QLatin1Char(' '))});
    QCOMPARE(model.exitCode, 0);
    const QJsonObject json = parse(model.out);
    const QJsonObject modelCut = json.value(QStringLiteral("truncated")).toObject();
    QVERIFY(modelCut.value(QStringLiteral("from")).toInt() > modelCut.value(QStringLiteral("to")).toInt());
    QCOMPARE(modelCut.value(QStringLiteral("to")).toInt(), int(json.value(QStringLiteral("ids")).toArray().size()));
    // Nothing cut, nothing said.
    const Run whole = run({QStringLiteral("trace"), QStringLiteral("--text"), QStringLiteral("The cat sat.")});
    QVERIFY(!parse(whole.out).contains(QStringLiteral("truncated")));
}

void TestCli::optionsDoWhatTheySay_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");
    const QString model = QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny");
    QTest::newRow("threshold NaN") << QStringList{QStringLiteral("export"), QStringLiteral("--view"), QStringLiteral("arcs"),
                                                  QStringLiteral("--threshold"), QStringLiteral("nan"), QStringLiteral("--out"), QStringLiteral("x.png")}
                                   << QStringLiteral("--threshold must be between 0 and 1");
    QTest::newRow("layer without stages") << QStringList{QStringLiteral("trace"), QStringLiteral("--model"), model, QStringLiteral("--layer"), QStringLiteral("1")}
                                          << QStringLiteral("give --stages too");
    QTest::newRow("negative layer") << QStringList{QStringLiteral("trace"), QStringLiteral("--model"), model, QStringLiteral("--stages"),
                                                   QStringLiteral("--layer"), QStringLiteral("-1")}
                                    << QStringLiteral("count from 0");
}

void TestCli::optionsDoWhatTheySay()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    const Run r = run(arguments + QStringList{QStringLiteral("--text"), QStringLiteral("The cat sat on the mat.")});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(QString::fromUtf8(r.err).contains(message), r.err.constData());
}

void TestCli::tinyTemperatureIsTheArgmax()
{
    // 1/τ overflows for τ = 1e-308: every row is still a distribution, its argmax.
    const Run r = run({QStringLiteral("trace"), QStringLiteral("--text"), QStringLiteral("The cat sat on the mat."),
                       QStringLiteral("--temperature"), QStringLiteral("1e-308")});
    QCOMPARE(r.exitCode, 0);
    const QJsonArray heads = parse(r.out).value(QStringLiteral("layers")).toArray().at(0).toObject().value(QStringLiteral("heads")).toArray();
    QCOMPARE(heads.size(), 3);
    for (const QJsonValue &head : heads) {
        for (const QJsonValue &row : head.toObject().value(QStringLiteral("weights")).toArray()) {
            double sum = 0, largest = 0;
            for (const QJsonValue &w : row.toArray()) {
                sum += w.toDouble();
                largest = std::max(largest, w.toDouble());
            }
            QCOMPARE(sum, 1.0);
            QVERIFY(largest >= 0.5); // one key, or a tie shared by two
        }
    }
}

void TestCli::fileSizeLimitGivesAMessageNotASignal()
{
    // The export runs with files limited to 1 KiB (inherited by the child, whose SIGXFSZ is left
    // at its default): it must end with the disk-full message, not be killed by the signal.
    QTemporaryDir dir;
    const QString out = dir.filePath(QStringLiteral("big.png"));
    Run r;
    {
        const testing::ScopedFileSizeLimit limit(1024, testing::ScopedFileSizeLimit::KeepSignal);
        QVERIFY(limit.isSet());
        r = run({QStringLiteral("export"), QStringLiteral("--text"), QStringLiteral("The cat sat on the mat."),
                 QStringLiteral("--out"), out});
    }
    QCOMPARE(r.exitCode, 1);
    // The system's own reason, not "Unknown error" nor a guess.
    QVERIFY2(r.err.contains(QByteArray("cannot write ") + out.toUtf8() + ": " + std::strerror(EFBIG)), r.err.constData());
    QVERIFY(!QFile::exists(out));
}

void TestCli::helpAndVersionDoNotOpenTheWindow()
{
    // Before, --help started the window (and this run waited for it until the timeout).
    for (const QString &flag : {QStringLiteral("--help"), QStringLiteral("-h")}) {
        const Run help = run({flag});
        QCOMPARE(help.exitCode, 0);
        for (const char *command : {"trace", "export", "tokenize"})
            QVERIFY2(help.out.contains(command), help.out.constData());
    }
    const Run version = run({QStringLiteral("--version")});
    QCOMPARE(version.exitCode, 0);
    QVERIFY2(version.out.startsWith("attention-studio "), version.out.constData());
}

void TestCli::runThatCannotFitIsRefusedWithItsFigure()
{
    // 16 layers × 64 heads over 32,768 tokens: the window's maps alone are 16·64·32768² floats,
    // 4.4 TB. The run is refused before it starts, with that figure, instead of exhausting memory.
    QTemporaryDir dir;
    const QString model = dir.filePath(QStringLiteral("wide"));
    QVERIFY_OK(testing::writeRandomGpt2(model, {16, 64, 64, 50257, 32768}));
    const QString text = QStringLiteral(" a").repeated(40000);
    const QString out = dir.filePath(QStringLiteral("grid.png"));
    const Run r = run({QStringLiteral("export"), QStringLiteral("--model"), model, QStringLiteral("--text"), text,
                       QStringLiteral("--view"), QStringLiteral("grid"), QStringLiteral("--out"), out});
    QVERIFY2(r.exitCode > 0, r.err.constData());
    QVERIFY2(r.err.contains("not enough memory for this run: it needs about 4.4 TB"), r.err.constData());
    QVERIFY(!QFile::exists(out));
}

void TestCli::downloadFetchesIntoTheCacheAndPrintsTheSnapshot()
{
    // A local server that answers like the Hub, serving the tiny GPT-2.
    studio::testing::FakeHub hub;
    QVERIFY(hub.isListening());
    const auto repo = studio::testing::FakeHub::repoFromFolder(QStringLiteral(STUDIO_TEST_DATA "/checkpoints/hf-tiny-gpt2"),
                                                               QStringLiteral("89abcdef0123456789abcdef0123456789abcdef"));
    hub.addRepo(QStringLiteral("org/tiny"), repo);

    QTemporaryDir home;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("HF_ENDPOINT"), hub.endpoint());
    environment.insert(QStringLiteral("HF_HOME"), home.path());
    environment.remove(QStringLiteral("HF_HUB_CACHE"));
    environment.remove(QStringLiteral("HF_TOKEN"));
    environment.remove(QStringLiteral("HF_HUB_OFFLINE"));
    const auto runDownload = [&](const QStringList &arguments) { return run(arguments, environment); };

    const Run fetched = runDownload({QStringLiteral("download"), QStringLiteral("org/tiny")});
    QVERIFY2(fetched.exitCode == 0, fetched.err.constData());
    const QString snapshot = home.path() + QStringLiteral("/hub/models--org--tiny/snapshots/") + repo.commit;
    QCOMPARE(fetched.out, snapshot.toUtf8() + '\n');
    QVERIFY(!fetched.err.contains('\r')); // no progress bar when standard error is not a terminal
    const Run traced = run({QStringLiteral("trace"), QStringLiteral("--model"), snapshot, QStringLiteral("--text"), QStringLiteral("lower newer")});
    QVERIFY2(traced.exitCode == 0, traced.err.constData());

    const Run missing = runDownload({QStringLiteral("download"), QStringLiteral("org/none")});
    QCOMPARE(missing.exitCode, 1);
    QVERIFY2(missing.err.startsWith("attention-studio: error: no model org/none on 127.0.0.1"), missing.err.constData());
    const Run noId = runDownload({QStringLiteral("download")});
    QCOMPARE(noId.exitCode, 2);
    environment.insert(QStringLiteral("HF_HUB_OFFLINE"), QStringLiteral("1"));
    hub.clearRequests();
    const Run offline = runDownload({QStringLiteral("download"), QStringLiteral("org/tiny"), QStringLiteral("--revision"), QStringLiteral("main")});
    QCOMPARE(offline.exitCode, 0);
    QCOMPARE(offline.out, snapshot.toUtf8() + '\n');
    QVERIFY(hub.requests().isEmpty());
}

void TestCli::handoutFromTheCommandLine()
{
    const QString pdftotext = QStandardPaths::findExecutable(QStringLiteral("pdftotext"));
    QVERIFY2(!pdftotext.isEmpty(), "pdftotext (poppler-utils) is needed to read the handout back");
    auto pagesOf = [&](const QString &path) {
        QProcess process;
        process.start(pdftotext, {path, QStringLiteral("-")});
        process.waitForFinished(30000);
        return QString::fromUtf8(process.readAllStandardOutput()).split(QChar(u'\f'), Qt::SkipEmptyParts);
    };
    QTemporaryDir dir;
    // The teaching model: a page per stage, the arithmetic of the chosen query.
    const QString stages = dir.filePath(QStringLiteral("stages.pdf"));
    Run r = run({QStringLiteral("handout"), QStringLiteral("--text"), QStringLiteral("The animal didn't cross the street because it was too tired."),
                 QStringLiteral("--head"), QStringLiteral("1"), QStringLiteral("--query"), QStringLiteral("7"), QStringLiteral("--out"), stages});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QStringList pages = pagesOf(stages);
    QCOMPARE(pages.size(), 9); // 7 stages of the head, then W_O and the residual add
    QVERIFY(pages.at(0).contains(QStringLiteral("Stage 1 of 9")));
    QVERIFY(pages.at(8).contains(QStringLiteral("Token “it” (position 7)")));
    QVERIFY(pages.at(6).contains(QStringLiteral("Query “it” (position 7)")));
    QVERIFY(pages.at(6).contains(QStringLiteral("head 1")));

    // A workspace with scenes: a page per scene.
    Workspace workspace = defaultWorkspace(QStringLiteral("unused"));
    for (const QString &text : {QStringLiteral("the cat saw the dog"), QStringLiteral("a bird sang")}) {
        Scene scene;
        scene.name = QStringLiteral("About ") + text;
        scene.state = defaultWorkspace(text);
        scene.stage = QStringLiteral("weights");
        scene.view = QStringLiteral("steps");
        scene.query = 1;
        workspace.scenes.push_back(scene);
    }
    const QString lesson = dir.filePath(QStringLiteral("lesson.attention.json"));
    QVERIFY_OK(saveWorkspace(workspace, lesson));
    const QString scenes = dir.filePath(QStringLiteral("scenes.pdf"));
    r = run({QStringLiteral("handout"), QStringLiteral("--workspace"), lesson, QStringLiteral("--out"), scenes});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    pages = pagesOf(scenes);
    QCOMPARE(pages.size(), 2);
    QVERIFY(pages.at(0).contains(QStringLiteral("Scene 1 of 2 · About the cat saw the dog")));
    QVERIFY(pages.at(1).contains(QStringLiteral("Query “bird” (position 1)")));
    // --text given: the workspace's weights on that text, a page per stage (the scenes are not used).
    r = run({QStringLiteral("handout"), QStringLiteral("--workspace"), lesson, QStringLiteral("--text"), QStringLiteral("one two"),
             QStringLiteral("--out"), scenes});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(pagesOf(scenes).size(), 9);

    // A checkpoint: its head's stages.
    const QString model = dir.filePath(QStringLiteral("model.pdf"));
    r = run({QStringLiteral("handout"), QStringLiteral("--model"), QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny"),
             QStringLiteral("--text"), QStringLiteral("Hello world"), QStringLiteral("--layer"), QStringLiteral("1"), QStringLiteral("--out"), model});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    pages = pagesOf(model);
    QCOMPARE(pages.size(), 12); // GPT-2: the head's 7 stages, the rest of the block (4) and the next token
    QVERIFY(pages.at(0).contains(QStringLiteral("layer 1")));

    // Mistakes are named, and nothing is written.
    const QString bad = dir.filePath(QStringLiteral("bad.pdf"));
    for (const auto &[arguments, message] : std::initializer_list<std::pair<QStringList, QString>>{
             {{QStringLiteral("--text"), QStringLiteral("a b")}, QStringLiteral("--out FILE.pdf is required")},
             {{QStringLiteral("--text"), QStringLiteral("a b"), QStringLiteral("--out"), dir.filePath(QStringLiteral("h.png"))}, QStringLiteral("must end in .pdf")},
             {{QStringLiteral("--text"), QStringLiteral("a b"), QStringLiteral("--query"), QStringLiteral("5"), QStringLiteral("--out"), bad}, QStringLiteral("--query must be a token position between 0 and 1")},
             {{QStringLiteral("--text"), QStringLiteral("a b"), QStringLiteral("--head"), QStringLiteral("9"), QStringLiteral("--out"), bad}, QStringLiteral("--head must be between 0 and 2")},
             {{QStringLiteral("--text"), QStringLiteral("   "), QStringLiteral("--out"), bad}, QStringLiteral("the text is empty")},
         }) {
        r = run(QStringList{QStringLiteral("handout")} + arguments);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(QString::fromUtf8(r.err).contains(message), r.err.constData());
    }
    QVERIFY(!QFile::exists(bad));
}

void TestCli::temperatureOnAModelIsAnExperiment()
{
    const QString model = QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny");
    auto firstWeights = [](const QByteArray &out) {
        return parse(out).value(QStringLiteral("layers")).toArray().at(0).toObject().value(QStringLiteral("heads")).toArray()
            .at(0).toObject().value(QStringLiteral("weights")).toArray();
    };
    const Run trained = run({QStringLiteral("trace"), QStringLiteral("--model"), model, QStringLiteral("--text"), QStringLiteral("Hello world")});
    QCOMPARE(trained.exitCode, 0);
    QVERIFY(!trained.err.contains("τ"));
    const Run hot = run({QStringLiteral("trace"), QStringLiteral("--model"), model, QStringLiteral("--text"), QStringLiteral("Hello world"),
                         QStringLiteral("--temperature"), QStringLiteral("2")});
    QCOMPARE(hot.exitCode, 0);
    QVERIFY2(QString::fromUtf8(hot.err).contains(QStringLiteral("τ = 2 (an experiment")), hot.err.constData());
    QVERIFY(!firstWeights(trained.out).isEmpty());
    QVERIFY(firstWeights(hot.out) != firstWeights(trained.out));
    const Run bad = run({QStringLiteral("trace"), QStringLiteral("--model"), model, QStringLiteral("--text"), QStringLiteral("Hello"),
                         QStringLiteral("--temperature"), QStringLiteral("0")});
    QCOMPARE(bad.exitCode, 2);
    QVERIFY(bad.err.contains("--temperature must be a number > 0"));
}

void TestCli::compareTwoSentences()
{
    // A checkpoint, two texts whose tokens differ in the middle: the alignment pairs equal pieces
    // in order, and each head's divergence equals the Jensen–Shannon divergence computed here from
    // the two traces' weights (restricted to aligned keys, renormalised, base 2, mean over queries).
    const QString model = QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny");
    const QString a = QStringLiteral("Hello world, this is it");
    const QString b = QStringLiteral("Hello there world, this is it");
    const Run compared = run({QStringLiteral("compare"), QStringLiteral("--model"), model, QStringLiteral("--text"), a, QStringLiteral("--text-b"), b});
    QVERIFY2(compared.exitCode == 0, compared.err.constData());
    const QJsonObject json = parse(compared.out);
    const QJsonArray alignment = json.value(QStringLiteral("alignment")).toArray();
    const QJsonArray tokensA = json.value(QStringLiteral("a")).toObject().value(QStringLiteral("tokens")).toArray();
    const QJsonArray tokensB = json.value(QStringLiteral("b")).toObject().value(QStringLiteral("tokens")).toArray();
    QCOMPARE(alignment.size(), tokensA.size()); // every token of a has its partner in b
    QCOMPARE(tokensB.size(), tokensA.size() + 1);
    for (const QJsonValue &pair : alignment)
        QCOMPARE(tokensA.at(pair.toArray().at(0).toInt()), tokensB.at(pair.toArray().at(1).toInt()));
    auto weightsOf = [&](const QString &text) {
        const Run traced = run({QStringLiteral("trace"), QStringLiteral("--model"), model, QStringLiteral("--text"), text});
        return parse(traced.out).value(QStringLiteral("layers")).toArray();
    };
    const QJsonArray layersA = weightsOf(a), layersB = weightsOf(b);
    const QJsonArray divergences = json.value(QStringLiteral("layers")).toArray();
    QCOMPARE(divergences.size(), layersA.size());
    int nonZero = 0;
    for (qsizetype l = 0; l < layersA.size(); ++l) {
        const QJsonArray headsA = layersA.at(l).toObject().value(QStringLiteral("heads")).toArray();
        const QJsonArray headsB = layersB.at(l).toObject().value(QStringLiteral("heads")).toArray();
        for (qsizetype h = 0; h < headsA.size(); ++h) {
            const QJsonArray wa = headsA.at(h).toObject().value(QStringLiteral("weights")).toArray();
            const QJsonArray wb = headsB.at(h).toObject().value(QStringLiteral("weights")).toArray();
            double sum = 0;
            int rows = 0;
            for (const QJsonValue &query : alignment) {
                std::vector<double> p, q;
                for (const QJsonValue &key : alignment) {
                    p.push_back(wa.at(query.toArray().at(0).toInt()).toArray().at(key.toArray().at(0).toInt()).toDouble());
                    q.push_back(wb.at(query.toArray().at(1).toInt()).toArray().at(key.toArray().at(1).toInt()).toDouble());
                }
                const double sp = std::accumulate(p.begin(), p.end(), 0.0), sq = std::accumulate(q.begin(), q.end(), 0.0);
                if (sp <= 0 || sq <= 0)
                    continue;
                double js = 0;
                for (size_t k = 0; k < p.size(); ++k) {
                    const double x = p[k] / sp, y = q[k] / sq, m = (x + y) / 2;
                    if (x > 0) js += 0.5 * x * std::log2(x / m);
                    if (y > 0) js += 0.5 * y * std::log2(y / m);
                }
                sum += js;
                ++rows;
            }
            const QJsonObject reported = divergences.at(l).toObject().value(QStringLiteral("heads")).toArray().at(h).toObject();
            QCOMPARE(reported.value(QStringLiteral("rows")).toInt(), rows);
            QVERIFY2(std::abs(reported.value(QStringLiteral("divergence")).toDouble() - sum / rows) < 1e-6,
                     qPrintable(QStringLiteral("layer %1 head %2: %3 vs %4").arg(l).arg(h).arg(reported.value(QStringLiteral("divergence")).toDouble()).arg(sum / rows)));
            nonZero += sum > 1e-9;
        }
    }
    QVERIFY(nonZero > 0); // the inserted word changes some head's attention
    // The same sentence twice: nothing differs.
    const Run same = run({QStringLiteral("compare"), QStringLiteral("--text"), QStringLiteral("the cat sat"), QStringLiteral("--text-b"), QStringLiteral("the cat sat")});
    QCOMPARE(same.exitCode, 0);
    for (const QJsonValue &head : parse(same.out).value(QStringLiteral("layers")).toArray().at(0).toObject().value(QStringLiteral("heads")).toArray())
        QCOMPARE(head.toObject().value(QStringLiteral("divergence")).toDouble(), 0.0);
    const Run missing = run({QStringLiteral("compare"), QStringLiteral("--text"), QStringLiteral("a")});
    QCOMPARE(missing.exitCode, 2);
    QVERIFY(missing.err.contains("--text-b"));
}

void TestCli::traceWithRollout()
{
    // The rollout in the trace equals the formula applied here to the trace's own weights:
    // Â_l = ½·mean_h A + ½·I (rows renormalised), R_0 = Â_0, R_l = Â_l · R_{l−1}; in double.
    for (const QStringList &extra : {QStringList{QStringLiteral("--model"), QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny")},
                                     QStringList{}}) {
        const Run traced = run(QStringList{QStringLiteral("trace"), QStringLiteral("--text"), QStringLiteral("Hello world, this is it"),
                                           QStringLiteral("--aggregate"), QStringLiteral("rollout")} + extra);
        QVERIFY2(traced.exitCode == 0, traced.err.constData());
        const QJsonObject json = parse(traced.out);
        const QJsonArray layers = json.value(QStringLiteral("layers")).toArray();
        const QJsonArray rollout = json.value(QStringLiteral("rollout")).toArray();
        QCOMPARE(rollout.size(), layers.size());
        std::vector<std::vector<double>> previous;
        for (qsizetype l = 0; l < layers.size(); ++l) {
            const QJsonArray heads = layers.at(l).toObject().value(QStringLiteral("heads")).toArray();
            const qsizetype n = heads.at(0).toObject().value(QStringLiteral("weights")).toArray().size();
            std::vector<std::vector<double>> mixed(size_t(n), std::vector<double>(size_t(n), 0.0));
            for (const QJsonValue &head : heads) {
                const QJsonArray w = head.toObject().value(QStringLiteral("weights")).toArray();
                for (qsizetype r = 0; r < n; ++r)
                    for (qsizetype c = 0; c < n; ++c)
                        mixed[size_t(r)][size_t(c)] += 0.5 * w.at(r).toArray().at(c).toDouble() / double(heads.size());
            }
            for (qsizetype r = 0; r < n; ++r) {
                mixed[size_t(r)][size_t(r)] += 0.5;
                const double sum = std::accumulate(mixed[size_t(r)].begin(), mixed[size_t(r)].end(), 0.0);
                for (double &x : mixed[size_t(r)])
                    x /= sum;
            }
            std::vector<std::vector<double>> current = mixed;
            if (!previous.empty())
                for (qsizetype r = 0; r < n; ++r)
                    for (qsizetype c = 0; c < n; ++c) {
                        double x = 0;
                        for (qsizetype k = 0; k < n; ++k)
                            x += mixed[size_t(r)][size_t(k)] * previous[size_t(k)][size_t(c)];
                        current[size_t(r)][size_t(c)] = x;
                    }
            const QJsonArray reported = rollout.at(l).toArray();
            QCOMPARE(reported.size(), n);
            for (qsizetype r = 0; r < n; ++r)
                for (qsizetype c = 0; c < n; ++c)
                    QVERIFY2(std::abs(reported.at(r).toArray().at(c).toDouble() - current[size_t(r)][size_t(c)]) < 1e-6,
                             qPrintable(QStringLiteral("layer %1 [%2][%3]").arg(l).arg(r).arg(c)));
            previous = current;
        }
    }
    const Run bad = run({QStringLiteral("trace"), QStringLiteral("--text"), QStringLiteral("a b"), QStringLiteral("--aggregate"), QStringLiteral("mean")});
    QCOMPARE(bad.exitCode, 2);
    QVERIFY(bad.err.contains("--aggregate takes rollout, flow or value"));
    // Without --aggregate there is no rollout.
    QVERIFY(!parse(run({QStringLiteral("trace"), QStringLiteral("--text"), QStringLiteral("a b")}).out).contains(QStringLiteral("rollout")));
}

namespace {

std::vector<std::vector<double>> rowsOf(const QJsonValue &value)
{
    std::vector<std::vector<double>> rows;
    for (const QJsonValue &row : value.toArray()) {
        rows.emplace_back();
        for (const QJsonValue &x : row.toArray())
            rows.back().push_back(x.toDouble());
    }
    return rows;
}

} // namespace

void TestCli::traceTranslatesWithCrossAttention()
{
    const QString model = QStringLiteral(STUDIO_TEST_DATA "/checkpoints/marian-random-tiny");
    const QJsonObject reference = [] {
        QFile file(QStringLiteral(STUDIO_TEST_DATA "/reference/marian-random-tiny.json"));
        return file.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(file.readAll()).object() : QJsonObject();
    }();
    const QString source = reference.value(QStringLiteral("source_text")).toString();
    const auto ids = [](const QJsonValue &value) { return value.toObject().value(QStringLiteral("ids")).toArray(); };
    // Teacher forcing: the decoder reads the start token and the target's ids, its end token included.
    const Run forced = run({QStringLiteral("trace"), QStringLiteral("--model"), model, QStringLiteral("--text"), source, QStringLiteral("--target"),
                            reference.value(QStringLiteral("target_text")).toString()});
    QVERIFY2(forced.exitCode == 0, forced.err.constData());
    const QJsonObject trace = parse(forced.out);
    QCOMPARE(ids(trace.value(QStringLiteral("source"))), reference.value(QStringLiteral("source_ids")).toArray());
    QCOMPARE(ids(trace.value(QStringLiteral("target"))), reference.value(QStringLiteral("decoder_input_ids")).toArray());
    QVERIFY(!trace.contains(QStringLiteral("generated")));
    for (const char *kind : {"encoder", "decoder", "cross"}) {
        const QJsonArray layers = trace.value(QLatin1String(kind)).toObject().value(QStringLiteral("layers")).toArray();
        const QJsonArray expected = reference.value(QLatin1String(kind) + QStringLiteral("_attentions")).toArray();
        QCOMPARE(layers.size(), expected.size());
        double worst = 0;
        for (qsizetype l = 0; l < layers.size(); ++l) {
            const QJsonArray heads = layers.at(l).toObject().value(QStringLiteral("heads")).toArray();
            QCOMPARE(heads.size(), expected.at(l).toArray().size());
            for (qsizetype h = 0; h < heads.size(); ++h) {
                const QJsonArray rows = heads.at(h).toObject().value(QStringLiteral("weights")).toArray();
                const QJsonArray want = expected.at(l).toArray().at(h).toArray();
                QCOMPARE(rows.size(), want.size());
                for (qsizetype i = 0; i < rows.size(); ++i) {
                    QCOMPARE(rows.at(i).toArray().size(), want.at(i).toArray().size());
                    for (qsizetype j = 0; j < rows.at(i).toArray().size(); ++j)
                        worst = std::max(worst, std::abs(rows.at(i).toArray().at(j).toDouble() - want.at(i).toArray().at(j).toDouble()));
                }
            }
        }
        QVERIFY2(worst <= 1e-5, qPrintable(QStringLiteral("%1: %2").arg(QLatin1String(kind)).arg(worst)));
    }
    // Greedy: "generated" holds the reference's ids; the decoder read the start token and them.
    const Run generated = run({QStringLiteral("trace"), QStringLiteral("--model"), model, QStringLiteral("--text"), source,
                               QStringLiteral("--generate"), QStringLiteral("8"), QStringLiteral("--stages")});
    QVERIFY2(generated.exitCode == 0, generated.err.constData());
    const QJsonObject greedy = parse(generated.out);
    const QJsonArray greedyIds = reference.value(QStringLiteral("greedy")).toObject().value(QStringLiteral("ids")).toArray();
    QCOMPARE(ids(greedy.value(QStringLiteral("generated"))), greedyIds);
    QJsonArray decoderInput{reference.value(QStringLiteral("decoder_input_ids")).toArray().first()};
    for (const QJsonValue &id : greedyIds)
        decoderInput.append(id);
    QCOMPARE(ids(greedy.value(QStringLiteral("target"))), decoderInput);
    const QJsonObject crossHead = greedy.value(QStringLiteral("cross")).toObject().value(QStringLiteral("layers")).toArray().at(1).toObject()
                                      .value(QStringLiteral("heads")).toArray().at(0).toObject();
    QCOMPARE(crossHead.value(QStringLiteral("q")).toArray().size(), decoderInput.size());                 // queries: the target
    QCOMPARE(crossHead.value(QStringLiteral("k")).toArray().size(), reference.value(QStringLiteral("source_ids")).toArray().size()); // keys: the source
    QCOMPARE(crossHead.value(QStringLiteral("weights")).toArray().at(0).toArray().size(), reference.value(QStringLiteral("source_ids")).toArray().size());

    // Usage: one of --target and --generate, and only for translation models.
    QCOMPARE(run({QStringLiteral("trace"), QStringLiteral("--model"), model, QStringLiteral("--text"), source}).exitCode, 2);
    QCOMPARE(run({QStringLiteral("trace"), QStringLiteral("--model"), model, QStringLiteral("--text"), source, QStringLiteral("--generate"), QStringLiteral("0")}).exitCode, 2);
    QCOMPARE(run({QStringLiteral("trace"), QStringLiteral("--model"), model, QStringLiteral("--text"), source, QStringLiteral("--target"), QStringLiteral("a"),
                  QStringLiteral("--predict"), QStringLiteral("3")}).exitCode, 2);
    const Run notTranslation = run({QStringLiteral("trace"), QStringLiteral("--model"), QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny"),
                                    QStringLiteral("--text"), QStringLiteral("a"), QStringLiteral("--target"), QStringLiteral("b")});
    QCOMPARE(notTranslation.exitCode, 2);
    QVERIFY(notTranslation.err.contains("translation"));

    // tokenize: the source as the encoder reads it, --target as the decoder's tokenizer splits it.
    const Run tokenized = run({QStringLiteral("tokenize"), QStringLiteral("--model"), model, QStringLiteral("--text"), source, QStringLiteral("--target"),
                               reference.value(QStringLiteral("target_text")).toString()});
    QVERIFY2(tokenized.exitCode == 0, tokenized.err.constData());
    const QJsonObject tokens = parse(tokenized.out);
    QCOMPARE(tokens.value(QStringLiteral("ids")).toArray(), reference.value(QStringLiteral("source_ids")).toArray());
    QCOMPARE(ids(tokens.value(QStringLiteral("target"))), reference.value(QStringLiteral("target_ids")).toArray());
    // export: any view of one kind; the kind must be one of the three.
    QTemporaryDir dir;
    const QString png = dir.filePath(QStringLiteral("cross.png"));
    const Run exported = run({QStringLiteral("export"), QStringLiteral("--model"), model, QStringLiteral("--text"), source, QStringLiteral("--target"),
                              QStringLiteral("Die Katze"), QStringLiteral("--view"), QStringLiteral("arcs"), QStringLiteral("--layer"), QStringLiteral("1"),
                              QStringLiteral("--out"), png});
    QVERIFY2(exported.exitCode == 0, exported.err.constData());
    QVERIFY(opensAs(png, FigureFormat::Png));
    QCOMPARE(run({QStringLiteral("export"), QStringLiteral("--model"), model, QStringLiteral("--text"), source, QStringLiteral("--attention"),
                  QStringLiteral("sideways"), QStringLiteral("--out"), png}).exitCode, 2);
    const Run wrongLayer = run({QStringLiteral("export"), QStringLiteral("--model"), model, QStringLiteral("--text"), source, QStringLiteral("--attention"),
                                QStringLiteral("encoder"), QStringLiteral("--layer"), QStringLiteral("5"), QStringLiteral("--out"), png});
    QCOMPARE(wrongLayer.exitCode, 2);
    QVERIFY(wrongLayer.err.contains("encoder layer 5"));
    // A single-stack command on a translation model says what it is.
    const Run compared = run({QStringLiteral("compare"), QStringLiteral("--model"), model, QStringLiteral("--text"), QStringLiteral("a"),
                              QStringLiteral("--text-b"), QStringLiteral("b")});
    QVERIFY(compared.exitCode != 0);
    QVERIFY(compared.err.contains("translation (encoder–decoder) model"));
}

void TestCli::tracePredictsTheNextToken()
{
    const QString model = QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny");
    const QJsonObject reference = [] {
        QFile file(QStringLiteral(STUDIO_TEST_DATA "/reference/gpt2-random-tiny.json"));
        return file.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(file.readAll()).object() : QJsonObject();
    }();
    const Run traced = run({QStringLiteral("trace"), QStringLiteral("--model"), model, QStringLiteral("--text"),
                            reference.value(QStringLiteral("text")).toString(), QStringLiteral("--predict"), QStringLiteral("10")});
    QVERIFY2(traced.exitCode == 0, traced.err.constData());
    const QJsonArray next = parse(traced.out).value(QStringLiteral("next_tokens")).toArray();
    const QJsonArray expected = reference.value(QStringLiteral("logits_last_position_top10")).toArray();
    QCOMPARE(next.size(), 10);
    double previousLogit = std::numeric_limits<double>::infinity(), probabilities = 0;
    for (qsizetype i = 0; i < next.size(); ++i) {
        const QJsonObject choice = next.at(i).toObject();
        QCOMPARE(choice.value(QStringLiteral("id")).toInt(), expected.at(i).toArray().at(0).toInt());
        const double logit = choice.value(QStringLiteral("logit")).toDouble();
        QVERIFY(std::abs(logit - expected.at(i).toArray().at(1).toDouble()) <= 1e-4 * std::abs(logit));
        QVERIFY(logit <= previousLogit);
        previousLogit = logit;
        probabilities += choice.value(QStringLiteral("prob")).toDouble();
        QVERIFY(!choice.value(QStringLiteral("token")).toString().isEmpty());
    }
    QVERIFY(probabilities > 0 && probabilities <= 1 + 1e-9);
    // "." is the reference's favourite, by a wide margin.
    QCOMPARE(next.at(0).toObject().value(QStringLiteral("token")).toString(), QStringLiteral("."));

    const Run teaching = run({QStringLiteral("trace"), QStringLiteral("--text"), QStringLiteral("a b"), QStringLiteral("--predict"), QStringLiteral("3")});
    QCOMPARE(teaching.exitCode, 2);
    QVERIFY(teaching.err.contains("no vocabulary"));
    const Run bert = run({QStringLiteral("trace"), QStringLiteral("--model"), QStringLiteral(STUDIO_TEST_DATA "/checkpoints/bert-random-tiny"),
                          QStringLiteral("--text"), QStringLiteral("the cat"), QStringLiteral("--predict"), QStringLiteral("3")});
    QCOMPARE(bert.exitCode, 2);
    QVERIFY2(bert.err.contains("not a left-to-right language model"), bert.err.constData());
    const Run zero = run({QStringLiteral("trace"), QStringLiteral("--model"), model, QStringLiteral("--text"), QStringLiteral("a"),
                          QStringLiteral("--predict"), QStringLiteral("0")});
    QCOMPARE(zero.exitCode, 2);
}

void TestCli::traceWithFlowAndValueWeighted()
{
    const Run traced = run({QStringLiteral("trace"), QStringLiteral("--model"), QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny"),
                            QStringLiteral("--text"), QStringLiteral("The animal didn't cross the street"),
                            QStringLiteral("--aggregate"), QStringLiteral("rollout,flow"), QStringLiteral("--aggregate"), QStringLiteral("value")});
    QVERIFY2(traced.exitCode == 0, traced.err.constData());
    const QJsonObject json = parse(traced.out);
    const QJsonArray layers = json.value(QStringLiteral("layers")).toArray();
    const QJsonArray flow = json.value(QStringLiteral("flow")).toArray();
    const QJsonArray values = json.value(QStringLiteral("value_weighted")).toArray();
    QCOMPARE(flow.size(), layers.size());
    QCOMPARE(values.size(), layers.size());
    // One layer's flow is its rollout (the only path is the edge itself); every row sums to 1 and
    // a causal model's flow never reaches a later token.
    QCOMPARE(rowsOf(flow.at(0)), rowsOf(json.value(QStringLiteral("rollout")).toArray().at(0)));
    for (const QJsonValue &layer : flow) {
        const auto rows = rowsOf(layer);
        for (size_t i = 0; i < rows.size(); ++i) {
            QVERIFY(std::abs(std::accumulate(rows[i].begin(), rows[i].end(), 0.0) - 1.0) <= 1e-5);
            for (size_t j = i + 1; j < rows[i].size(); ++j)
                QCOMPARE(rows[i][j], 0.0);
        }
    }
    // Value-weighted: each column is the weights' column times one number, ‖f(x_j)‖ > 0.
    for (qsizetype l = 0; l < layers.size(); ++l) {
        const QJsonArray heads = layers.at(l).toObject().value(QStringLiteral("heads")).toArray();
        QCOMPARE(values.at(l).toArray().size(), heads.size());
        for (qsizetype h = 0; h < heads.size(); ++h) {
            const auto w = rowsOf(heads.at(h).toObject().value(QStringLiteral("weights")));
            const auto v = rowsOf(values.at(l).toArray().at(h));
            QCOMPARE(v.size(), w.size());
            for (size_t j = 0; j < w.size(); ++j) {
                const double norm = v[j][j] / w[j][j]; // the diagonal is never masked
                QVERIFY(norm > 0);
                for (size_t i = j; i < w.size(); ++i)
                    QVERIFY2(std::abs(v[i][j] - w[i][j] * norm) <= 1e-5 * std::max(1.0, norm), qPrintable(QStringLiteral("%1 %2 %3 %4").arg(l).arg(h).arg(i).arg(j)));
            }
        }
    }
    // The teaching model: flow (one layer: its rollout), and values through each head's W_O, whose
    // identity-like default keeps ‖v_j‖: the column scale is the norm of v_j from the stages.
    const Run teaching = run({QStringLiteral("trace"), QStringLiteral("--text"), QStringLiteral("a b c"), QStringLiteral("--stages"),
                              QStringLiteral("--aggregate"), QStringLiteral("flow,rollout,value")});
    QVERIFY2(teaching.exitCode == 0, teaching.err.constData());
    const QJsonObject teachingJson = parse(teaching.out);
    QCOMPARE(rowsOf(teachingJson.value(QStringLiteral("flow")).toArray().at(0)), rowsOf(teachingJson.value(QStringLiteral("rollout")).toArray().at(0)));
    const QJsonObject head0 = teachingJson.value(QStringLiteral("layers")).toArray().at(0).toObject().value(QStringLiteral("heads")).toArray().at(0).toObject();
    const auto v = rowsOf(head0.value(QStringLiteral("v")));
    const auto w = rowsOf(head0.value(QStringLiteral("weights")));
    const auto weighted = rowsOf(teachingJson.value(QStringLiteral("value_weighted")).toArray().at(0).toArray().at(0));
    QCOMPARE(weighted.size(), size_t(3));
    for (size_t j = 0; j < 3; ++j) {
        double norm = 0;
        for (double x : v[j])
            norm += x * x;
        norm = std::sqrt(norm);
        for (size_t i = 0; i < 3; ++i)
            QVERIFY(std::abs(weighted[i][j] - w[i][j] * norm) <= 1e-5 * std::max(1.0, norm));
    }
}

void TestCli::traceWithoutSpecialTokens()
{
    const QStringList base = {QStringLiteral("trace"), QStringLiteral("--model"), QStringLiteral(STUDIO_TEST_DATA "/checkpoints/bert-random-tiny"),
                              QStringLiteral("--text"), QStringLiteral("the cat sat"), QStringLiteral("--text-pair"), QStringLiteral("on the mat")};
    const Run raw = run(base);
    const Run shown = run(base + QStringList{QStringLiteral("--exclude-special")});
    QVERIFY2(raw.exitCode == 0 && shown.exitCode == 0, shown.err.constData());
    const QJsonObject rawJson = parse(raw.out), shownJson = parse(shown.out);
    const QJsonArray tokens = rawJson.value(QStringLiteral("tokens")).toArray();
    std::vector<size_t> kept;
    QJsonArray special;
    for (qsizetype i = 0; i < tokens.size(); ++i) {
        const QString t = tokens.at(i).toString();
        if (t == QStringLiteral("[CLS]") || t == QStringLiteral("[SEP]"))
            special.append(int(i));
        else
            kept.push_back(size_t(i));
    }
    QCOMPARE(special.size(), 3);
    QCOMPARE(shownJson.value(QStringLiteral("special_tokens")).toArray(), special);
    QVERIFY(shownJson.value(QStringLiteral("display_transform")).toString().contains(QStringLiteral("renormalised")));
    // Each head's weights: the kept rows and columns of the raw ones, each row divided by its sum.
    const QJsonArray rawLayers = rawJson.value(QStringLiteral("layers")).toArray();
    const QJsonArray shownLayers = shownJson.value(QStringLiteral("layers")).toArray();
    for (qsizetype l = 0; l < rawLayers.size(); ++l) {
        const QJsonArray rawHeads = rawLayers.at(l).toObject().value(QStringLiteral("heads")).toArray();
        const QJsonArray shownHeads = shownLayers.at(l).toObject().value(QStringLiteral("heads")).toArray();
        for (qsizetype h = 0; h < rawHeads.size(); ++h) {
            const auto w = rowsOf(rawHeads.at(h).toObject().value(QStringLiteral("weights")));
            const auto s = rowsOf(shownHeads.at(h).toObject().value(QStringLiteral("weights")));
            QCOMPARE(s.size(), kept.size());
            for (size_t r = 0; r < kept.size(); ++r) {
                double sum = 0;
                for (size_t c : kept)
                    sum += w[kept[r]][c];
                for (size_t c = 0; c < kept.size(); ++c)
                    QVERIFY(std::abs(s[r][c] - w[kept[r]][kept[c]] / sum) <= 1e-6);
            }
        }
    }
    const Run teaching = run({QStringLiteral("trace"), QStringLiteral("--text"), QStringLiteral("a b"), QStringLiteral("--exclude-special")});
    QCOMPARE(teaching.exitCode, 2);
}

void TestCli::exportsTheComparison()
{
    QTemporaryDir dir;
    const QString out = dir.filePath(QStringLiteral("comparison.svg"));
    const QStringList base = {QStringLiteral("export"), QStringLiteral("--view"), QStringLiteral("comparison"), QStringLiteral("--text"),
                              QStringLiteral("the cat sat on the mat"), QStringLiteral("--out"), out};
    const Run missing = run(base);
    QCOMPARE(missing.exitCode, 2);
    QVERIFY(missing.err.contains("--compare-with"));
    QVERIFY(!QFile::exists(out));
    const Run written = run(base + QStringList{QStringLiteral("--compare-with"), QStringLiteral("the dog sat on the mat"), QStringLiteral("--head"), QStringLiteral("1")});
    QVERIFY2(written.exitCode == 0, written.err.constData());
    QFile svg(out);
    QVERIFY(svg.open(QIODevice::ReadOnly));
    const QByteArray text = svg.readAll();
    QVERIFY(text.contains("weight B − A"));
    QVERIFY(text.contains("JSD"));
    QVERIFY(text.contains("mat"));
}

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
