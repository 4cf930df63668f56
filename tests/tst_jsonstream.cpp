#include "jsonstream.h"
#include "tracejson.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <cstring>
#include <limits>

using namespace studio;

namespace {

// Everything a stream writes, in one array.
struct Collected {
    QByteArray bytes;
    int chunks = 0;
    JsonStream::Sink sink()
    {
        return [this](const QByteArray &chunk) {
            bytes += chunk;
            ++chunks;
            return true;
        };
    }
};

void writeSample(JsonStream &out)
{
    out.beginObject();
    out.key(QStringLiteral("text"));
    out.string(QStringLiteral("quote \" backslash \\ newline \n tab \t nul \u0001 naïve 🦙"));
    out.key(QStringLiteral("numbers"));
    out.beginArray();
    out.number(0.1);
    out.number(double(0.1f));
    out.number(-0.0);
    out.number(1e-310); // subnormal
    out.number(std::numeric_limits<double>::max());
    out.integer(-9007199254740991);
    out.number(std::numeric_limits<double>::quiet_NaN()); // no JSON spelling: null
    out.endArray();
    out.key(QStringLiteral("empty"));
    out.beginArray();
    out.endArray();
    out.key(QStringLiteral("nested"));
    out.beginArray();
    out.beginObject();
    out.endObject();
    out.beginArray();
    out.boolean(true);
    out.boolean(false);
    out.null();
    out.endArray();
    out.endArray();
    out.key(QStringLiteral("built"));
    out.value(QJsonObject{{QStringLiteral("a"), 1}, {QStringLiteral("b"), QJsonArray{1.5, QStringLiteral("x")}}});
    out.endObject();
}

} // namespace

class TestJsonStream : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void streamedDocumentReadsAsTheValuesWritten()
    {
        Collected collected;
        JsonStream out(collected.sink());
        writeSample(out);
        QVERIFY(out.finish());
        QJsonParseError error{};
        const QJsonObject json = QJsonDocument::fromJson(collected.bytes, &error).object();
        QCOMPARE(error.error, QJsonParseError::NoError);
        QCOMPARE(json.value(QStringLiteral("text")).toString(), QStringLiteral("quote \" backslash \\ newline \n tab \t nul \u0001 naïve 🦙"));
        const QJsonArray numbers = json.value(QStringLiteral("numbers")).toArray();
        QCOMPARE(numbers.size(), 7);
        // Each number reads back as the very same double.
        QCOMPARE(numbers.at(0).toDouble(), 0.1);
        QCOMPARE(numbers.at(1).toDouble(), double(0.1f));
        QCOMPARE(numbers.at(2).toDouble(), 0.0);
        QCOMPARE(numbers.at(3).toDouble(), 1e-310);
        QCOMPARE(numbers.at(4).toDouble(), std::numeric_limits<double>::max());
        QCOMPARE(numbers.at(5).toInteger(), Q_INT64_C(-9007199254740991));
        QVERIFY(numbers.at(6).isNull());
        QCOMPARE(json.value(QStringLiteral("empty")).toArray().size(), 0);
        const QJsonArray nested = json.value(QStringLiteral("nested")).toArray();
        QCOMPARE(nested.size(), 2);
        QVERIFY(nested.at(0).toObject().isEmpty());
        QCOMPARE(nested.at(1).toArray(), (QJsonArray{true, false, QJsonValue::Null}));
        QCOMPARE(json.value(QStringLiteral("built")).toObject().value(QStringLiteral("b")).toArray(), (QJsonArray{1.5, QStringLiteral("x")}));
    }

    void floatsReadBackBitForBit()
    {
        // Every float kind a trace holds: tiny, huge, subnormal, and values with long expansions.
        const std::vector<float> values{1.0f / 3.0f, -2.718281828f, 1e-38f, 1.4e-45f, 3.4028235e38f, 0.5f, 123456.789f, 7e-12f};
        Collected collected;
        JsonStream out(collected.sink());
        out.beginArray();
        for (float v : values)
            out.number(double(v));
        out.endArray();
        QVERIFY(out.finish());
        const QJsonArray read = QJsonDocument::fromJson(collected.bytes).array();
        QCOMPARE(read.size(), qsizetype(values.size()));
        for (size_t i = 0; i < values.size(); ++i) {
            const float back = float(read.at(qsizetype(i)).toDouble());
            QVERIFY2(std::memcmp(&back, &values[i], sizeof back) == 0, qPrintable(QString::number(double(values[i]), 'g', 17)));
        }
    }

    void chunkSizeDoesNotChangeTheText()
    {
        Collected whole, small;
        JsonStream one(whole.sink());
        writeSample(one);
        QVERIFY(one.finish());
        JsonStream many(small.sink(), 7);
        writeSample(many);
        QVERIFY(many.finish());
        QCOMPARE(small.bytes, whole.bytes);
        QCOMPARE(whole.chunks, 1);
        QVERIFY(small.chunks > 10); // written as it went, not at the end
    }

    void refusedChunkStopsTheStream()
    {
        int calls = 0;
        JsonStream out([&calls](const QByteArray &) { ++calls; return false; }, 16);
        out.beginArray();
        for (int i = 0; i < 100; ++i)
            out.number(i);
        out.endArray();
        QVERIFY(!out.ok());
        QVERIFY(!out.finish());
        QCOMPARE(calls, 1); // nothing more is offered once the sink has refused
    }

    void traceSpellsNonFiniteNumbersApart()
    {
        // −∞ in the masked stage is null (masked); NaN and ±∞ elsewhere are strings.
        Matrix m(1, 4);
        m << std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
            -std::numeric_limits<float>::infinity(), 0.25f;
        Collected collected;
        JsonStream out(collected.sink());
        out.beginObject();
        writeTraceMatrix(out, QStringLiteral("masked"), m, true);
        writeTraceMatrix(out, QStringLiteral("scores"), m, false);
        out.endObject();
        QVERIFY(out.finish());
        const QJsonObject json = QJsonDocument::fromJson(collected.bytes).object();
        const QJsonArray masked = json.value(QStringLiteral("masked")).toArray().at(0).toArray();
        const QJsonArray scores = json.value(QStringLiteral("scores")).toArray().at(0).toArray();
        QCOMPARE(masked, (QJsonArray{QStringLiteral("NaN"), QStringLiteral("Infinity"), QJsonValue::Null, 0.25}));
        QCOMPARE(scores, (QJsonArray{QStringLiteral("NaN"), QStringLiteral("Infinity"), QStringLiteral("-Infinity"), 0.25}));
    }
};

QTEST_GUILESS_MAIN(TestJsonStream)
#include "tst_jsonstream.moc"
