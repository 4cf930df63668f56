#pragma once

#include "workspace.h"

#include <QLockFile>
#include <QString>
#include <QStringList>

#include <memory>

namespace studio {

// Crash safety: a window's unsaved workspace is written to the app's data folder a moment after
// each change, and removed after a normal save or discard. A file left behind by a session that
// crashed or was killed is offered back at the next start. Each window holds a lock on its own
// file, so a running window's autosave is never offered to another.
class Autosave {
public:
    Autosave();
    ~Autosave();

    QString path() const { return m_path; }
    Status write(const Workspace &workspace);
    void remove();

    // The folder, and the autosaves whose window is gone (their lock is free).
    static QString folder();
    static QStringList recoverable();
    // Reads one, leaving it in place: it is removed only once the work is safe elsewhere.
    static Result<Workspace> read(const QString &path);
    // Removes an autosave and its lock file.
    static void discard(const QString &path);

private:
    QString m_path;
    std::unique_ptr<QLockFile> m_lock;
};

} // namespace studio
