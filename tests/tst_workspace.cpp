#include "workspace.h"
#include "testsupport.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <functional>
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
    void scenesRoundTripBitIdentical();
    void formatTwoOpensWithoutScenes();
    void outputProjectionIsSavedAndDefaultsForOlderFiles();
    void badScenesAreNamedByTheirPath();
    void sceneWithNonFiniteWeightIsNotSaved();
    void sameStateComparesWhatIsComputed();
};

namespace {

Scene sampleScene()
{
    Scene scene;
    scene.name = QStringLiteral("The pronoun “it”");
    scene.state = awkwardWorkspace();
    scene.state.text = QStringLiteral("The animal didn't cross the street because it was too tired.");
    scene.view = QStringLiteral("steps");
    scene.stage = QStringLiteral("weights");
    scene.head = 1;
    scene.query = 7;
    scene.key = 1;
    scene.hideWeights = true;
    scene.target = TargetPattern::PreviousToken;
    return scene;
}

} // namespace

void TestWorkspace::scenesRoundTripBitIdentical()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("lesson.attention.json"));
    Workspace original = defaultWorkspace(QStringLiteral("a b"));
    original.scenes.push_back(sampleScene());
    Scene checkpointScene = sampleScene();
    checkpointScene.name = QStringLiteral("GPT-2");
    checkpointScene.modelFolder = QStringLiteral("/models/gpt2");
    checkpointScene.textPair = QStringLiteral("second");
    checkpointScene.attentionKind = QStringLiteral("cross"); // a translation model's scene
    checkpointScene.view = QStringLiteral("arcs");
    checkpointScene.layer = 5;
    checkpointScene.query = -1;
    checkpointScene.key = -1;
    checkpointScene.hideWeights = false;
    checkpointScene.target = TargetPattern::None;
    original.scenes.push_back(checkpointScene);
    QVERIFY_OK(saveWorkspace(original, path));
    const Result<Workspace> loaded = loadWorkspace(path);
    QVERIFY2(loaded, qPrintable(loaded.error));
    QCOMPARE(loaded.value->scenes.size(), size_t(2));
    for (size_t i = 0; i < 2; ++i) {
        const Scene &a = original.scenes[i];
        const Scene &b = loaded.value->scenes[i];
        QCOMPARE(b.name, a.name);
        QCOMPARE(b.modelFolder, a.modelFolder);
        QCOMPARE(b.textPair, a.textPair);
        QCOMPARE(b.attentionKind, a.attentionKind);
        QCOMPARE(b.view, a.view);
        QCOMPARE(b.stage, a.stage);
        QCOMPARE(b.layer, a.layer);
        QCOMPARE(b.head, a.head);
        QCOMPARE(b.query, a.query);
        QCOMPARE(b.key, a.key);
        QCOMPARE(b.hideWeights, a.hideWeights);
        QCOMPARE(b.target, a.target);
        QCOMPARE(b.state.text, a.state.text);
        QCOMPARE(b.state.config, a.state.config);
        QCOMPARE(b.state.settings, a.state.settings);
        QVERIFY(b.state.scenes.empty());
        for (size_t h = 0; h < a.state.heads.size(); ++h)
            for (Projection p : kProjections)
                QVERIFY(sameBits(b.state.heads[h].weight(p), a.state.heads[h].weight(p)));
    }
    const QString again = dir.filePath(QStringLiteral("again.json"));
    QVERIFY_OK(saveWorkspace(*loaded.value, again));
    QCOMPARE(readAll(again), readAll(path));
}

void TestWorkspace::formatTwoOpensWithoutScenes()
{
    QJsonObject json = workspaceToJson(defaultWorkspace(QStringLiteral("x y")));
    json[QStringLiteral("version")] = 2;
    json.remove(QStringLiteral("scenes"));
    const Result<Workspace> two = workspaceFromJson(json);
    QVERIFY2(two, qPrintable(two.error));
    QVERIFY(two.value->scenes.empty());
    QCOMPARE(two.value->text, QStringLiteral("x y"));
    // A version 2 file with a "scenes" field (not of that format) ignores it rather than misreading it.
    json[QStringLiteral("scenes")] = 5;
    QVERIFY(workspaceFromJson(json));
}

void TestWorkspace::outputProjectionIsSavedAndDefaultsForOlderFiles()
{
    // Saved: an edited W_O comes back with the same bits, and changes what the state computes.
    Workspace workspace = defaultWorkspace(QStringLiteral("the cat sat"));
    workspace.heads[1].wO(2, 5) = 0.3125f;
    const Result<Workspace> back = workspaceFromJson(workspaceToJson(workspace));
    QVERIFY_OK(back);
    QVERIFY(back.value->heads[1].wO == workspace.heads[1].wO);
    QVERIFY(sameState(*back.value, workspace));
    QVERIFY(!sameState(*back.value, defaultWorkspace(QStringLiteral("the cat sat"))));
    // A file written before W_O existed: every head gets the identity-like default, head by head.
    QJsonObject older = workspaceToJson(defaultWorkspace(QStringLiteral("the cat sat")));
    QJsonArray heads = older.value(QStringLiteral("heads")).toArray();
    for (qsizetype h = 0; h < heads.size(); ++h) {
        QJsonObject head = heads.at(h).toObject();
        head.remove(QStringLiteral("w_o"));
        heads[h] = head;
    }
    older[QStringLiteral("heads")] = heads;
    older[QStringLiteral("version")] = 2;
    const Result<Workspace> opened = workspaceFromJson(older);
    QVERIFY_OK(opened);
    const TeachingConfig &c = opened.value->config;
    for (int h = 0; h < c.heads; ++h) {
        const Matrix &o = opened.value->heads[size_t(h)].wO;
        QCOMPARE(o.rows(), Eigen::Index(c.dHead));
        QCOMPARE(o.cols(), Eigen::Index(c.dModel));
        for (int i = 0; i < c.dHead; ++i)
            for (int j = 0; j < c.dModel; ++j)
                QCOMPARE(o(i, j), j == (h * c.dHead + i) % c.dModel ? 1.0f : 0.0f);
    }
    // A W_O of the wrong shape is named by its path.
    QJsonObject wrong = workspaceToJson(workspace);
    QJsonArray wrongHeads = wrong.value(QStringLiteral("heads")).toArray();
    QJsonObject head = wrongHeads.at(0).toObject();
    head[QStringLiteral("w_o")] = head.value(QStringLiteral("w_q"));
    wrongHeads[0] = head;
    wrong[QStringLiteral("heads")] = wrongHeads;
    const Result<Workspace> refused = workspaceFromJson(wrong);
    QVERIFY(!refused);
    QVERIFY2(refused.error.contains(QStringLiteral("heads[0].w_o")), qPrintable(refused.error));
}

void TestWorkspace::badScenesAreNamedByTheirPath()
{
    Workspace workspace = defaultWorkspace(QStringLiteral("x"));
    workspace.scenes.push_back(sampleScene());
    const QJsonObject good = workspaceToJson(workspace);
    auto withScene = [&](const std::function<void(QJsonObject &)> &edit) {
        QJsonObject json = good;
        QJsonArray scenes = json.value(QStringLiteral("scenes")).toArray();
        QJsonObject scene = scenes.at(0).toObject();
        edit(scene);
        scenes[0] = scene;
        json[QStringLiteral("scenes")] = scenes;
        return workspaceFromJson(json);
    };
    Result<Workspace> r = withScene([](QJsonObject &s) { s[QStringLiteral("target")] = QStringLiteral("diagonal"); });
    QVERIFY(!r);
    QVERIFY2(r.error.contains(QStringLiteral("scenes[0].target")) && r.error.contains(QStringLiteral("diagonal")), qPrintable(r.error));
    r = withScene([](QJsonObject &s) { s[QStringLiteral("query")] = -2; });
    QVERIFY(!r);
    QVERIFY2(r.error.contains(QStringLiteral("\"scenes[0].query\" must be at least -1")), qPrintable(r.error));
    r = withScene([](QJsonObject &s) { s[QStringLiteral("attention")] = QStringLiteral("sideways"); });
    QVERIFY(!r);
    QVERIFY2(r.error.contains(QStringLiteral("scenes[0].attention")), qPrintable(r.error));
    // Scenes saved before translation models have no "attention": they open as before.
    QVERIFY(withScene([](QJsonObject &s) { s.remove(QStringLiteral("attention")); }));
    r = withScene([](QJsonObject &s) { s[QStringLiteral("hide_weights")] = 1; });
    QVERIFY(!r);
    QVERIFY2(r.error.contains(QStringLiteral("scenes[0].hide_weights")), qPrintable(r.error));
    // An error inside the scene's state names its whole path.
    r = withScene([](QJsonObject &s) {
        QJsonObject state = s.value(QStringLiteral("state")).toObject();
        QJsonObject model = state.value(QStringLiteral("model")).toObject();
        model[QStringLiteral("heads")] = 2;
        state[QStringLiteral("model")] = model;
        s[QStringLiteral("state")] = state;
    });
    QVERIFY(!r);
    QVERIFY2(r.error.contains(QStringLiteral("\"scenes[0].state.heads\" lists 3 heads but scenes[0].state.model.heads is 2")), qPrintable(r.error));
    r = withScene([](QJsonObject &s) {
        QJsonObject state = s.value(QStringLiteral("state")).toObject();
        QJsonObject settings = state.value(QStringLiteral("settings")).toObject();
        settings[QStringLiteral("temperature")] = -1;
        state[QStringLiteral("settings")] = settings;
        s[QStringLiteral("state")] = state;
    });
    QVERIFY(!r);
    QVERIFY2(r.error.contains(QStringLiteral("scenes[0].state.settings.temperature")), qPrintable(r.error));
    QVERIFY(withScene([](QJsonObject &) {}));
}

void TestWorkspace::sceneWithNonFiniteWeightIsNotSaved()
{
    QTemporaryDir dir;
    Workspace workspace = defaultWorkspace(QStringLiteral("x"));
    workspace.scenes.push_back(sampleScene());
    workspace.scenes[0].state.heads[2].wV(1, 1) = std::numeric_limits<float>::quiet_NaN();
    const QString problem = nonFiniteWeight(workspace);
    QVERIFY2(problem.contains(QStringLiteral("scene “The pronoun “it””")) && problem.contains(QStringLiteral("head 2 w_v[1][1] is NaN")), qPrintable(problem));
    const Status saved = saveWorkspace(workspace, dir.filePath(QStringLiteral("w.json")));
    QVERIFY(!saved);
    QVERIFY(!QFile::exists(dir.filePath(QStringLiteral("w.json"))));
}

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
    QTest::newRow("newer version") << QByteArray("version=4") << QStringLiteral("newer version");
    QTest::newRow("missing text") << QByteArray("text=undefined") << QStringLiteral("missing field \"text\"");
    QTest::newRow("text not a string") << QByteArray("text=5") << QStringLiteral("field \"text\" must be a string, not a number");
    QTest::newRow("d_model too large") << QByteArray("model.d_model=100000") << QStringLiteral("d_model must be between");
    QTest::newRow("d_model fractional") << QByteArray("model.d_model=8.5") << QStringLiteral("whole number");
    QTest::newRow("bad mask") << QByteArray("settings.mask=\"diagonal\"") << QStringLiteral("settings.mask must be");
    QTest::newRow("zero temperature") << QByteArray("settings.temperature=0") << QStringLiteral("temperature must be");
    QTest::newRow("negative masked key") << QByteArray("settings.masked_keys=[-1]") << QStringLiteral("masked_keys");
    QTest::newRow("head count mismatch") << QByteArray("model.heads=2") << QStringLiteral("lists 3 heads but model.heads is 2");
    QTest::newRow("wrong rows") << QByteArray("heads.0.w_q=[[1,2,3,4]]") << QStringLiteral("\"heads[0].w_q\" has 1 rows, expected 16");
    QTest::newRow("wrong columns") << QByteArray("heads.1.w_v.3=[1,2]") << QStringLiteral("\"heads[1].w_v\" row 3 must have 8 numbers");
    QTest::newRow("NaN (null in JSON)") << QByteArray("heads.2.w_k.1.2=null") << QStringLiteral("\"heads[2].w_k\" [1][2] is not a finite number");
    QTest::newRow("Inf (1e999)") << QByteArray("@1e999") << QStringLiteral("illegal number");
    QTest::newRow("beyond float range") << QByteArray("@1e39") << QStringLiteral("[0][0] is not a finite number");
    QTest::newRow("string weight") << QByteArray("heads.0.w_q.0.0=\"x\"") << QStringLiteral("is not a finite number");
    QTest::newRow("scenes not an array") << QByteArray("scenes=5") << QStringLiteral("field \"scenes\" must be an array");
    QTest::newRow("scene not an object") << QByteArray("scenes=[1]") << QStringLiteral("scenes[0] must be an object");
    QTest::newRow("scene without fields") << QByteArray("scenes=[{\"name\":\"a\"}]") << QStringLiteral("missing field \"scenes[0].model_folder\"");
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

void TestWorkspace::sameStateComparesWhatIsComputed()
{
    const Workspace a = awkwardWorkspace();
    Workspace b = a;
    QVERIFY(sameState(a, b));
    b.scenes.push_back(sampleScene()); // scenes are not part of the state
    QVERIFY(sameState(a, b));
    b = a;
    b.heads[1].wK(2, 3) = std::nextafter(b.heads[1].wK(2, 3), 10.0f); // one ulp
    QVERIFY(!sameState(a, b));
    b = a;
    b.heads[0].wQ(0, 0) = std::numeric_limits<float>::quiet_NaN();
    Workspace c = b;
    QVERIFY(sameState(b, c)); // the same bits, NaN included
    b = a;
    b.settings.temperature = 0.71;
    QVERIFY(!sameState(a, b));
    b = a;
    b.heads[2].name = QStringLiteral("renamed");
    QVERIFY(!sameState(a, b));
    Scene s1 = sampleScene();
    Scene s2 = s1;
    QVERIFY(s1 == s2);
    s2.hideWeights = !s2.hideWeights;
    QVERIFY(!(s1 == s2));
    s2 = s1;
    s2.state.text += QLatin1Char('!');
    QVERIFY(!(s1 == s2));
}

QTEST_GUILESS_MAIN(TestWorkspace)
#include "tst_workspace.moc"
