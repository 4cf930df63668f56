#include "hubdownload.h"

#include "atomicfile.h"
#include "modelconfig.h"
#include "regularfile.h"
#include "runmemory.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QStorageInfo>
#include <QTimer>
#include <QUrlQuery>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace studio {

namespace {

constexpr int kTransferTimeoutMs = 60'000; // no byte for this long: the connection is taken as dropped
constexpr qint64 kMaxListing = 64 << 20;
constexpr qint64 kHashChunk = 4 << 20;

QByteArray userAgent()
{
    return QByteArrayLiteral("attention-studio/" PROJECT_VERSION);
}

bool isRedirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// The connection broke or stalled: worth resuming from where it stopped.
bool isTransient(QNetworkReply::NetworkError error)
{
    switch (error) {
    case QNetworkReply::RemoteHostClosedError:
    case QNetworkReply::TimeoutError:
    case QNetworkReply::TemporaryNetworkFailureError:
    case QNetworkReply::NetworkSessionFailedError:
    case QNetworkReply::ProxyConnectionClosedError:
    case QNetworkReply::ProxyTimeoutError:
    case QNetworkReply::UnknownNetworkError:
        return true;
    default:
        return false;
    }
}

// A regular file's blob id: git's SHA-1 of "blob <size>\0" followed by the content.
QString gitBlobId(QFile &file)
{
    QCryptographicHash hash(QCryptographicHash::Sha1);
    hash.addData(QByteArrayLiteral("blob ") + QByteArray::number(file.size()) + '\0');
    file.seek(0);
    while (!file.atEnd()) {
        const QByteArray chunk = file.read(kHashChunk);
        if (chunk.isEmpty())
            break;
        hash.addData(chunk);
    }
    return QString::fromLatin1(hash.result().toHex());
}

} // namespace

HubDownload::HubDownload(HubSettings settings, QObject *parent)
    : QObject(parent)
    , m_settings(std::move(settings))
{
    // Redirects are followed by hand: the token must go to the Hub's own host and nowhere else.
    m_network.setRedirectPolicy(QNetworkRequest::ManualRedirectPolicy);
}

HubDownload::~HubDownload()
{
    if (m_reply) {
        m_reply->disconnect(this);
        m_reply->abort();
    }
}

void HubDownload::start(const QString &repoId, const QString &revision)
{
    if (m_running)
        return;
    m_repoId = repoId.trimmed();
    m_revision = revision.trimmed().isEmpty() ? QStringLiteral("main") : revision.trimmed();
    m_listing = {};
    m_files.clear();
    m_current = -1;
    m_shardsAdded = false;
    m_total = m_doneBefore = m_moved = 0;
    m_running = true;
    m_clock.start();

    QString problem;
    if (const Status id = checkRepoId(m_repoId); !id)
        problem = id.error;
    else if (const Status revisionValid = checkRevision(m_revision); !revisionValid)
        problem = revisionValid.error;
    if (!problem.isEmpty()) {
        QTimer::singleShot(0, this, [this, problem] { fail(problem); });
        return;
    }

    if (m_settings.offline) {
        const QString snapshot = cachedSnapshot(m_settings.cache, m_repoId, m_revision);
        QTimer::singleShot(0, this, [this, snapshot] {
            if (snapshot.isEmpty())
                fail(tr("offline (HF_HUB_OFFLINE is set), and %1 at %2 is not in the cache %3").arg(m_repoId, m_revision, m_settings.cache));
            else
                finishWith(snapshot);
        });
        return;
    }

    m_step = Step::Listing;
    QUrl url(m_settings.endpoint + QStringLiteral("/api/models/") + m_repoId + QStringLiteral("/revision/")
             + QString::fromLatin1(QUrl::toPercentEncoding(m_revision)));
    QUrlQuery query;
    query.addQueryItem(QStringLiteral("blobs"), QStringLiteral("true"));
    url.setQuery(query);
    if (!url.isValid() || (url.scheme() != QStringLiteral("https") && url.scheme() != QStringLiteral("http"))) {
        QTimer::singleShot(0, this, [this] { fail(tr("HF_ENDPOINT \"%1\" is not an http(s) address").arg(m_settings.endpoint)); });
        return;
    }
    m_redirects = 0;
    request(url);
}

void HubDownload::cancel()
{
    if (!m_running)
        return;
    if (m_reply) {
        m_reply->disconnect(this);
        m_reply->abort();
        m_reply->deleteLater();
    }
    fail(tr("cancelled; what was downloaded is kept, and the next download of %1 resumes from there").arg(m_repoId));
}

void HubDownload::request(const QUrl &url)
{
    QNetworkRequest request(url);
    request.setRawHeader("User-Agent", userAgent());
    // Identity: byte offsets (Range) and checksums apply to the file itself, never to a
    // compressed transfer of it.
    request.setRawHeader("Accept-Encoding", "identity");
    request.setTransferTimeout(kTransferTimeoutMs);
    const QUrl endpoint(m_settings.endpoint);
    if (!m_settings.token.isEmpty() && url.host() == endpoint.host() && url.scheme() == endpoint.scheme()
        && url.port(url.scheme() == QStringLiteral("https") ? 443 : 80) == endpoint.port(endpoint.scheme() == QStringLiteral("https") ? 443 : 80))
        request.setRawHeader("Authorization", "Bearer " + m_settings.token.toUtf8());
    m_rangeSent = m_step == Step::File && m_partial && m_partial->size() > 0;
    if (m_rangeSent)
        request.setRawHeader("Range", "bytes=" + QByteArray::number(m_partial->size()) + '-');
    m_responseStarted = false;
    m_reply = m_network.get(request);
    connect(m_reply, &QNetworkReply::readyRead, this, &HubDownload::onReadyRead);
    connect(m_reply, &QNetworkReply::finished, this, &HubDownload::onFinished);
}

void HubDownload::onReadyRead()
{
    QNetworkReply *reply = m_reply;
    if (!m_running || !reply || m_step != Step::File)
        return; // the listing is read whole when it finishes
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    if (status != 200 && status != 206)
        return; // a redirect's or an error's body
    if (!m_responseStarted) {
        m_responseStarted = true;
        bool restart = status == 200 && m_rangeSent; // the server ignored the Range
        if (status == 206) {
            // "bytes START-END/TOTAL": it must continue exactly where the partial file ends.
            const QByteArray range = reply->rawHeader("Content-Range");
            const QByteArray start = range.mid(6).split('-').value(0);
            bool ok = false;
            restart = !range.startsWith("bytes ") || start.toLongLong(&ok) != m_partial->size() || !ok;
            if (restart) {
                reply->disconnect(this);
                reply->abort();
                reply->deleteLater();
                m_reply = nullptr;
                emptyPartialFile();
                if (m_rangeRetried) {
                    fail(tr("the server sent the wrong part of %1").arg(m_files.at(m_current).name));
                    return;
                }
                m_rangeRetried = true;
                m_redirects = 0;
                request(fileUrl(m_files.at(m_current)));
                return;
            }
        }
        if (restart)
            emptyPartialFile();
    }
    const QByteArray bytes = reply->readAll();
    if (bytes.isEmpty())
        return;
    if (const Status written = writeFully(*m_partial, bytes); !written) {
        const QString reason = written.error;
        reply->disconnect(this);
        reply->abort();
        reply->deleteLater();
        fail(tr("could not write %1 into the cache (%2); the part downloaded so far is kept").arg(m_files.at(m_current).name, reason));
        return;
    }
    m_hash->addData(bytes);
    m_moved += bytes.size();
    Q_EMIT progress(m_doneBefore + m_partial->size(), m_total, m_files.at(m_current).name); // last: a slot may cancel
}

void HubDownload::onFinished()
{
    QNetworkReply *reply = m_reply;
    if (!m_running || !reply)
        return;
    reply->deleteLater();
    m_reply = nullptr;
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    const QNetworkReply::NetworkError error = reply->error();

    if (isRedirect(status)) {
        if (++m_redirects > kMaxRedirects) {
            fail(tr("too many redirects while fetching %1").arg(reply->url().toString(QUrl::RemoveQuery)));
            return;
        }
        const QUrl target = reply->url().resolved(QUrl(QString::fromUtf8(reply->rawHeader("Location"))));
        if (!target.isValid() || (target.scheme() != QStringLiteral("https") && target.scheme() != QStringLiteral("http"))) {
            fail(tr("the Hub redirected to an invalid address"));
            return;
        }
        request(target);
        return;
    }

    if (m_step == Step::Listing) {
        if (status == 0) {
            fail(tr("cannot reach %1 (%2): check the connection, or set HF_HUB_OFFLINE=1 to use only the cache")
                     .arg(QUrl(m_settings.endpoint).host(), reply->errorString()));
            return;
        }
        if (status != 200) {
            fail(httpError(status, reply->rawHeader("X-Error-Code"), m_repoId));
            return;
        }
        if (reply->bytesAvailable() > kMaxListing) {
            fail(tr("the Hub's file list for %1 is larger than %2").arg(m_repoId, memoryText(double(kMaxListing))));
            return;
        }
        onListing(reply->readAll());
        return;
    }

    // A file.
    const HubFile &file = m_files.at(m_current);
    if (status == 416 && !m_rangeRetried) {
        // The partial file is not a prefix the server can continue: start it again.
        m_rangeRetried = true;
        emptyPartialFile();
        m_redirects = 0;
        request(fileUrl(file));
        return;
    }
    if (status == 0 || (error != QNetworkReply::NoError && isTransient(error))) {
        if (!retryFile())
            fail(tr("the connection broke while downloading %1 (%2), %3 times; the part downloaded so far is kept, and the next "
                    "download resumes from there").arg(file.name, reply->errorString()).arg(kMaxRetries + 1));
        return;
    }
    if (status != 200 && status != 206) {
        fail(httpError(status, reply->rawHeader("X-Error-Code"), file.name));
        return;
    }
    if (reply->bytesAvailable() > 0)
        onReadyRead();
    if (!m_running)
        return;
    if (file.size >= 0 && m_partial->size() < file.size) {
        if (!retryFile())
            fail(tr("the connection broke while downloading %1 (it ended early), %2 times; the part downloaded so far is kept, and "
                    "the next download resumes from there").arg(file.name).arg(kMaxRetries + 1));
        return;
    }
    completeFile();
}

void HubDownload::emptyPartialFile()
{
    // The part kept cannot be continued: the file starts again from its first byte.
    m_partial->resize(0);
    m_partial->seek(0);
    m_hash->reset();
}

bool HubDownload::retryFile()
{
    // A retry that made progress does not count against the limit.
    if (m_partial->size() > m_receivedAtStart)
        m_retries = 0;
    if (++m_retries > kMaxRetries)
        return false;
    m_receivedAtStart = m_partial->size();
    retryLater();
    return true;
}

void HubDownload::retryLater()
{
    // A short pause, longer at each retry, so a server that is briefly away can come back.
    QTimer::singleShot(m_retryPauseMs * m_retries, this, [this] {
        if (!m_running || m_step != Step::File)
            return;
        m_redirects = 0;
        request(fileUrl(m_files.at(m_current)));
    });
}

QUrl HubDownload::fileUrl(const HubFile &file) const
{
    return QUrl(m_settings.endpoint + QLatin1Char('/') + m_repoId + QStringLiteral("/resolve/") + m_listing.commit + QLatin1Char('/')
                + QString::fromLatin1(QUrl::toPercentEncoding(file.name, "/")));
}

void HubDownload::onListing(const QByteArray &body)
{
    Result<HubListing> listing = parseHubListing(body);
    if (!listing) {
        fail(listing.error);
        return;
    }
    m_listing = std::move(*listing.value);
    Result<QList<HubFile>> files = selectModelFiles(m_listing);
    if (!files) {
        fail(tr("%1: %2").arg(m_repoId, files.error));
        return;
    }
    m_files = std::move(*files.value);
    // The config first (it decides whether the rest is worth fetching), the weights last.
    std::stable_partition(m_files.begin(), m_files.end(), [](const HubFile &f) { return f.name == QStringLiteral("config.json"); });
    std::stable_partition(m_files.begin(), m_files.end(), [](const HubFile &f) { return !f.isLfs(); });
    for (const HubFile &file : std::as_const(m_files))
        m_total += std::max<qint64>(file.size, 0);
    for (const HubFile &file : std::as_const(m_files))
        if (file.name == QStringLiteral("model.safetensors.index.json"))
            m_total = -1; // unknown until the index names its shards

    if (!QDir().mkpath(repoFolder(m_settings.cache, m_repoId) + QStringLiteral("/blobs"))
        || !QDir().mkpath(snapshotFolder(m_settings.cache, m_repoId, m_listing.commit))) {
        fail(tr("cannot create the cache folder %1").arg(repoFolder(m_settings.cache, m_repoId)));
        return;
    }
    nextFile();
}

void HubDownload::nextFile()
{
    if (!m_running)
        return;
    if (m_current >= 0)
        m_doneBefore += std::max<qint64>(m_files.at(m_current).size, 0);
    ++m_current;
    if (m_current >= m_files.size()) {
        succeed();
        return;
    }
    const HubFile &file = m_files.at(m_current);
    const QString blob = blobPath(m_settings.cache, m_repoId, file.blobName());
    if (file.blobName().isEmpty()) {
        fail(tr("the Hub states no blob id for %1").arg(file.name));
        return;
    }
    if (QFileInfo(blob).isFile() && (file.size < 0 || QFileInfo(blob).size() == file.size)) {
        // Already here (from an earlier download, or from Python): nothing to fetch.
        completeFile();
        return;
    }
    startFile();
}

void HubDownload::startFile()
{
    const HubFile &file = m_files.at(m_current);
    // Before the first byte: will the rest fit on the disk?
    qint64 remaining = 0;
    for (int i = m_current; i < m_files.size(); ++i)
        if (!QFileInfo::exists(blobPath(m_settings.cache, m_repoId, m_files.at(i).blobName())))
            remaining += std::max<qint64>(m_files.at(i).size, 0);
    const QStorageInfo storage(repoFolder(m_settings.cache, m_repoId));
    if (storage.isValid() && storage.bytesAvailable() >= 0 && storage.bytesAvailable() < remaining) {
        fail(tr("not enough disk space for %1: it needs %2, and %3 is free in %4")
                 .arg(m_repoId, memoryText(double(remaining)), memoryText(double(storage.bytesAvailable())), m_settings.cache));
        return;
    }

    const QString partialPath = blobPath(m_settings.cache, m_repoId, file.blobName()) + QStringLiteral(".incomplete");
    m_partial = std::make_unique<QFile>(partialPath);
    if (!m_partial->open(QIODevice::ReadWrite | QIODevice::Unbuffered)) {
        fail(tr("cannot write %1: %2").arg(partialPath, m_partial->errorString()));
        return;
    }
    if (file.size >= 0 && m_partial->size() > file.size)
        m_partial->resize(0);
    m_hash = std::make_unique<QCryptographicHash>(QCryptographicHash::Sha256);
    m_partial->seek(0);
    m_step = Step::File;
    hashPartialFile();
}

void HubDownload::hashPartialFile()
{
    // Resuming: the part already here counts towards the checksum. A slice per turn of the event
    // loop, so that gigabytes already downloaded never freeze the window.
    if (!m_running || !m_partial)
        return;
    const HubFile &file = m_files.at(m_current);
    const QByteArray chunk = m_partial->read(kHashChunk);
    if (!chunk.isEmpty()) {
        m_hash->addData(chunk);
        if (!m_partial->atEnd()) {
            QTimer::singleShot(0, this, &HubDownload::hashPartialFile);
            Q_EMIT progress(m_doneBefore + m_partial->pos(), m_total, file.name);
            return;
        }
    }
    m_partial->seek(m_partial->size());
    m_retries = 0;
    m_rangeRetried = false;
    m_receivedAtStart = m_partial->size();
    m_redirects = 0;
    request(fileUrl(file));
    Q_EMIT progress(m_doneBefore + m_partial->size(), m_total, file.name); // last: a slot may cancel
}

void HubDownload::completeFile()
{
    const HubFile file = m_files.at(m_current);
    const QString blob = blobPath(m_settings.cache, m_repoId, file.blobName());
    if (m_partial) {
        const QString partialPath = m_partial->fileName();
        // Verify before the file takes its final name: a mismatch leaves nothing behind.
        QString mismatch;
        if (file.size >= 0 && m_partial->size() != file.size) {
            mismatch = tr("%1 has %2 bytes where the Hub states %3").arg(file.name).arg(m_partial->size()).arg(file.size);
        } else if (file.isLfs()) {
            const QString actual = QString::fromLatin1(m_hash->result().toHex());
            if (actual != file.sha256)
                mismatch = tr("checksum mismatch for %1: the Hub states SHA-256 %2, the download has %3").arg(file.name, file.sha256, actual);
        } else if (!file.blobId.isEmpty()) {
            const QString actual = gitBlobId(*m_partial);
            if (actual != file.blobId)
                mismatch = tr("checksum mismatch for %1: the Hub states blob %2, the download has %3").arg(file.name, file.blobId, actual);
        }
        m_partial->close();
        m_partial.reset();
        m_hash.reset();
        if (!mismatch.isEmpty()) {
            QFile::remove(partialPath);
            fail(mismatch + tr("; the file was removed"));
            return;
        }
        if (!QFile::rename(partialPath, blob)) {
            fail(tr("cannot move %1 into place as %2").arg(partialPath, blob));
            return;
        }
    }
    if (const Status linked = linkIntoSnapshot(file); !linked) {
        fail(linked.error);
        return;
    }

    // The config comes first: a model the app cannot run is refused before its weights are fetched.
    if (file.name == QStringLiteral("config.json")) {
        const Result<QByteArray> bytes = readRegularFile(blob, kMaxListing);
        const QJsonObject json = bytes ? QJsonDocument::fromJson(*bytes.value).object() : QJsonObject();
        const Result<ModelConfig> config = parseModelConfig(json);
        if (!config) {
            fail(tr("%1 cannot be opened in Attention Studio: %2. Its weights were not downloaded.").arg(m_repoId, config.error));
            return;
        }
    }

    // An index names the shards to fetch next.
    if (file.name == QStringLiteral("model.safetensors.index.json") && !m_shardsAdded) {
        m_shardsAdded = true;
        QFile index(blob);
        if (!index.open(QIODevice::ReadOnly) || index.size() > kMaxListing) {
            fail(tr("cannot read %1").arg(blob));
            return;
        }
        const Result<QStringList> shards = shardsOfIndex(index.readAll());
        if (!shards) {
            fail(shards.error);
            return;
        }
        m_total = 0;
        for (const HubFile &f : std::as_const(m_files))
            m_total += std::max<qint64>(f.size, 0);
        for (const QString &shard : *shards.value) {
            const auto listed = std::find_if(m_listing.files.cbegin(), m_listing.files.cend(), [&](const HubFile &f) { return f.name == shard; });
            if (listed == m_listing.files.cend()) {
                fail(tr("model.safetensors.index.json names %1, which the repository does not have").arg(shard));
                return;
            }
            if (!listed->isLfs()) {
                fail(tr("the Hub states no SHA-256 for %1, so it cannot be verified").arg(shard));
                return;
            }
            m_files.append(*listed);
            m_total += std::max<qint64>(listed->size, 0);
        }
    }
    nextFile();
}

Status HubDownload::linkIntoSnapshot(const HubFile &file)
{
    // snapshots/<commit>/<name> -> ../../blobs/<blob>, relative as huggingface_hub makes it, so
    // that the cache can move.
    namespace fs = std::filesystem;
    const fs::path link = fs::path(snapshotFolder(m_settings.cache, m_repoId, m_listing.commit).toStdString()) / file.name.toStdString();
    fs::path target = fs::path("..") / "..";
    for (qsizetype depth = file.name.count(QLatin1Char('/')); depth > 0; --depth)
        target /= "..";
    target /= fs::path("blobs") / file.blobName().toStdString();
    std::error_code error;
    fs::create_directories(link.parent_path(), error);
    if (fs::is_symlink(link, error) && fs::read_symlink(link, error) == target)
        return Status::success();
    fs::remove(link, error);
    fs::create_symlink(target, link, error);
    if (error)
        return Status::failure(tr("cannot link %1 into the snapshot: %2").arg(file.name, QString::fromStdString(error.message())));
    return Status::success();
}

QString HubDownload::httpError(int status, const QByteArray &errorCode, const QString &what) const
{
    const QString host = QUrl(m_settings.endpoint).host();
    if (errorCode == "GatedRepo" || ((status == 401 || status == 403) && errorCode != "RepoNotFound")) {
        if (m_settings.token.isEmpty())
            return tr("%1 is gated or private: it needs a Hugging Face token (set HF_TOKEN, or log in with "
                      "\"huggingface-cli login\"), and access granted on its page on %2").arg(m_repoId, host);
        return tr("your Hugging Face token has no access to %1: request access on its page on %2 (HTTP %3)").arg(m_repoId, host).arg(status);
    }
    if (errorCode == "RevisionNotFound")
        return tr("%1 has no revision \"%2\"").arg(m_repoId, m_revision);
    if (errorCode == "EntryNotFound")
        return tr("%1 has no file %2 at %3").arg(m_repoId, what, m_revision);
    if (status == 404 || errorCode == "RepoNotFound")
        return m_settings.token.isEmpty() ? tr("no model %1 on %2 (if it is private, it needs a token: set HF_TOKEN)").arg(m_repoId, host)
                                          : tr("no model %1 on %2").arg(m_repoId, host);
    return tr("%1 answered HTTP %2 for %3").arg(host).arg(status).arg(what);
}

void HubDownload::fail(const QString &message)
{
    if (!m_running)
        return;
    m_running = false;
    if (m_partial) {
        m_partial->close();
        m_partial.reset();
    }
    m_hash.reset();
    Q_EMIT finished(QString(), message);
}

void HubDownload::succeed()
{
    // The ref is written last: Python and this app find the revision only once it is complete.
    if (!isCommitHash(m_revision)) {
        const QString ref = refPath(m_settings.cache, m_repoId, m_revision);
        QDir().mkpath(QFileInfo(ref).absolutePath());
        if (const Status written = writeFileAtomically(ref, m_listing.commit.toLatin1()); !written) {
            fail(written.error);
            return;
        }
    }
    finishWith(snapshotFolder(m_settings.cache, m_repoId, m_listing.commit));
}

void HubDownload::finishWith(const QString &snapshot)
{
    if (m_total > 0)
        Q_EMIT progress(m_total, m_total, QString());
    m_running = false;
    Q_EMIT finished(snapshot, QString());
}

QList<SuggestedModel> suggestedModels()
{
    return {
        {QStringLiteral("gpt2"), QStringLiteral("548 MB"), QStringLiteral("GPT-2 small: 12 layers × 12 heads, the classic")},
        {QStringLiteral("distilgpt2"), QStringLiteral("353 MB"), QStringLiteral("DistilGPT-2: 6 layers × 12 heads")},
        {QStringLiteral("bert-base-uncased"), QStringLiteral("440 MB"), QStringLiteral("BERT base: 12 layers × 12 heads, bidirectional")},
        {QStringLiteral("HuggingFaceTB/SmolLM2-135M"), QStringLiteral("269 MB"), QStringLiteral("SmolLM2: Llama-style, 30 layers, grouped-query heads")},
        {QStringLiteral("Qwen/Qwen2.5-0.5B"), QStringLiteral("988 MB"), QStringLiteral("Qwen2.5: 24 layers, grouped-query heads")},
        {QStringLiteral("TinyLlama/TinyLlama-1.1B-Chat-v1.0"), QStringLiteral("2.2 GB"), QStringLiteral("TinyLlama: 22 layers, 32 heads sharing 4 key/value heads")},
    };
}

} // namespace studio
