#include "safetensors.h"
#include "safetensorswriter.h"
#include "testsupport.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <cstring>
#include <limits>

using namespace studio;
using studio::testing::readAll;

namespace {


void writeBytes(const QString &path, const QByteArray &bytes)
{
    QFile file(path);
    if (file.open(QIODevice::WriteOnly))
        file.write(bytes);
}

// A file from a raw header text and a data area.
QByteArray rawFile(const QByteArray &header, const QByteArray &data, quint64 claimedLength = 0)
{
    const quint64 length = claimedLength ? claimedLength : quint64(header.size());
    QByteArray bytes(reinterpret_cast<const char *>(&length), 8);
    return bytes + header + data;
}

TensorToWrite floats(const QString &name, std::vector<qint64> shape, std::vector<float> values, DType dtype = DType::F32)
{
    return {name, dtype, std::move(shape), [values, dtype] { return encodeFloats(values, dtype); }};
}

} // namespace

class TestSafetensors : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void writesAndReadsBack();
    void convertsHalfAndBfloat();
    void findsEveryNonFiniteValue();
    void scalarTensor();
    void malformedFiles_data();
    void malformedFiles();
    void truncatedRealCheckpoint();
};

void TestSafetensors::writesAndReadsBack()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("t.safetensors"));
    QVERIFY_OK(writeSafetensors(path, {floats(QStringLiteral("a"), {2, 3}, {1, 2, 3, 4, 5, 6}),
                                     floats(QStringLiteral("b"), {1}, {-7.5f})}));
    const auto opened = SafetensorsFile::open(path);
    QVERIFY_OK(opened);
    const auto &file = *opened.value;
    QCOMPARE(file->tensors().size(), 2);
    const TensorView *a = file->find(QStringLiteral("a"));
    QVERIFY(a);
    QCOMPARE(a->shape, (std::vector<qint64>{2, 3}));
    QCOMPARE(a->shapeText(), QStringLiteral("[2, 3]"));
    QCOMPARE(a->byteCount, 24);
    float out[6];
    QVERIFY(readFloats(*a, out, 6));
    QCOMPARE(out[5], 6.0f);
    // The data is read in place from the mapping: the view points into the file's bytes.
    const QByteArray bytes = readAll(path);
    QCOMPARE(std::memcmp(a->data, bytes.constData() + bytes.size() - 28, 24), 0);
    QVERIFY(!file->find(QStringLiteral("c")));
    QVERIFY(!readFloats(*a, out, 5)); // count mismatch is refused
}

void TestSafetensors::findsEveryNonFiniteValue()
{
    // The scan runs in blocks of 65,536 values on several threads: a NaN or ±∞ anywhere is found,
    // at either end of a block too; the largest finite values are not mistaken for one.
    const qint64 count = 3 * 65536 + 17;
    std::vector<float> floats(size_t(count), 1.5f);
    floats[100] = std::numeric_limits<float>::max();
    floats[101] = -std::numeric_limits<float>::max();
    floats[102] = std::numeric_limits<float>::denorm_min();
    QVERIFY(!floatsHaveNonFinite(floats.data(), count));
    for (qint64 at : {qint64(0), qint64(65535), qint64(65536), qint64(2 * 65536 + 3), count - 1})
        for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()}) {
            std::vector<float> copy = floats;
            copy[size_t(at)] = bad;
            QVERIFY2(floatsHaveNonFinite(copy.data(), count), qPrintable(QStringLiteral("%1 at %2").arg(bad).arg(at)));
            QVERIFY(!floatsHaveNonFinite(copy.data(), at)); // only what is asked about is read
        }
    // 16-bit: 0x7C00 is F16's ∞, 0x7F80 BF16's; 0x7BFF and 0x7F7F their largest finite values.
    std::vector<quint16> halves(size_t(count), 0x3C00);
    halves[7] = 0x7BFF;
    QVERIFY(!halfsHaveNonFinite(DType::F16, reinterpret_cast<const uchar *>(halves.data()), count));
    halves[size_t(count - 1)] = 0x7C00;
    QVERIFY(halfsHaveNonFinite(DType::F16, reinterpret_cast<const uchar *>(halves.data()), count));
    std::vector<quint16> brains(size_t(count), 0x3F80);
    brains[9] = 0x7F7F;
    QVERIFY(!halfsHaveNonFinite(DType::BF16, reinterpret_cast<const uchar *>(brains.data()), count));
    brains[65536] = 0xFFC0; // a negative NaN
    QVERIFY(halfsHaveNonFinite(DType::BF16, reinterpret_cast<const uchar *>(brains.data()), count));
}

void TestSafetensors::convertsHalfAndBfloat()
{
    // Values exactly representable in both 16-bit formats, a subnormal half, and Inf.
    const std::vector<float> values = {0.0f, -0.0f, 1.0f, -2.5f, 0.15625f, 65504.0f, 6.103515625e-05f,
                                       5.9604644775390625e-08f, std::numeric_limits<float>::infinity()};
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("h.safetensors"));
    QVERIFY_OK(writeSafetensors(path, {floats(QStringLiteral("half"), {9}, values, DType::F16),
                                     floats(QStringLiteral("brain"), {3}, {1.0f, -2.5f, 3.0e38f}, DType::BF16)}));
    const auto opened = SafetensorsFile::open(path);
    QVERIFY_OK(opened);
    const auto &file = *opened.value;
    float half[9];
    QVERIFY(readFloats(*file->find(QStringLiteral("half")), half, 9));
    for (int i = 0; i < 9; ++i)
        QCOMPARE(half[i], values[size_t(i)]);
    QVERIFY(std::signbit(half[1]));
    float brain[3];
    QVERIFY(readFloats(*file->find(QStringLiteral("brain")), brain, 3));
    QCOMPARE(brain[0], 1.0f);
    QCOMPARE(brain[1], -2.5f);
    QVERIFY(std::abs(brain[2] - 3.0e38f) / 3.0e38f < 1.0f / 128); // bfloat16 keeps 8 bits of mantissa
    // Rounding to nearest: 1 + 2⁻¹¹ is halfway between two halves and rounds to the even one (1).
    QCOMPARE(encodeFloats({1.0f + 1.0f / 2048}, DType::F16), encodeFloats({1.0f}, DType::F16));
}

void TestSafetensors::scalarTensor()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("s.safetensors"));
    QVERIFY_OK(writeSafetensors(path, {floats(QStringLiteral("masked_bias"), {}, {-1e4f})}));
    const auto opened = SafetensorsFile::open(path);
    QVERIFY_OK(opened);
    const auto &file = *opened.value;
    const TensorView *scalar = file->find(QStringLiteral("masked_bias"));
    QVERIFY(scalar->shape.empty());
    QCOMPARE(scalar->elementCount(), 1);
    float value = 0;
    QVERIFY(readFloats(*scalar, &value, 1));
    QCOMPARE(value, -1e4f);
}

void TestSafetensors::malformedFiles_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("message");
    const QByteArray eight(8, '\0');
    const QByteArray f32x2 = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    QTest::newRow("empty file") << QByteArray() << QStringLiteral("too short");
    QTest::newRow("huge header length") << rawFile("{}", {}, quint64(1) << 60) << QStringLiteral("larger than");
    QTest::newRow("header past the end") << rawFile("{}", {}, 1000) << QStringLiteral("runs past the end");
    QTest::newRow("header not JSON") << rawFile("{oops", {}) << QStringLiteral("not valid JSON");
    QTest::newRow("header an array") << rawFile("[]", {}) << QStringLiteral("not a JSON object");
    QTest::newRow("unknown dtype") << rawFile(R"({"w":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}})", eight) << QStringLiteral("tensor \"w\": unknown dtype \"F8\"");
    QTest::newRow("negative dimension") << rawFile(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight) << QStringLiteral("not a dimension");
    QTest::newRow("shape not an array") << rawFile(R"({"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", eight) << QStringLiteral("shape is missing");
    QTest::newRow("offsets past the end (truncated)") << rawFile(f32x2, QByteArray(4, '\0')) << QStringLiteral("run past the end of the data");
    QTest::newRow("shape lies about the size") << rawFile(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight) << QStringLiteral("shape [3] of F32 needs 12 bytes but data_offsets give 8");
    QTest::newRow("offsets reversed") << rawFile(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", eight) << QStringLiteral("not a valid range");
    QTest::newRow("offsets missing") << rawFile(R"({"w":{"dtype":"F32","shape":[2]}})", eight) << QStringLiteral("data_offsets must be two numbers");
    QTest::newRow("overlapping tensors") << rawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight) << QStringLiteral("overlap");
    QTest::newRow("duplicate tensor names") << rawFile(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight) << QStringLiteral("tensor \"w\" is named twice");
    QTest::newRow("duplicate names spelt with escapes") << rawFile(R"({"a\u0062":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"ab":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}})", eight) << QStringLiteral("tensor \"ab\" is named twice");
    QTest::newRow("a hole between tensors") << rawFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", QByteArray(12, '\0')) << QStringLiteral("bytes 4 to 8 of the data belong to no tensor");
    QTest::newRow("bytes after the last tensor") << rawFile(f32x2, QByteArray(12, '\0')) << QStringLiteral("bytes 8 to 12 of the data belong to no tensor");
    QTest::newRow("impossibly large shape") << rawFile(R"({"w":{"dtype":"F32","shape":[1000000000000,1000000000000],"data_offsets":[0,8]}})", eight) << QStringLiteral("impossibly large");
}

void TestSafetensors::malformedFiles()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QString, message);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("bad.safetensors"));
    writeBytes(path, bytes);
    const auto file = SafetensorsFile::open(path);
    const QString error = file.error;
    QVERIFY(!file);
    QVERIFY2(error.contains(message), qPrintable(error));
    QVERIFY2(error.startsWith(QStringLiteral("bad.safetensors: ")), qPrintable(error));
}

void TestSafetensors::truncatedRealCheckpoint()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("model.safetensors"));
    const QByteArray original = readAll(QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny/model.safetensors"));
    QVERIFY(original.size() > 100000);
    for (qsizetype cut : {qsizetype(4), qsizetype(100), original.size() / 2, original.size() - 1}) {
        writeBytes(path, original.left(cut));
        const auto truncated = SafetensorsFile::open(path);
        QVERIFY(!truncated);
        QVERIFY2(!truncated.error.isEmpty(), qPrintable(QString::number(cut)));
    }
    writeBytes(path, original);
    QVERIFY_OK(SafetensorsFile::open(path));
    const auto folder = SafetensorsFile::open(dir.path());
    QVERIFY(!folder);
    QVERIFY(folder.error.contains(QStringLiteral("folder")));
}

QTEST_GUILESS_MAIN(TestSafetensors)
#include "tst_safetensors.moc"
