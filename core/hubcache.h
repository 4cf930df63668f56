#pragma once

#include "result.h"

#include <QByteArray>
#include <QList>
#include <QString>

namespace studio {

// The Hugging Face Hub as huggingface_hub sees it: where its cache is, which endpoint it talks to,
// whether it may go online and with which token. Read from the same environment variables, with
// the same defaults, so that this app and Python share one cache both ways.
struct HubSettings {
    QString endpoint;  // HF_ENDPOINT, default https://huggingface.co, without a trailing slash
    QString cache;     // HF_HUB_CACHE, else $HF_HOME/hub; HF_HOME defaults to $XDG_CACHE_HOME/huggingface
    bool offline = false; // HF_HUB_OFFLINE is 1, ON, YES or TRUE
    QString token;     // HF_TOKEN, else the token file ($HF_TOKEN_PATH, else $HF_HOME/token); never logged

    static HubSettings fromEnvironment();
};

// "gpt2" or "org/name": letters, digits, '-', '_' and '.', no "--" or ".." and at most 96
// characters per part, as the Hub allows. Anything else is refused before a request is made.
Status checkRepoId(const QString &repoId);
// A branch, tag or commit: no "..", no leading '/', no control characters or spaces.
Status checkRevision(const QString &revision);
bool isCommitHash(const QString &revision); // 40 lowercase hex digits

// The cache layout: <cache>/models--org--name/{blobs,snapshots/<commit>,refs}.
QString repoFolderName(const QString &repoId); // "models--org--name"
QString repoFolder(const QString &cache, const QString &repoId);
QString blobPath(const QString &cache, const QString &repoId, const QString &blobName);
QString snapshotFolder(const QString &cache, const QString &repoId, const QString &commit);
QString refPath(const QString &cache, const QString &repoId, const QString &revision);

// One file of a revision, as the Hub's model API lists it with ?blobs=true.
struct HubFile {
    QString name;    // path in the repository ("config.json", "onnx/model.onnx")
    qint64 size = -1;
    QString blobId;  // git object id (what the cache names a regular file's blob)
    QString sha256;  // LFS files only: the content's SHA-256 (also the blob's name in the cache)

    bool isLfs() const { return !sha256.isEmpty(); }
    // The cache names a blob by its ETag: the SHA-256 for LFS files, the git object id otherwise.
    QString blobName() const { return isLfs() ? sha256 : blobId; }
};
struct HubListing {
    QString commit; // the revision resolved to a commit ("sha")
    QList<HubFile> files;
};
// Parses GET /api/models/{id}/revision/{rev}?blobs=true.
Result<HubListing> parseHubListing(const QByteArray &json);

// The files the app reads: config, tokenizer files, and safetensors weights (model.safetensors,
// or the index whose shards are added once it is read). A repository with only pickle weights is
// refused: the app never executes a pickle.
Result<QList<HubFile>> selectModelFiles(const HubListing &listing);
// The shard names an index lists (weight_map values), each checked to be a plain file name.
Result<QStringList> shardsOfIndex(const QByteArray &indexJson);

// Where a revision already is in the cache: the snapshot folder of a commit, or of the commit a
// ref names. Empty when it is not there (or its config.json is missing).
QString cachedSnapshot(const QString &cache, const QString &repoId, const QString &revision);

// "12.3 MB of 548 MB · 4.1 MB/s · 2 min left": rate and time from bytes moved in this session.
QString transferText(qint64 done, qint64 total, qint64 movedThisSession, qint64 elapsedMs);

} // namespace studio
