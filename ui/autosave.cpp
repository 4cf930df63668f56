#include "autosave.h"

#include "atomicfile.h"
#include "regularfile.h"

#include <QDir>
#include <QJsonDocument>
#include <QJsonObject>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>
#include <QUuid>

namespace studio {

namespace {

QString sourcePath(const QString &autosave)
{
    const QFileInfo info(autosave);
    return info.dir().filePath(info.completeBaseName() + QStringLiteral(".source"));
}

QString lockPath(const QString &autosave)
{
    const QFileInfo info(autosave);
    return info.dir().filePath(info.completeBaseName() + QStringLiteral(".lock"));
}

// Earlier versions kept autosaves in the data folder Qt names after organisation and application
// ("Attention Studio/Attention Studio"): still offered back from there.
QString legacyFolder()
{
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)).filePath(QStringLiteral("autosave"));
}

} // namespace

QString Autosave::folder()
{
    return QDir(QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation)).filePath(QStringLiteral("attention-studio/autosave"));
}

Autosave::Autosave()
{
    QDir().mkpath(folder());
    const QString id = QUuid::createUuid().toString(QUuid::WithoutBraces);
    m_path = QDir(folder()).filePath(id + QStringLiteral(".json"));
    m_lock = std::make_unique<QLockFile>(QDir(folder()).filePath(id + QStringLiteral(".lock")));
    m_lock->setStaleLockTime(0);
    m_lock->tryLock(0);
}

Autosave::~Autosave() = default; // the lock file goes with m_lock; the autosave stays if not removed

Status Autosave::write(const Workspace &workspace, const Source &source)
{
    if (const Status saved = saveWorkspace(workspace, m_path); !saved)
        return saved;
    if (source.file.isEmpty()) {
        QFile::remove(sourcePath(m_path));
        return Status::success();
    }
    const QJsonObject json{{QStringLiteral("file"), source.file},
                           {QStringLiteral("modified"), source.modified.isValid() ? source.modified.toMSecsSinceEpoch() : qint64(-1)},
                           {QStringLiteral("size"), source.size}};
    return writeFileAtomically(sourcePath(m_path), QJsonDocument(json).toJson(QJsonDocument::Compact));
}

void Autosave::remove()
{
    QFile::remove(m_path);
    QFile::remove(sourcePath(m_path));
}

Autosave::Source Autosave::sourceOf(const QString &autosave)
{
    const Result<QByteArray> bytes = readRegularFile(sourcePath(autosave), 1 << 16);
    if (!bytes)
        return {};
    const QJsonObject json = QJsonDocument::fromJson(*bytes.value).object();
    Source source;
    source.file = json.value(QStringLiteral("file")).toString();
    const qint64 modified = json.value(QStringLiteral("modified")).toInteger(-1);
    if (modified >= 0)
        source.modified = QDateTime::fromMSecsSinceEpoch(modified);
    source.size = json.value(QStringLiteral("size")).toInteger(-1);
    return source;
}

QStringList Autosave::recoverable()
{
    QStringList files;
    for (const QString &path : {folder(), legacyFolder()}) {
        const QDir dir(path);
        if (!dir.exists())
            continue;
        for (const QFileInfo &file : dir.entryInfoList({QStringLiteral("*.json")}, QDir::Files, QDir::Time)) {
            QLockFile lock(lockPath(file.absoluteFilePath()));
            lock.setStaleLockTime(0);
            if (lock.tryLock(0)) { // nobody holds it: the window that wrote it is gone
                lock.unlock();
                files.append(file.absoluteFilePath());
            }
        }
        // A window that crashed before its first autosave leaves only its lock (and perhaps a
        // source note): once nobody holds the lock, nothing refers to them.
        for (const QFileInfo &file : dir.entryInfoList({QStringLiteral("*.lock"), QStringLiteral("*.source")}, QDir::Files)) {
            const QString autosave = dir.filePath(file.completeBaseName() + QStringLiteral(".json"));
            if (QFile::exists(autosave))
                continue;
            QLockFile lock(lockPath(autosave));
            lock.setStaleLockTime(0);
            if (lock.tryLock(0)) {
                lock.unlock(); // removes the lock file
                QFile::remove(sourcePath(autosave));
            }
        }
    }
    return files;
}

Result<Workspace> Autosave::read(const QString &path)
{
    return loadWorkspace(path);
}

void Autosave::discard(const QString &path)
{
    const QFileInfo info(path);
    QFile::remove(path);
    QFile::remove(sourcePath(path));
    QFile::remove(lockPath(path));
}

} // namespace studio
