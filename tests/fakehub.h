#pragma once

// A small HTTP server on the loopback that answers like the Hugging Face Hub: the model API's file
// list, resolve URLs with ETag and X-Repo-Commit headers, redirects of LFS files to another host
// name (as the Hub sends them to its CDN), Range requests, gated and missing repositories. It can
// drop a connection part-way and corrupt a file, and it records every request, so that tests can
// see what the client sent (Range, Authorization). Runs on the test's own event loop.

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QTcpServer>
#include <QTcpSocket>
#include <QUrl>

namespace studio::testing {

class FakeHub : public QObject {
public:
    struct File {
        QByteArray content;
        bool lfs = false;
    };
    struct Repo {
        QString commit;
        QMap<QString, File> files;
        QString branch = QStringLiteral("main");
        QByteArray requiredToken; // gated: only this token gets an answer
    };
    struct Request {
        QByteArray method;
        QString path;  // without the query
        QString host;  // the Host header without the port
        QHash<QByteArray, QByteArray> headers; // lower-case names
    };

    FakeHub()
    {
        QObject::connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = m_server.nextPendingConnection())
                serve(socket);
        });
        m_listening = m_server.listen(QHostAddress::Any);
    }

    // A repository holding a folder's files, its .safetensors in LFS as the Hub stores them.
    static Repo repoFromFolder(const QString &folder, const QString &commit)
    {
        Repo repo;
        repo.commit = commit;
        const QDir dir(folder);
        for (const QString &name : dir.entryList(QDir::Files)) {
            QFile file(dir.filePath(name));
            if (file.open(QIODevice::ReadOnly))
                repo.files.insert(name, {file.readAll(), name.endsWith(QStringLiteral(".safetensors"))});
        }
        return repo;
    }

    bool isListening() const { return m_listening; }
    QString endpoint() const { return QStringLiteral("http://127.0.0.1:%1").arg(m_server.serverPort()); }

    void addRepo(const QString &id, const Repo &repo) { m_repos.insert(id, repo); }
    Repo &repo(const QString &id) { return m_repos[id]; }

    // The next `times` downloads of this file send only its first `bytes` bytes, then hang up.
    void dropAfter(const QString &fileName, qint64 bytes, int times)
    {
        m_drop = {fileName, bytes, times};
    }
    // This file's bytes are served with one byte changed (the listing still states the right hash).
    void corrupt(const QString &fileName) { m_corrupted = fileName; }

    const QList<Request> &requests() const { return m_requests; }
    QList<Request> requestsFor(const QString &pathPart) const
    {
        QList<Request> found;
        for (const Request &r : m_requests)
            if (r.path.contains(pathPart))
                found.append(r);
        return found;
    }
    void clearRequests() { m_requests.clear(); }

    static QString sha256(const QByteArray &bytes) { return QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex()); }
    static QString gitBlobId(const QByteArray &bytes)
    {
        return QString::fromLatin1(QCryptographicHash::hash("blob " + QByteArray::number(bytes.size()) + '\0' + bytes, QCryptographicHash::Sha1).toHex());
    }

private:
    using Header = QPair<QByteArray, QByteArray>;
    struct Drop {
        QString file;
        qint64 bytes = 0;
        int times = 0;
    };

    void serve(QTcpSocket *socket)
    {
        auto buffer = std::make_shared<QByteArray>();
        QObject::connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        QObject::connect(socket, &QTcpSocket::readyRead, socket, [this, socket, buffer] {
            buffer->append(socket->readAll());
            const qsizetype end = buffer->indexOf("\r\n\r\n");
            if (end < 0)
                return;
            answer(socket, parse(buffer->left(end)));
            buffer->clear();
        });
    }

    Request parse(const QByteArray &head)
    {
        Request request;
        const QList<QByteArray> lines = head.split('\n');
        const QList<QByteArray> first = lines.value(0).trimmed().split(' ');
        request.method = first.value(0);
        const QUrl url(QString::fromLatin1(first.value(1)));
        request.path = url.path();
        for (qsizetype i = 1; i < lines.size(); ++i) {
            const qsizetype colon = lines.at(i).indexOf(':');
            if (colon > 0)
                request.headers.insert(lines.at(i).left(colon).trimmed().toLower(), lines.at(i).mid(colon + 1).trimmed());
        }
        request.host = QString::fromLatin1(request.headers.value("host")).section(QLatin1Char(':'), 0, 0);
        m_requests.append(request);
        return request;
    }

    static void reply(QTcpSocket *socket, int status, const QList<QPair<QByteArray, QByteArray>> &headers, const QByteArray &body,
                      qint64 sendOnly = -1)
    {
        QByteArray out = "HTTP/1.1 " + QByteArray::number(status) + " X\r\nConnection: close\r\n";
        bool hasLength = false;
        for (const auto &[name, value] : headers) {
            out += name + ": " + value + "\r\n";
            hasLength = hasLength || name == "Content-Length";
        }
        if (!hasLength)
            out += "Content-Length: " + QByteArray::number(body.size()) + "\r\n";
        out += "\r\n";
        out += sendOnly >= 0 ? body.left(sendOnly) : body;
        socket->write(out);
        socket->disconnectFromHost();
    }

    bool authorised(const Repo &repo, const Request &request) const
    {
        return repo.requiredToken.isEmpty() || request.headers.value("authorization") == "Bearer " + repo.requiredToken;
    }

    void answer(QTcpSocket *socket, const Request &request)
    {
        static const QString api = QStringLiteral("/api/models/");
        if (request.path.startsWith(api)) {
            // /api/models/{id}/revision/{rev}
            const QString rest = request.path.mid(api.size());
            const qsizetype at = rest.indexOf(QStringLiteral("/revision/"));
            const QString id = rest.left(at);
            const QString revision = rest.mid(at + 10);
            if (!m_repos.contains(id))
                return reply(socket, 401, {{"X-Error-Code", "RepoNotFound"}}, "{\"error\":\"Repository not found\"}");
            const Repo &repo = m_repos[id];
            if (!authorised(repo, request))
                return reply(socket, 401, {{"X-Error-Code", "GatedRepo"}}, "{\"error\":\"Access restricted\"}");
            if (revision != repo.branch && revision != repo.commit)
                return reply(socket, 404, {{"X-Error-Code", "RevisionNotFound"}}, "{\"error\":\"Invalid rev id\"}");
            QJsonArray siblings;
            for (auto it = repo.files.begin(); it != repo.files.end(); ++it) {
                QJsonObject entry{{QStringLiteral("rfilename"), it.key()},
                                  {QStringLiteral("size"), it->content.size()},
                                  {QStringLiteral("blobId"), gitBlobId(it->lfs ? QByteArray("pointer ") + it.key().toUtf8() : it->content)}};
                if (it->lfs)
                    entry.insert(QStringLiteral("lfs"), QJsonObject{{QStringLiteral("sha256"), sha256(it->content)},
                                                                    {QStringLiteral("size"), it->content.size()},
                                                                    {QStringLiteral("pointerSize"), 130}});
                siblings.append(entry);
            }
            const QJsonObject listing{{QStringLiteral("id"), id}, {QStringLiteral("sha"), repo.commit}, {QStringLiteral("siblings"), siblings}};
            return reply(socket, 200, {{"Content-Type", "application/json"}}, QJsonDocument(listing).toJson(QJsonDocument::Compact));
        }
        static const QString cdn = QStringLiteral("/cdn/");
        if (request.path.startsWith(cdn)) {
            // /cdn/{id with -- for /}/{file}: what a resolve URL of an LFS file redirects to.
            const QString rest = request.path.mid(cdn.size());
            const QString id = rest.section(QLatin1Char('/'), 0, 0).replace(QStringLiteral("--"), QStringLiteral("/"));
            const QString name = rest.section(QLatin1Char('/'), 1);
            if (!m_repos.contains(id) || !m_repos[id].files.contains(name))
                return reply(socket, 404, {}, "not found");
            return sendContent(socket, request, name, m_repos[id].files[name]);
        }
        // /{id}/resolve/{commit}/{file}
        const qsizetype resolve = request.path.indexOf(QStringLiteral("/resolve/"));
        if (resolve < 0)
            return reply(socket, 404, {}, "not found");
        const QString id = request.path.mid(1, resolve - 1);
        const QString rest = request.path.mid(resolve + 9);
        const QString commit = rest.section(QLatin1Char('/'), 0, 0);
        const QString name = rest.section(QLatin1Char('/'), 1);
        if (!m_repos.contains(id))
            return reply(socket, 401, {{"X-Error-Code", "RepoNotFound"}}, "");
        const Repo &repo = m_repos[id];
        if (!authorised(repo, request))
            return reply(socket, 401, {{"X-Error-Code", "GatedRepo"}}, "");
        if (commit != repo.commit && commit != repo.branch)
            return reply(socket, 404, {{"X-Error-Code", "RevisionNotFound"}}, "");
        if (!repo.files.contains(name))
            return reply(socket, 404, {{"X-Error-Code", "EntryNotFound"}}, "");
        const File &file = repo.files[name];
        if (file.lfs) {
            // To another host name, as the Hub's CDN: the token must not follow.
            const QByteArray location = QStringLiteral("http://localhost:%1/cdn/%2/%3")
                                            .arg(m_server.serverPort()).arg(QString(id).replace(QLatin1Char('/'), QStringLiteral("--")), name).toUtf8();
            return reply(socket, 302, {{"Location", location}, {"X-Repo-Commit", repo.commit.toLatin1()},
                                       {"X-Linked-Etag", "\"" + sha256(file.content).toLatin1() + "\""},
                                       {"X-Linked-Size", QByteArray::number(file.content.size())}}, "");
        }
        return sendContent(socket, request, name, file, {{"X-Repo-Commit", repo.commit.toLatin1()}});
    }

    void sendContent(QTcpSocket *socket, const Request &request, const QString &name, const File &file,
                     QList<QPair<QByteArray, QByteArray>> headers = {})
    {
        QByteArray content = file.content;
        if (name == m_corrupted && !content.isEmpty())
            content[content.size() / 2] = char(content.at(content.size() / 2) ^ 0x55);
        headers.append(Header{"ETag", "\"" + (file.lfs ? sha256(file.content).toLatin1() : gitBlobId(file.content).toLatin1()) + "\""});
        headers.append(Header{"Accept-Ranges", "bytes"});
        qint64 start = 0;
        const QByteArray range = request.headers.value("range");
        int status = 200;
        if (range.startsWith("bytes=")) {
            start = range.mid(6).split('-').value(0).toLongLong();
            if (start >= content.size())
                return reply(socket, 416, {{"Content-Range", "bytes */" + QByteArray::number(content.size())}}, "");
            status = 206;
            headers.append(Header{"Content-Range", "bytes " + QByteArray::number(start) + '-' + QByteArray::number(content.size() - 1) + '/'
                                                 + QByteArray::number(content.size())});
        }
        const QByteArray body = content.mid(start);
        qint64 sendOnly = -1;
        if (name == m_drop.file && m_drop.times > 0) {
            --m_drop.times;
            sendOnly = std::max<qint64>(0, m_drop.bytes - start);
            headers.append(Header{"Content-Length", QByteArray::number(body.size())});
        }
        reply(socket, status, headers, body, sendOnly);
    }

    QTcpServer m_server;
    bool m_listening = false;
    QMap<QString, Repo> m_repos;
    QList<Request> m_requests;
    Drop m_drop;
    QString m_corrupted;
};

} // namespace studio::testing
