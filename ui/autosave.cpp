#include "autosave.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>
#include <QUuid>

namespace studio {

QString Autosave::folder()
{
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)).filePath(QStringLiteral("autosave"));
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

Status Autosave::write(const Workspace &workspace)
{
    return saveWorkspace(workspace, m_path);
}

void Autosave::remove()
{
    QFile::remove(m_path);
}

QStringList Autosave::recoverable()
{
    QStringList files;
    const QDir dir(folder());
    for (const QFileInfo &file : dir.entryInfoList({QStringLiteral("*.json")}, QDir::Files, QDir::Time)) {
        QLockFile lock(dir.filePath(file.completeBaseName() + QStringLiteral(".lock")));
        lock.setStaleLockTime(0);
        if (lock.tryLock(0)) { // nobody holds it: the window that wrote it is gone
            lock.unlock();
            files.append(file.absoluteFilePath());
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
    QFile::remove(info.dir().filePath(info.completeBaseName() + QStringLiteral(".lock")));
}

} // namespace studio
