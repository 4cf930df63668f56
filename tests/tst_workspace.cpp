#include "workspace.h"
#include "testsupport.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <cstring>
#include <sys/resource.h>
#include <sys/stat.h>

using namespace studio;
using studio::testing::readAll;

namespace {

bool sameBits(const Matrix &a, const Matrix &b)
{
    return a.rows() == b.rows() && a.cols() == b.cols()
        && std::memcmp(a.data(), b.data(), sizeof(float) * size_t(a.size())) == 0;
}


void writeAll(const QString &path, const QByteArray &bytes)
{
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(bytes);
}

// A workspace with awkward floats: subnormals, values that print long, the extremes of float.
Workspace awkwardWorkspace()
{
    Workspace w = defaultWorkspace(QStringLiteral("Grüße, 世界 🐈!"));
    w.heads[0].wQ(0, 0) = 0.1f;
    w.heads[0].wQ(1, 1) = 1.0f / 3.0f;
    w.heads[0].wQ(2, 2) = std::numeric_limits<float>::denorm_min();
    w.heads[0].wQ(3, 3) = -1e-30f;
    w.heads[1].wV(0, 0) = std::numeric_limits<float>::max();
    w.heads[2].wK(7, 3) = 16777217.0f;
    w.settings.mask = MaskMode::Causal; // with hidden keys: they combine
    w.settings.maskedKeys = {2, 0};
    w.settings.temperature = 0.7;
    w.settings.scale = false;
    w.config.positional = false;
    return w;
}

} // namespace

class TestWorkspace : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void pipeIsNotAWorkspace();
    void invalidUtf8InAWorkspaceFile();
    void diskFullKeepsThePreviousFile();
    void smallFileUnderASizeLimitIsNotCommittedTruncated();
    void folderIsNotAWorkspace();
    void roundTripIsBitIdentical();
    void formatOneHiddenKeysReadAsTheyWereShown();
    void rejectsBadFiles_data();
    void rejectsBadFiles();
    void negativeZeroIsSavedAsZero();
    void unreadableFiles();
    void saveIsAtomic();
};

void TestWorkspace::roundTripIsBitIdentical()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("w.json"));
    const Workspace original = awkwardWorkspace();
    QVERIFY_OK(saveWorkspace(original, path));
    const Result<Workspace> loaded = loadWorkspace(path);
    QVERIFY2(loaded, qPrintable(loaded.error));
    const Workspace &w = *loaded.value;
    QCOMPARE(w.text, original.text);
    QCOMPARE(w.config, original.config);
    QCOMPARE(w.settings, original.settings);
    QCOMPARE(w.heads.size(), original.heads.size());
    for (size_t h = 0; h < w.heads.size(); ++h) {
        QCOMPARE(w.heads[h].name, original.heads[h].name);
        QCOMPARE(w.heads[h].description, original.heads[h].description);
        QVERIFY(sameBits(w.heads[h].wQ, original.heads[h].wQ));
        QVERIFY(sameBits(w.heads[h].wK, original.heads[h].wK));
        QVERIFY(sameBits(w.heads[h].wV, original.heads[h].wV));
    }
    // Saving the loaded workspace again writes the same bytes.
    const QString again = dir.filePath(QStringLiteral("again.json"));
    QVERIFY_OK(saveWorkspace(w, again));
    QCOMPARE(readAll(again), readAll(path));
}

void TestWorkspace::formatOneHiddenKeysReadAsTheyWereShown()
{
    // Format 1 kept hidden keys while another mask was chosen, without applying them; its "keys"
    // mask hid them with no other mask.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("old.json"));
    auto write = [&](const char *mask) {
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        file.write(QByteArray(R"({"format":"attention-studio-workspace","version":1,"text":"a b c","model":{"d_model":2,"d_head":1,"heads":1,"positional":true},)"
                              R"("settings":{"mask":")") + mask + R"(","masked_keys":[1],"temperature":1,"scale":true},)"
                              R"("heads":[{"name":"h","w_q":[[1],[0]],"w_k":[[0],[1]],"w_v":[[1],[1]]}]})");
    };
    write("causal");
    Result<Workspace> causal = loadWorkspace(path);
    QVERIFY2(causal, qPrintable(causal.error));
    QCOMPARE(causal.value->settings.mask, MaskMode::Causal);
    QVERIFY(causal.value->settings.maskedKeys.isEmpty());
    write("keys");
    Result<Workspace> keys = loadWorkspace(path);
    QVERIFY2(keys, qPrintable(keys.error));
    QCOMPARE(keys.value->settings.mask, MaskMode::None);
    QCOMPARE(keys.value->settings.maskedKeys, QList<int>{1});
}

void TestWorkspace::rejectsBadFiles_data()
{
    QTest::addColumn<QByteArray>("edit");     // "path=json value" applied to a valid file, or a whole file
    QTest::addColumn<QString>("expected");    // part of the message

    QTest::newRow("not JSON") << QByteArray("!{oops") << QStringLiteral("not valid JSON");
    QTest::newRow("array") << QByteArray("![1,2]") << QStringLiteral("does not hold a JSON object");
    QTest::newRow("other format") << QByteArray("format=\"something-else\"") << QStringLiteral("not an Attention Studio workspace");
    QTest::newRow("newer version") << QByteArray("version=3") << QStringLiteral("newer version");
    QTest::newRow("missing text") << QByteArray("text=undefined") << QStringLiteral("missing field \"text\"");
    QTest::newRow("text not a string") << QByteArray("text=5") << QStringLiteral("field \"text\" must be a string, not a number");
    QTest::newRow("d_model too large") << QByteArray("model.d_model=100000") << QStringLiteral("d_model must be between");
    QTest::newRow("d_model fractional") << QByteArray("model.d_model=8.5") << QStringLiteral("whole number");
    QTest::newRow("bad mask") << QByteArray("settings.mask=\"diagonal\"") << QStringLiteral("settings.mask must be");
    QTest::newRow("zero temperature") << QByteArray("settings.temperature=0") << QStringLiteral("temperature must be");
    QTest::newRow("negative masked key") << QByteArray("settings.masked_keys=[-1]") << QStringLiteral("masked_keys");
    QTest::newRow("head count mismatch") << QByteArray("model.heads=2") << QStringLiteral("lists 3 heads but model.heads is 2");
    QTest::newRow("wrong rows") << QByteArray("heads.0.w_q=[[1,2,3,4]]") << QStringLiteral("\"heads[0].w_q\" has 1 rows, expected 8");
    QTest::newRow("wrong columns") << QByteArray("heads.1.w_v.3=[1,2]") << QStringLiteral("\"heads[1].w_v\" row 3 must have 4 numbers");
    QTest::newRow("NaN (null in JSON)") << QByteArray("heads.2.w_k.1.2=null") << QStringLiteral("\"heads[2].w_k\" [1][2] is not a finite number");
    QTest::newRow("Inf (1e999)") << QByteArray("@1e999") << QStringLiteral("illegal number");
    QTest::newRow("beyond float range") << QByteArray("@1e39") << QStringLiteral("[0][0] is not a finite number");
    QTest::newRow("string weight") << QByteArray("heads.0.w_q.0.0=\"x\"") << QStringLiteral("is not a finite number");
}

void TestWorkspace::rejectsBadFiles()
{
    QFETCH(QByteArray, edit);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("bad.json"));
    QByteArray bytes;
    if (edit.startsWith('!')) {
        bytes = edit.mid(1);
    } else if (edit.startsWith('@')) {
        // A literal number JSON cannot hold in a float, in the first weight.
        bytes = QJsonDocument(workspaceToJson(defaultWorkspace(QStringLiteral("x")))).toJson();
        const qsizetype at = bytes.indexOf("\"w_q\"");
        const qsizetype number = bytes.indexOf("[", bytes.indexOf("[", at) + 1) + 1;
        const qsizetype end = bytes.indexOf(",", number);
        bytes.replace(number, end - number, edit.mid(1));
    } else {
        // path=value edits of a valid workspace, path components split at dots.
        QJsonObject root = workspaceToJson(defaultWorkspace(QStringLiteral("x")));
        const qsizetype eq = edit.indexOf('=');
        const QList<QByteArray> fieldPath = edit.left(eq).split('.');
        const QByteArray valueText = edit.mid(eq + 1);
        const QJsonValue value = valueText == "undefined" ? QJsonValue(QJsonValue::Undefined)
                                                          : QJsonDocument::fromJson("[" + valueText + "]").array().at(0);
        std::function<QJsonValue(QJsonValue, int)> set = [&](QJsonValue node, int depth) -> QJsonValue {
            const QString key = QString::fromUtf8(fieldPath.at(depth));
            bool isIndex = false;
            const int index = key.toInt(&isIndex);
            const bool last = depth == fieldPath.size() - 1;
            if (isIndex) {
                QJsonArray array = node.toArray();
                array[index] = last ? value : set(array.at(index), depth + 1);
                return array;
            }
            QJsonObject object = node.toObject();
            if (last && value.isUndefined())
                object.remove(key);
            else
                object[key] = last ? value : set(object.value(key), depth + 1);
            return object;
        };
        root = set(root, 0).toObject();
        bytes = QJsonDocument(root).toJson();
    }
    writeAll(path, bytes);
    const Result<Workspace> loaded = loadWorkspace(path);
    QVERIFY(!loaded);
    QVERIFY2(loaded.error.contains(expected), qPrintable(loaded.error));
    QVERIFY(loaded.error.startsWith(path)); // the message names the file
}

void TestWorkspace::negativeZeroIsSavedAsZero()
{
    // JSON numbers carry no sign of zero; −0 and +0 give the same result in every stage.
    Workspace w = defaultWorkspace(QStringLiteral("x"));
    w.heads[0].wQ(0, 0) = -0.0f;
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("w.json"));
    QVERIFY_OK(saveWorkspace(w, path));
    const Result<Workspace> loaded = loadWorkspace(path);
    QVERIFY(loaded);
    QCOMPARE(loaded.value->heads[0].wQ(0, 0), 0.0f);
    QVERIFY(!std::signbit(loaded.value->heads[0].wQ(0, 0)));
}

void TestWorkspace::unreadableFiles()
{
    QTemporaryDir dir;
    const Result<Workspace> missing = loadWorkspace(dir.filePath(QStringLiteral("nope.json")));
    QVERIFY(!missing);
    QVERIFY2(missing.error.contains(QStringLiteral("cannot read")), qPrintable(missing.error));
    const Result<Workspace> folder = loadWorkspace(dir.path());
    QVERIFY(!folder);
    QVERIFY2(folder.error.contains(QStringLiteral("is a folder")), qPrintable(folder.error));
}

void TestWorkspace::saveIsAtomic()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("w.json"));
    QVERIFY_OK(saveWorkspace(defaultWorkspace(QStringLiteral("first")), path));
    const QByteArray first = readAll(path);
    // A save that cannot happen (its folder does not exist) reports why and leaves nothing behind.
    const Status failed = saveWorkspace(defaultWorkspace(QStringLiteral("x")), dir.filePath(QStringLiteral("missing/w.json")));
    QVERIFY(!failed);
    QVERIFY(failed.error.contains(QStringLiteral("cannot write")));
    // Overwriting replaces the whole file, with no temporary files left over.
    QVERIFY_OK(saveWorkspace(defaultWorkspace(QStringLiteral("second")), path));
    QVERIFY(readAll(path) != first);
    QVERIFY(readAll(path).contains("second"));
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden), QStringList{QStringLiteral("w.json")});
}

void TestWorkspace::invalidUtf8InAWorkspaceFile()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("w.json"));
    QByteArray bytes = QJsonDocument(workspaceToJson(defaultWorkspace(QStringLiteral("PLACEHOLDER")))).toJson();
    bytes.replace("PLACEHOLDER", "bad \xC3\x28 bytes \xFF");
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(bytes);
    file.close();
    const Result<Workspace> loaded = loadWorkspace(path);
    // Qt's JSON reader refuses invalid UTF-8 with a message; nothing is half-loaded.
    QVERIFY(!loaded);
    QVERIFY2(loaded.error.contains(QStringLiteral("not valid JSON")), qPrintable(loaded.error));
}

void TestWorkspace::diskFullKeepsThePreviousFile()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("w.json"));
    QVERIFY_OK(saveWorkspace(defaultWorkspace(QStringLiteral("the previous version")), path));
    const QByteArray previous = readAll(path);
    // A large workspace, written with the process allowed files of at most 64 KiB: the write fails
    // as on a full disk.
    Workspace large = defaultWorkspace(QStringLiteral("large"));
    large.config = TeachingConfig{128, 64, 8, true};
    large.heads = defaultHeads(large.config);
    QString error;
    {
        const testing::ScopedFileSizeLimit limit(64 * 1024, testing::ScopedFileSizeLimit::IgnoreSignal);
        QVERIFY(limit.isSet());
        error = saveWorkspace(large, path).error;
    }
    QVERIFY2(error.contains(QStringLiteral("cannot write")), qPrintable(error));
    QCOMPARE(readAll(path), previous); // intact
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden), QStringList{QStringLiteral("w.json")}); // no leftovers
}

void TestWorkspace::folderIsNotAWorkspace()
{
    QTemporaryDir dir;
    QVERIFY(loadWorkspace(dir.path()).error.contains(QStringLiteral("is a folder")));
}

void TestWorkspace::smallFileUnderASizeLimitIsNotCommittedTruncated()
{
    // A workspace of a few kilobytes with files limited to 1 KiB: the write is buffered, so the
    // failure shows only when it is flushed. The old file must stay, whole.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("w.json"));
    QVERIFY_OK(saveWorkspace(defaultWorkspace(QStringLiteral("the previous version")), path));
    const QByteArray previous = readAll(path);
    Status saved;
    {
        const testing::ScopedFileSizeLimit limit(1024, testing::ScopedFileSizeLimit::IgnoreSignal);
        QVERIFY(limit.isSet());
        saved = saveWorkspace(defaultWorkspace(QStringLiteral("a new version")), path);
    }
    QVERIFY(!saved);
    QVERIFY2(saved.error.contains(QStringLiteral("cannot write")), qPrintable(saved.error));
    QCOMPARE(readAll(path), previous);
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden), QStringList{QStringLiteral("w.json")});
}

void TestWorkspace::pipeIsNotAWorkspace()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("w.json"));
    QCOMPARE(mkfifo(QFile::encodeName(path).constData(), 0600), 0);
    const Result<Workspace> loaded = loadWorkspace(path); // would block on open before the fix
    QVERIFY(!loaded);
    QVERIFY2(loaded.error.contains(QStringLiteral("not a regular file")), qPrintable(loaded.error));
    QVERIFY(loadWorkspace(QStringLiteral("/dev/zero")).error.contains(QStringLiteral("not a regular file")));
}

QTEST_GUILESS_MAIN(TestWorkspace)
#include "tst_workspace.moc"
