// Hostile and extreme inputs: each case asserts the exact behaviour (a message, a bound, a
// preserved file), never only "did not crash".
#include "attentiondocument.h"
#include "autosave.h"
#include "checkpoint.h"
#include "teachingmodel.h"
#include "tokenizer.h"
#include "workspace.h"
#include "testsupport.h"

#include <QDir>
#include <QElapsedTimer>
#include <QJsonObject>
#include <QFile>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <sys/resource.h>

using namespace studio;

namespace {

QByteArray readAll(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

} // namespace

class TestHostile : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void cleanup();
    void texts_data();
    void texts();
    void tenThousandTokensStayResponsiveAndBounded();
    void invalidUtf8InAWorkspaceFile();
    void directoryAndUnreadableFiles();
    void newerWorkspaceVersion();
    void diskFullKeepsThePreviousFile();
    void twoWindowsSavingTheSameFile();
    void autosaveIsOfferedAfterACrashAndRemovedAfterSave();
};

void TestHostile::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QDir(Autosave::folder()).removeRecursively();
}

void TestHostile::cleanup()
{
    QDir(Autosave::folder()).removeRecursively();
}

void TestHostile::texts_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("tokens");
    QTest::newRow("empty") << QString() << 0;
    QTest::newRow("white space only") << QStringLiteral(" \t\n\u00A0\u3000 ") << 0;
    QTest::newRow("right-to-left with marks") << QStringLiteral("مَرْحَبًا بِالعالم") << 2;
    QTest::newRow("combining characters") << QStringLiteral("e\u0301\u0302\u0303 x") << 2;
    QTest::newRow("emoji and flags") << QStringLiteral("👩‍👩‍👧 🇳🇴 ok") << 3;
    QTest::newRow("control characters") << QStringLiteral("a\u0001\u001B[31mb\u007F") << 3; // a, [, 31mb
    QTest::newRow("5000-character word") << QString(5000, QLatin1Char('z')) << 1;
}

void TestHostile::texts()
{
    QFETCH(QString, text);
    QFETCH(int, tokens);
    const QList<TextToken> split = tokenizeText(text);
    QCOMPARE(split.size(), tokens);
    TeachingConfig config;
    const TeachingTrace trace = traceTeachingModel(text, config, defaultHeads(config), AttentionSettings{});
    QCOMPARE(trace.heads[0].weights.rows(), trace.tokens.size());
    QVERIFY(trace.input.allFinite());
    for (const HeadTrace &head : trace.heads)
        for (int i = 0; i < head.weights.rows(); ++i)
            QVERIFY(std::abs(head.weights.row(i).sum() - 1.0f) < 1e-5f);
    for (const TextToken &token : split)
        for (QChar c : token.text)
            QVERIFY2(c.category() != QChar::Other_Control, "a control character became part of a token");
}

void TestHostile::tenThousandTokensStayResponsiveAndBounded()
{
    QString text;
    for (int i = 0; i < 10000; ++i)
        text += QStringLiteral("word%1 ").arg(i % 50);
    AttentionDocument document;
    QSignalSpy notices(&document, &AttentionDocument::noticeChanged);
    QElapsedTimer timer;
    timer.start();
    document.editText(text);
    // The edit returns at once: the work runs off the GUI thread.
    QVERIFY2(timer.elapsed() < 500, qPrintable(QString::number(timer.elapsed())));
    QVERIFY(document.isBusy());
    QTRY_VERIFY_WITH_TIMEOUT(!document.isBusy(), 60000);
    QCOMPARE(document.tokenCount(), kMaxTeachingTokens);
    QVERIFY(document.result().notice.contains(QStringLiteral("10000 tokens")));
    QVERIFY(!notices.isEmpty());
    // A short edit afterwards is computed at once and clears the notice.
    document.editText(QStringLiteral("short again"));
    QCOMPARE(document.tokenCount(), 2);
    QVERIFY(document.result().notice.isEmpty());
}

void TestHostile::invalidUtf8InAWorkspaceFile()
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

void TestHostile::directoryAndUnreadableFiles()
{
    QTemporaryDir dir;
    QVERIFY(loadWorkspace(dir.path()).error.contains(QStringLiteral("is a folder")));
    QVERIFY(openCheckpoint(dir.filePath(QStringLiteral("missing"))).error.contains(QStringLiteral("is not a folder")));
    // A model folder whose model.safetensors is a folder.
    QDir(dir.path()).mkpath(QStringLiteral("m/model.safetensors"));
    QFile::copy(QStringLiteral(STUDIO_TEST_DATA "/checkpoints/gpt2-random-tiny/config.json"), dir.filePath(QStringLiteral("m/config.json")));
    const auto checkpoint = openCheckpoint(dir.filePath(QStringLiteral("m")));
    QVERIFY(!checkpoint);
    QVERIFY2(checkpoint.error.contains(QStringLiteral("is a folder")), qPrintable(checkpoint.error));
}

void TestHostile::newerWorkspaceVersion()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("future.json"));
    QJsonObject json = workspaceToJson(defaultWorkspace(QStringLiteral("x")));
    json.insert(QStringLiteral("version"), kWorkspaceFormatVersion + 1);
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QJsonDocument(json).toJson());
    file.close();
    AttentionDocument document;
    const QString error = document.openWorkspace(path).error;
    QVERIFY2(error.contains(QStringLiteral("newer version")), qPrintable(error));
    QCOMPARE(document.workspace().text, QStringLiteral("The cat sat on the mat.")); // unchanged
}

void TestHostile::diskFullKeepsThePreviousFile()
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
    rlimit old{};
    QCOMPARE(getrlimit(RLIMIT_FSIZE, &old), 0);
    const auto previousHandler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = old;
    small.rlim_cur = 64 * 1024;
    QCOMPARE(setrlimit(RLIMIT_FSIZE, &small), 0);
    const QString error = saveWorkspace(large, path).error;
    setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, previousHandler);
    QVERIFY2(error.contains(QStringLiteral("cannot write")), qPrintable(error));
    QCOMPARE(readAll(path), previous); // intact
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden), QStringList{QStringLiteral("w.json")}); // no leftovers
}

void TestHostile::twoWindowsSavingTheSameFile()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("shared.json"));
    QVERIFY_OK(saveWorkspace(defaultWorkspace(QStringLiteral("original")), path));
    AttentionDocument first, second;
    QVERIFY_OK(first.openWorkspace(path));
    QVERIFY_OK(second.openWorkspace(path));
    // The first window's file is longer than the original, so the change is seen by its size even
    // where the file system's times are too coarse to tell the two saves apart.
    first.editText(QStringLiteral("from the first window"));
    QVERIFY_OK(first.saveWorkspaceAs(path));
    second.editText(QStringLiteral("from the second window"));
    const SaveReport conflict = second.saveWorkspaceAs(path);
    QCOMPARE(conflict.outcome, SaveOutcome::Conflict);
    QVERIFY2(conflict.error.contains(QStringLiteral("changed by another window")), qPrintable(conflict.error));
    QVERIFY(loadWorkspace(path).value->text == QStringLiteral("from the first window")); // not overwritten
    QVERIFY_OK(second.saveWorkspaceAs(path, true)); // the user chose to overwrite
    QCOMPARE(loadWorkspace(path).value->text, QStringLiteral("from the second window"));
    QVERIFY(!second.isModified());
}

void TestHostile::autosaveIsOfferedAfterACrashAndRemovedAfterSave()
{
    QString leftover;
    {
        auto *crashed = new AttentionDocument;
        crashed->editText(QStringLiteral("unsaved work"));
        crashed->autosaveNow();
        leftover = crashed->autosavePath();
        QVERIFY(QFile::exists(leftover));
        // While its window lives, nobody else is offered it.
        QVERIFY(!Autosave::recoverable().contains(leftover));
        // The window "crashes": it is never destroyed normally, but its lock goes with the process.
        // Simulated by deleting the document while it is still modified (the autosave stays).
        delete crashed;
    }
    QVERIFY(QFile::exists(leftover));
    QCOMPARE(Autosave::recoverable(), QStringList{leftover});
    AttentionDocument document;
    const Result<Workspace> recovered = Autosave::take(leftover);
    QVERIFY(recovered);
    document.restoreWorkspace(*recovered.value, QStringLiteral("Recover"));
    QCOMPARE(document.workspace().text, QStringLiteral("unsaved work"));
    QVERIFY(document.isModified());
    QVERIFY(!QFile::exists(leftover));
    // The recovered work is autosaved by its new window, and that autosave goes after a save.
    document.autosaveNow();
    QVERIFY(QFile::exists(document.autosavePath()));
    QTemporaryDir dir;
    QVERIFY_OK(document.saveWorkspaceAs(dir.filePath(QStringLiteral("kept.json"))));
    QVERIFY(!QFile::exists(document.autosavePath()));
    // Undo after saving makes it unsaved again; discarding removes the autosave.
    document.undoStack()->undo();
    document.autosaveNow();
    QVERIFY(QFile::exists(document.autosavePath()));
    document.discardAutosave();
    QVERIFY(!QFile::exists(document.autosavePath()));
    QVERIFY(Autosave::recoverable().isEmpty());
}

QTEST_MAIN(TestHostile)
#include "tst_hostile.moc"
