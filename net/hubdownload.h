#pragma once

#include "hubcache.h"

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QFile>
#include <QNetworkAccessManager>
#include <QObject>
#include <QPointer>
#include <QUrl>

#include <memory>

class QNetworkReply;

namespace studio {

// Downloads a model's files from the Hugging Face Hub into huggingface_hub's cache, as its own
// client does: the revision's file list from /api/models/{id}/revision/{rev}, then each needed
// file from /{id}/resolve/{commit}/{file} into blobs/ (named by ETag: SHA-256 for LFS files),
// linked from snapshots/<commit>/, with refs/<revision> naming the commit. A file is written to
// blobs/<name>.incomplete and renamed only once its size and checksum match what the Hub states,
// so nothing half-written is ever taken for complete; an interrupted file resumes with a Range
// request, both after a dropped connection (retried) and in a later download.
//
// Asynchronous, on the caller's event loop: the window never waits for the network.
class HubDownload : public QObject {
    Q_OBJECT
public:
    explicit HubDownload(HubSettings settings, QObject *parent = nullptr);
    ~HubDownload() override;

    // Starts; ends with exactly one finished(). A second start while running is refused.
    void start(const QString &repoId, const QString &revision = QStringLiteral("main"));
    // Stops at once; what was downloaded so far stays as .incomplete, for the next start to resume.
    void cancel();
    bool isRunning() const { return m_running; }
    // The pause before the n-th retry of a dropped connection is n times this (default 500 ms).
    void setRetryPause(int milliseconds) { m_retryPauseMs = milliseconds; }

    static constexpr int kMaxRetries = 5;    // dropped connections per file
    static constexpr int kMaxRedirects = 10;

Q_SIGNALS:
    // Bytes of the needed files that are here, out of their total; the file being fetched.
    void progress(qint64 done, qint64 total, const QString &file);
    // The snapshot folder on success; otherwise an empty folder and the reason.
    void finished(const QString &snapshotFolder, const QString &error);

private:
    enum class Step { Listing, File };

    void request(const QUrl &url);
    void onReadyRead();
    void onFinished();
    void onListing(const QByteArray &body);
    void nextFile();
    void startFile();
    void hashPartialFile();
    void completeFile();
    bool retryFile();
    void emptyPartialFile();
    void fail(const QString &message);
    void succeed();
    void finishWith(const QString &snapshot);
    void retryLater();
    QUrl fileUrl(const HubFile &file) const;
    QString httpError(int status, const QByteArray &errorCode, const QString &what) const;
    Status linkIntoSnapshot(const HubFile &file);

    HubSettings m_settings;
    QNetworkAccessManager m_network;
    QPointer<QNetworkReply> m_reply;
    bool m_running = false;
    Step m_step = Step::Listing;
    int m_redirects = 0;
    int m_retryPauseMs = 500;

    QString m_repoId;
    QString m_revision;
    HubListing m_listing;
    QList<HubFile> m_files; // to fetch, in order
    int m_current = -1;
    bool m_shardsAdded = false;

    qint64 m_total = 0; // bytes of every needed file
    qint64 m_doneBefore = 0; // bytes of the files finished before the current one
    qint64 m_moved = 0;      // bytes received in this download (for the rate)
    QElapsedTimer m_clock;

    // The current file.
    std::unique_ptr<QFile> m_partial; // blobs/<name>.incomplete, appended to
    std::unique_ptr<QCryptographicHash> m_hash;
    int m_retries = 0;
    qint64 m_receivedAtStart = 0;
    bool m_rangeRetried = false;
    bool m_rangeSent = false;       // the request asked to continue from the partial file's end
    bool m_responseStarted = false; // the response's first bytes were seen
};

// "gpt2 · 548 MB · GPT-2 small": the models known to open, for the download dialog.
struct SuggestedModel {
    QString id;
    QString size;
    QString description;
};
QList<SuggestedModel> suggestedModels();

} // namespace studio
