// The Hugging Face Hub client: its settings, the cache layout it shares with huggingface_hub, and
// real downloads from a local server that answers like the Hub (tests/fakehub.h). No test reaches
// the internet.

#include "checkpoint.h"
#include "fakehub.h"
#include "hubcache.h"
#include "hubdownload.h"
#include "testsupport.h"

#include <QDir>
#include <QFileInfo>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>

using namespace studio;
using studio::testing::FakeHub;

namespace {

const QString kData = QStringLiteral(STUDIO_TEST_DATA);
const QString kCommit = QStringLiteral("0123456789abcdef0123456789abcdef01234567");
const QString kModel = QStringLiteral("org/tiny-gpt2");

// The tiny GPT-2 as a Hub repository: weights in LFS, a README and pickle weights it must skip.
FakeHub::Repo tinyGpt2Repo()
{
    FakeHub::Repo repo = FakeHub::repoFromFolder(kData + QStringLiteral("/checkpoints/hf-tiny-gpt2"), kCommit);
    repo.files.remove(QStringLiteral("LICENSE.md"));
    repo.files.insert(QStringLiteral("README.md"), {"# tiny\n", false});
    repo.files.insert(QStringLiteral("pytorch_model.bin"), {QByteArray(5000, 'p'), true});
    return repo;
}

struct Outcome {
    QString snapshot;
    QString error;
};

Outcome download(const HubSettings &settings, const QString &id, const QString &revision = QStringLiteral("main"),
                 QList<qint64> *progress = nullptr)
{
    HubDownload client(settings);
    client.setRetryPause(10);
    QSignalSpy finished(&client, &HubDownload::finished);
    if (progress)
        QObject::connect(&client, &HubDownload::progress, [progress](qint64 done, qint64, const QString &) { progress->append(done); });
    client.start(id, revision);
    if (!finished.wait(20'000))
        return {{}, QStringLiteral("timed out")};
    return {finished.first().at(0).toString(), finished.first().at(1).toString()};
}

HubSettings settingsFor(const FakeHub &hub, const QString &cache, const QString &token = {})
{
    HubSettings settings;
    settings.endpoint = hub.endpoint();
    settings.cache = cache;
    settings.token = token;
    return settings;
}

} // namespace

class TestHub : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void settingsFollowHuggingFaceHub();
    void repoIdsAndRevisions();
    void listingAndFileSelection();
    void transferTextIsHandComputed();
    void downloadsIntoTheSharedCacheLayout();
    void reusesBlobsAlreadyInTheCache();
    void tokenGoesOnlyToTheHubsHost();
    void gatedWithoutTokenSaysSo();
    void resumesADroppedConnection();
    void resumesAnInterruptedDownloadLater();
    void checksumMismatchLeavesNothing();
    void missingModelAndRevision();
    void offlineUsesOnlyTheCache();
    void refusesPickleOnlyRepositories();
    void diskFullGivesTheReason();
    void fetchesTheShardsAnIndexNames();
    void cancelKeepsThePartForLater();
    void resumesALargePartialFileInSlices();
    void refusesAModelItCannotRunBeforeItsWeights();
};

void TestHub::settingsFollowHuggingFaceHub()
{
    QTemporaryDir home;
    const QString hfHome = home.filePath(QStringLiteral("hf"));
    QDir().mkpath(hfHome);
    QFile token(hfHome + QStringLiteral("/token"));
    QVERIFY(token.open(QIODevice::WriteOnly));
    token.write("hf_fromfile\n");
    token.close();

    qputenv("HF_ENDPOINT", "https://mirror.example.org//");
    qputenv("HF_HOME", hfHome.toUtf8());
    qunsetenv("HF_HUB_CACHE");
    qunsetenv("HUGGINGFACE_HUB_CACHE");
    qunsetenv("HF_TOKEN");
    qunsetenv("HF_TOKEN_PATH");
    qputenv("HF_HUB_OFFLINE", "yes");
    HubSettings settings = HubSettings::fromEnvironment();
    QCOMPARE(settings.endpoint, QStringLiteral("https://mirror.example.org"));
    QCOMPARE(settings.cache, hfHome + QStringLiteral("/hub"));
    QCOMPARE(settings.token, QStringLiteral("hf_fromfile"));
    QVERIFY(settings.offline);
    QCOMPARE(defaultHuggingFaceHub(), hfHome + QStringLiteral("/hub"));

    // HF_TOKEN wins over the file; HF_HUB_CACHE over HF_HOME; "0" is not offline.
    qputenv("HF_TOKEN", "hf_fromenv");
    qputenv("HF_HUB_CACHE", "/somewhere/else");
    qputenv("HF_HUB_OFFLINE", "0");
    settings = HubSettings::fromEnvironment();
    QCOMPARE(settings.token, QStringLiteral("hf_fromenv"));
    QCOMPARE(settings.cache, QStringLiteral("/somewhere/else"));
    QVERIFY(!settings.offline);

    // Without HF_HOME: $XDG_CACHE_HOME/huggingface; without an endpoint: the Hub.
    qunsetenv("HF_ENDPOINT");
    qunsetenv("HF_HOME");
    qunsetenv("HF_HUB_CACHE");
    qunsetenv("HF_TOKEN");
    qputenv("XDG_CACHE_HOME", home.path().toUtf8());
    settings = HubSettings::fromEnvironment();
    QCOMPARE(settings.endpoint, QStringLiteral("https://huggingface.co"));
    QCOMPARE(settings.cache, home.path() + QStringLiteral("/huggingface/hub"));
    QCOMPARE(settings.token, QString());
    qunsetenv("XDG_CACHE_HOME");
    qunsetenv("HF_HUB_OFFLINE");
}

void TestHub::repoIdsAndRevisions()
{
    for (const char *good : {"gpt2", "bert-base-uncased", "HuggingFaceTB/SmolLM2-135M", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "a_b/c.d"})
        QVERIFY2(checkRepoId(QString::fromLatin1(good)), good);
    for (const char *bad : {"", "/gpt2", "gpt2/", "a/b/c", "../etc", "a--b", "a b", "a/..", "-x", "x.", "org/name.git", "é"})
        QVERIFY2(!checkRepoId(QString::fromUtf8(bad)), bad);
    QVERIFY(checkRevision(QStringLiteral("main")));
    QVERIFY(checkRevision(QStringLiteral("refs/pr/1")));
    QVERIFY(checkRevision(kCommit));
    for (const char *bad : {"", "a b", "../x", "/main", "a?b", "a#b"})
        QVERIFY2(!checkRevision(QString::fromLatin1(bad)), bad);
    QVERIFY(isCommitHash(kCommit));
    QVERIFY(!isCommitHash(QStringLiteral("main")));
    QCOMPARE(repoFolderName(QStringLiteral("org/name")), QStringLiteral("models--org--name"));
    QCOMPARE(repoFolderName(QStringLiteral("gpt2")), QStringLiteral("models--gpt2"));
}

void TestHub::listingAndFileSelection()
{
    const QByteArray sha(64, 'a');
    const QByteArray json = R"({"sha":")" + kCommit.toLatin1() + R"(","siblings":[
        {"rfilename":"config.json","size":10,"blobId":"1111111111111111111111111111111111111111"},
        {"rfilename":"README.md","size":5,"blobId":"2222222222222222222222222222222222222222"},
        {"rfilename":"tokenizer.json","size":20,"blobId":"3333333333333333333333333333333333333333"},
        {"rfilename":"model.safetensors","size":1,"blobId":"4444444444444444444444444444444444444444","lfs":{"sha256":")" + sha + R"(","size":99,"pointerSize":130}},
        {"rfilename":"onnx/model.onnx","size":7,"blobId":"5555555555555555555555555555555555555555","lfs":{"sha256":")" + sha + R"(","size":7}}]})";
    const Result<HubListing> listing = parseHubListing(json);
    QVERIFY2(listing, qPrintable(listing.error));
    QCOMPARE(listing.value->commit, kCommit);
    QCOMPARE(listing.value->files.size(), 5);
    const HubFile &weights = listing.value->files.at(3);
    QCOMPARE(weights.size, 99); // the LFS size, not the pointer's
    QCOMPARE(weights.blobName(), QString::fromLatin1(sha));
    QCOMPARE(listing.value->files.at(0).blobName(), QStringLiteral("1111111111111111111111111111111111111111"));

    const Result<QList<HubFile>> selected = selectModelFiles(*listing.value);
    QVERIFY2(selected, qPrintable(selected.error));
    QStringList names;
    for (const HubFile &file : *selected.value)
        names.append(file.name);
    QCOMPARE(names, (QStringList{QStringLiteral("config.json"), QStringLiteral("tokenizer.json"), QStringLiteral("model.safetensors")}));

    QVERIFY(!parseHubListing("[]"));
    QVERIFY(!parseHubListing(R"({"sha":"main","siblings":[]})"));
    QVERIFY(!parseHubListing(R"({"sha":")" + kCommit.toLatin1() + R"(","siblings":[{"rfilename":"x","lfs":{"sha256":"zz"}}]})"));

    HubListing noConfig{kCommit, {{QStringLiteral("model.safetensors"), 1, {}, QString::fromLatin1(sha)}}};
    QVERIFY(selectModelFiles(noConfig).error.contains(QStringLiteral("config.json")));
    HubListing unverifiable{kCommit, {{QStringLiteral("config.json"), 1, QStringLiteral("1111111111111111111111111111111111111111"), {}},
                                      {QStringLiteral("model.safetensors"), 1, QStringLiteral("4444444444444444444444444444444444444444"), {}}}};
    QVERIFY(selectModelFiles(unverifiable).error.contains(QStringLiteral("SHA-256")));

    const Result<QStringList> shards = shardsOfIndex(R"({"weight_map":{"a":"model-1.safetensors","b":"model-2.safetensors","c":"model-1.safetensors"}})");
    QVERIFY(shards);
    QCOMPARE(*shards.value, (QStringList{QStringLiteral("model-1.safetensors"), QStringLiteral("model-2.safetensors")}));
    QVERIFY(!shardsOfIndex(R"({"weight_map":{"a":"../evil.safetensors"}})"));
    QVERIFY(!shardsOfIndex(R"({"weight_map":{"a":"model.bin"}})"));
    QVERIFY(!shardsOfIndex("{}"));
}

void TestHub::transferTextIsHandComputed()
{
    QCOMPARE(transferText(0, 548'000'000, 0, 0), QStringLiteral("0 bytes of 548.0 MB"));
    // 10 MB in 2 s: 5 MB/s; 538 MB left: 107.6 s, shown as 2 min.
    QCOMPARE(transferText(10'000'000, 548'000'000, 10'000'000, 2000), QStringLiteral("10.0 MB of 548.0 MB · 5.0 MB/s · 2 min left"));
    // 1 MB left at 5 MB/s: 0.2 s, shown as 1 s.
    QCOMPARE(transferText(547'000'000, 548'000'000, 10'000'000, 2000), QStringLiteral("547.0 MB of 548.0 MB · 5.0 MB/s · 1 s left"));
    QCOMPARE(transferText(5'000, -1, 5'000, 100), QStringLiteral("5.0 kB"));
}

void TestHub::downloadsIntoTheSharedCacheLayout()
{
    FakeHub hub;
    QVERIFY(hub.isListening());
    hub.addRepo(kModel, tinyGpt2Repo());
    QTemporaryDir cache;
    QList<qint64> progress;
    const Outcome outcome = download(settingsFor(hub, cache.path()), kModel, QStringLiteral("main"), &progress);
    QVERIFY2(outcome.error.isEmpty(), qPrintable(outcome.error));
    const QString repo = cache.path() + QStringLiteral("/models--org--tiny-gpt2");
    QCOMPARE(outcome.snapshot, repo + QStringLiteral("/snapshots/") + kCommit);
    QCOMPARE(studio::testing::readAll(repo + QStringLiteral("/refs/main")), kCommit.toLatin1());

    // Each needed file is a relative link to its blob, named as huggingface_hub names it.
    const FakeHub::Repo source = tinyGpt2Repo();
    const QStringList expected{QStringLiteral("config.json"), QStringLiteral("merges.txt"), QStringLiteral("model.safetensors"),
                               QStringLiteral("special_tokens_map.json"), QStringLiteral("tokenizer_config.json"), QStringLiteral("vocab.json")};
    QCOMPARE(QDir(outcome.snapshot).entryList(QDir::Files | QDir::System, QDir::Name), expected);
    for (const QString &name : expected) {
        const FakeHub::File &file = source.files[name];
        const QString blob = file.lfs ? FakeHub::sha256(file.content) : FakeHub::gitBlobId(file.content);
        const std::filesystem::path link = (outcome.snapshot + QLatin1Char('/') + name).toStdString();
        QVERIFY2(std::filesystem::is_symlink(link), qPrintable(name));
        QCOMPARE(QString::fromStdString(std::filesystem::read_symlink(link).string()), QStringLiteral("../../blobs/") + blob);
        QCOMPARE(studio::testing::readAll(outcome.snapshot + QLatin1Char('/') + name), file.content);
    }
    QVERIFY(QDir(repo + QStringLiteral("/blobs")).entryList({QStringLiteral("*.incomplete")}, QDir::Files).isEmpty());
    QVERIFY(hub.requestsFor(QStringLiteral("pytorch_model.bin")).isEmpty());
    QVERIFY(hub.requestsFor(QStringLiteral("README.md")).isEmpty());
    // Progress rose to the total.
    QVERIFY(!progress.isEmpty());
    QVERIFY(std::is_sorted(progress.cbegin(), progress.cend()));
    qint64 total = 0;
    for (const QString &name : expected)
        total += source.files[name].content.size();
    QCOMPARE(progress.last(), total);

    // The app finds and opens it like any cached model.
    const QList<CachedModel> models = listCachedModels(cache.path());
    QCOMPARE(models.size(), 1);
    QCOMPARE(models.first().name, kModel);
    const auto checkpoint = openCheckpoint(models.first().directory);
    QVERIFY2(checkpoint, qPrintable(checkpoint.error));
    QCOMPARE((*checkpoint.value)->name, kModel);
}

void TestHub::reusesBlobsAlreadyInTheCache()
{
    FakeHub hub;
    hub.addRepo(kModel, tinyGpt2Repo());
    QTemporaryDir cache;
    QVERIFY(download(settingsFor(hub, cache.path()), kModel).error.isEmpty());
    // Python's client leaves the same layout: a second download fetches only the list.
    hub.clearRequests();
    const Outcome again = download(settingsFor(hub, cache.path()), kModel);
    QVERIFY2(again.error.isEmpty(), qPrintable(again.error));
    QCOMPARE(hub.requests().size(), 1);
    QVERIFY(hub.requests().first().path.startsWith(QStringLiteral("/api/models/")));
    // A snapshot link that was lost is made again from the blob.
    QVERIFY(QFile::remove(again.snapshot + QStringLiteral("/vocab.json")));
    QVERIFY(download(settingsFor(hub, cache.path()), kModel).error.isEmpty());
    QVERIFY(QFileInfo(again.snapshot + QStringLiteral("/vocab.json")).isFile());
}

void TestHub::tokenGoesOnlyToTheHubsHost()
{
    FakeHub hub;
    FakeHub::Repo repo = tinyGpt2Repo();
    repo.requiredToken = "hf_secret";
    hub.addRepo(kModel, repo);
    QTemporaryDir cache;
    const Outcome outcome = download(settingsFor(hub, cache.path(), QStringLiteral("hf_secret")), kModel);
    QVERIFY2(outcome.error.isEmpty(), qPrintable(outcome.error));
    int toHub = 0;
    int toCdn = 0;
    for (const FakeHub::Request &request : hub.requests()) {
        if (request.host == QStringLiteral("127.0.0.1")) {
            QCOMPARE(request.headers.value("authorization"), QByteArray("Bearer hf_secret"));
            ++toHub;
        } else {
            QCOMPARE(request.host, QStringLiteral("localhost"));
            QVERIFY2(!request.headers.contains("authorization"), "the token followed a redirect to another host");
            ++toCdn;
        }
        QCOMPARE(request.headers.value("accept-encoding"), QByteArray("identity"));
    }
    QVERIFY(toHub >= 2);
    QCOMPARE(toCdn, 1); // model.safetensors, the one LFS file needed
}

void TestHub::gatedWithoutTokenSaysSo()
{
    FakeHub hub;
    FakeHub::Repo repo = tinyGpt2Repo();
    repo.requiredToken = "hf_secret";
    hub.addRepo(kModel, repo);
    QTemporaryDir cache;
    const Outcome anonymous = download(settingsFor(hub, cache.path()), kModel);
    QVERIFY(anonymous.snapshot.isEmpty());
    QVERIFY2(anonymous.error.contains(QStringLiteral("gated")) && anonymous.error.contains(QStringLiteral("HF_TOKEN")), qPrintable(anonymous.error));
    const Outcome wrongToken = download(settingsFor(hub, cache.path(), QStringLiteral("hf_other")), kModel);
    QVERIFY2(wrongToken.error.contains(QStringLiteral("no access")), qPrintable(wrongToken.error));
    QVERIFY2(!wrongToken.error.contains(QStringLiteral("hf_other")), "the token must never appear in a message");
}

void TestHub::resumesADroppedConnection()
{
    FakeHub hub;
    hub.addRepo(kModel, tinyGpt2Repo());
    hub.dropAfter(QStringLiteral("model.safetensors"), 4000, 1);
    QTemporaryDir cache;
    const Outcome outcome = download(settingsFor(hub, cache.path()), kModel);
    QVERIFY2(outcome.error.isEmpty(), qPrintable(outcome.error));
    const QList<FakeHub::Request> fetches = hub.requestsFor(QStringLiteral("/cdn/"));
    QVERIFY(fetches.size() >= 2); // (Qt may send a request twice when it meets a closed connection)
    QVERIFY(!fetches.at(0).headers.contains("range"));
    for (qsizetype i = 1; i < fetches.size(); ++i)
        QCOMPARE(fetches.at(i).headers.value("range"), QByteArray("bytes=4000-"));
    QCOMPARE(studio::testing::readAll(outcome.snapshot + QStringLiteral("/model.safetensors")),
             tinyGpt2Repo().files[QStringLiteral("model.safetensors")].content);
}

void TestHub::resumesAnInterruptedDownloadLater()
{
    FakeHub hub;
    hub.addRepo(kModel, tinyGpt2Repo());
    // Every attempt breaks at 3000 bytes: the download gives up, keeping the part.
    hub.dropAfter(QStringLiteral("model.safetensors"), 3000, 1000);
    QTemporaryDir cache;
    const Outcome broken = download(settingsFor(hub, cache.path()), kModel);
    QVERIFY2(broken.error.contains(QStringLiteral("connection broke")), qPrintable(broken.error));
    const QByteArray weights = tinyGpt2Repo().files[QStringLiteral("model.safetensors")].content;
    const QString blob = blobPath(cache.path(), kModel, FakeHub::sha256(weights));
    QCOMPARE(QFileInfo(blob + QStringLiteral(".incomplete")).size(), 3000);
    QVERIFY(!QFileInfo::exists(blob));
    QVERIFY(!QFileInfo::exists(snapshotFolder(cache.path(), kModel, kCommit) + QStringLiteral("/model.safetensors")));
    QVERIFY(!QFileInfo::exists(refPath(cache.path(), kModel, QStringLiteral("main"))));
    QVERIFY(listCachedModels(cache.path()).isEmpty() || !openCheckpoint(listCachedModels(cache.path()).first().directory));

    // The next download continues from byte 3000.
    hub.dropAfter({}, 0, 0);
    hub.clearRequests();
    const Outcome resumed = download(settingsFor(hub, cache.path()), kModel);
    QVERIFY2(resumed.error.isEmpty(), qPrintable(resumed.error));
    // (Qt may send a request twice when it meets a connection the server had closed.)
    const QList<FakeHub::Request> fetches = hub.requestsFor(QStringLiteral("/cdn/"));
    QVERIFY(!fetches.isEmpty());
    for (const FakeHub::Request &fetch : fetches)
        QCOMPARE(fetch.headers.value("range"), QByteArray("bytes=3000-"));
    QCOMPARE(studio::testing::readAll(blob), weights);
    QVERIFY(!QFileInfo::exists(blob + QStringLiteral(".incomplete")));
}

void TestHub::checksumMismatchLeavesNothing()
{
    FakeHub hub;
    hub.addRepo(kModel, tinyGpt2Repo());
    hub.corrupt(QStringLiteral("model.safetensors"));
    QTemporaryDir cache;
    const Outcome outcome = download(settingsFor(hub, cache.path()), kModel);
    QVERIFY(outcome.snapshot.isEmpty());
    QVERIFY2(outcome.error.contains(QStringLiteral("checksum mismatch for model.safetensors")) && outcome.error.contains(QStringLiteral("removed")),
             qPrintable(outcome.error));
    const QString blobs = repoFolder(cache.path(), kModel) + QStringLiteral("/blobs");
    const QString weightsBlob = FakeHub::sha256(tinyGpt2Repo().files[QStringLiteral("model.safetensors")].content);
    QVERIFY(QDir(blobs).entryList({weightsBlob + QStringLiteral("*")}, QDir::Files).isEmpty());
    QVERIFY(!QFileInfo::exists(snapshotFolder(cache.path(), kModel, kCommit) + QStringLiteral("/model.safetensors")));
    QVERIFY(!QFileInfo::exists(refPath(cache.path(), kModel, QStringLiteral("main"))));

    // A regular file is checked against its git blob id too.
    FakeHub other;
    other.addRepo(kModel, tinyGpt2Repo());
    other.corrupt(QStringLiteral("vocab.json"));
    QTemporaryDir cache2;
    const Outcome vocab = download(settingsFor(other, cache2.path()), kModel);
    QVERIFY2(vocab.error.contains(QStringLiteral("checksum mismatch for vocab.json")), qPrintable(vocab.error));
}

void TestHub::missingModelAndRevision()
{
    FakeHub hub;
    hub.addRepo(kModel, tinyGpt2Repo());
    QTemporaryDir cache;
    const Outcome missing = download(settingsFor(hub, cache.path()), QStringLiteral("nobody/nothing"));
    QVERIFY2(missing.error.startsWith(QStringLiteral("no model nobody/nothing on 127.0.0.1")), qPrintable(missing.error));
    const Outcome revision = download(settingsFor(hub, cache.path()), kModel, QStringLiteral("v9"));
    QCOMPARE(revision.error, QStringLiteral("org/tiny-gpt2 has no revision \"v9\""));
    const int before = int(hub.requests().size());
    const Outcome badId = download(settingsFor(hub, cache.path()), QStringLiteral("../../etc"));
    QVERIFY2(badId.error.contains(QStringLiteral("not a model id")), qPrintable(badId.error));
    QCOMPARE(int(hub.requests().size()), before); // refused before any request
    QVERIFY(!QDir(cache.path()).exists(QStringLiteral("models--nobody--nothing/refs")));

    // An unreachable endpoint says so.
    HubSettings closed = settingsFor(hub, cache.path());
    closed.endpoint = QStringLiteral("http://127.0.0.1:1");
    const Outcome unreachable = download(closed, kModel);
    QVERIFY2(unreachable.error.startsWith(QStringLiteral("cannot reach 127.0.0.1")) && unreachable.error.contains(QStringLiteral("HF_HUB_OFFLINE")),
             qPrintable(unreachable.error));
}

void TestHub::offlineUsesOnlyTheCache()
{
    FakeHub hub;
    hub.addRepo(kModel, tinyGpt2Repo());
    QTemporaryDir cache;
    HubSettings settings = settingsFor(hub, cache.path());
    settings.offline = true;
    const Outcome notCached = download(settings, kModel);
    QVERIFY2(notCached.error.contains(QStringLiteral("offline")) && notCached.error.contains(QStringLiteral("not in the cache")),
             qPrintable(notCached.error));
    QVERIFY(hub.requests().isEmpty());

    settings.offline = false;
    const Outcome online = download(settings, kModel);
    QVERIFY(online.error.isEmpty());
    hub.clearRequests();
    settings.offline = true;
    const Outcome cached = download(settings, kModel);
    QCOMPARE(cached.snapshot, online.snapshot);
    QCOMPARE(download(settings, kModel, kCommit).snapshot, online.snapshot); // a commit needs no ref
    QVERIFY(hub.requests().isEmpty());
}

void TestHub::refusesPickleOnlyRepositories()
{
    FakeHub hub;
    FakeHub::Repo repo = tinyGpt2Repo();
    repo.files.remove(QStringLiteral("model.safetensors"));
    hub.addRepo(kModel, repo);
    QTemporaryDir cache;
    const Outcome outcome = download(settingsFor(hub, cache.path()), kModel);
    QVERIFY2(outcome.error.contains(QStringLiteral("pickle")) && outcome.error.contains(QStringLiteral("safetensors")), qPrintable(outcome.error));
    QCOMPARE(hub.requests().size(), 1); // nothing fetched
}

void TestHub::diskFullGivesTheReason()
{
    FakeHub hub;
    hub.addRepo(kModel, tinyGpt2Repo());
    QTemporaryDir cache;
    Outcome outcome;
    {
        studio::testing::ScopedFileSizeLimit limit(4096, studio::testing::ScopedFileSizeLimit::IgnoreSignal);
        QVERIFY(limit.isSet());
        outcome = download(settingsFor(hub, cache.path()), kModel);
    }
    QVERIFY2(outcome.error.startsWith(QStringLiteral("could not write model.safetensors into the cache (")) && outcome.error.contains(QStringLiteral("too large")),
             qPrintable(outcome.error));
    const QString weightsBlob = FakeHub::sha256(tinyGpt2Repo().files[QStringLiteral("model.safetensors")].content);
    QVERIFY(!QFileInfo::exists(blobPath(cache.path(), kModel, weightsBlob)));
    QVERIFY(!QFileInfo::exists(refPath(cache.path(), kModel, QStringLiteral("main"))));
    // With room again, the download completes from what was kept.
    const Outcome retried = download(settingsFor(hub, cache.path()), kModel);
    QVERIFY2(retried.error.isEmpty(), qPrintable(retried.error));
}

void TestHub::fetchesTheShardsAnIndexNames()
{
    FakeHub hub;
    FakeHub::Repo repo = tinyGpt2Repo();
    const QByteArray weights = repo.files.take(QStringLiteral("model.safetensors")).content;
    repo.files.insert(QStringLiteral("model-00001-of-00002.safetensors"), {weights, true});
    repo.files.insert(QStringLiteral("model-00002-of-00002.safetensors"), {QByteArray("second shard"), true});
    repo.files.insert(QStringLiteral("model-unused.safetensors"), {QByteArray("not named by the index"), true});
    repo.files.insert(QStringLiteral("model.safetensors.index.json"),
                      {R"({"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})", false});
    hub.addRepo(kModel, repo);
    QTemporaryDir cache;
    QList<qint64> progress;
    const Outcome outcome = download(settingsFor(hub, cache.path()), kModel, QStringLiteral("main"), &progress);
    QVERIFY2(outcome.error.isEmpty(), qPrintable(outcome.error));
    QCOMPARE(studio::testing::readAll(outcome.snapshot + QStringLiteral("/model-00001-of-00002.safetensors")), weights);
    QCOMPARE(studio::testing::readAll(outcome.snapshot + QStringLiteral("/model-00002-of-00002.safetensors")), QByteArray("second shard"));
    QVERIFY(!QFileInfo::exists(outcome.snapshot + QStringLiteral("/model-unused.safetensors")));
    QVERIFY(hub.requestsFor(QStringLiteral("model-unused")).isEmpty());
}

void TestHub::cancelKeepsThePartForLater()
{
    FakeHub hub;
    hub.addRepo(kModel, tinyGpt2Repo());
    QTemporaryDir cache;
    HubDownload client(settingsFor(hub, cache.path()));
    QSignalSpy finished(&client, &HubDownload::finished);
    // Cancel as soon as the first file starts.
    bool cancelled = false;
    connect(&client, &HubDownload::progress, &client, [&] {
        if (!cancelled) {
            cancelled = true;
            client.cancel();
        }
    });
    client.start(kModel);
    QVERIFY(finished.wait(10'000));
    QCOMPARE(finished.size(), 1);
    QVERIFY2(finished.first().at(1).toString().startsWith(QStringLiteral("cancelled")), qPrintable(finished.first().at(1).toString()));
    QVERIFY(!client.isRunning());
    QTest::qWait(50);
    QCOMPARE(finished.size(), 1); // exactly one finished()
    QVERIFY(!QFileInfo::exists(refPath(cache.path(), kModel, QStringLiteral("main"))));
    QVERIFY(download(settingsFor(hub, cache.path()), kModel).error.isEmpty());
}

void TestHub::resumesALargePartialFileInSlices()
{
    // 9 MB of weights broken at 8.5 MB: the part is hashed in several slices on resuming, and the
    // checksum of the whole still matches.
    FakeHub hub;
    FakeHub::Repo repo = tinyGpt2Repo();
    QByteArray weights(9 << 20, Qt::Uninitialized);
    for (qsizetype i = 0; i < weights.size(); ++i)
        weights[i] = char((i * 2654435761u) >> 24);
    repo.files[QStringLiteral("model.safetensors")] = {weights, true};
    hub.addRepo(kModel, repo);
    hub.dropAfter(QStringLiteral("model.safetensors"), (17 << 20) / 2, 1000);
    QTemporaryDir cache;
    QVERIFY(!download(settingsFor(hub, cache.path()), kModel).error.isEmpty());
    const QString blob = blobPath(cache.path(), kModel, FakeHub::sha256(weights));
    QCOMPARE(QFileInfo(blob + QStringLiteral(".incomplete")).size(), (17 << 20) / 2);
    hub.dropAfter({}, 0, 0);
    QList<qint64> progress;
    const Outcome resumed = download(settingsFor(hub, cache.path()), kModel, QStringLiteral("main"), &progress);
    QVERIFY2(resumed.error.isEmpty(), qPrintable(resumed.error));
    QCOMPARE(studio::testing::readAll(blob), weights);
    QVERIFY(std::is_sorted(progress.cbegin(), progress.cend()));
}

void TestHub::refusesAModelItCannotRunBeforeItsWeights()
{
    FakeHub hub;
    FakeHub::Repo repo = tinyGpt2Repo();
    repo.files[QStringLiteral("config.json")] = {R"({"model_type": "t5", "d_model": 8})", false};
    hub.addRepo(kModel, repo);
    QTemporaryDir cache;
    const Outcome outcome = download(settingsFor(hub, cache.path()), kModel);
    QVERIFY2(outcome.error.startsWith(QStringLiteral("org/tiny-gpt2 cannot be opened in Attention Studio: ")) && outcome.error.contains(QStringLiteral("t5"))
                 && outcome.error.endsWith(QStringLiteral("Its weights were not downloaded.")),
             qPrintable(outcome.error));
    QVERIFY(hub.requestsFor(QStringLiteral("model.safetensors")).isEmpty());
    QCOMPARE(hub.requestsFor(QStringLiteral("/resolve/")).size(), 1); // the config, first
}

QTEST_GUILESS_MAIN(TestHub)
#include "tst_hub.moc"
