#pragma once

#include "workspace.h"

#include <QDateTime>
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

    // Where a recovered workspace came from: its file, and that file's time and size when the
    // work was autosaved (so that saving over a file changed since is still caught).
    struct Source {
        QString file;
        QDateTime modified;
        qint64 size = -1;
    };

    QString path() const { return m_path; }
    // The workspace, and beside it (<id>.source) the file it is unsaved work on, if any.
    Status write(const Workspace &workspace, const Source &source);
    void remove();

    // ~/.local/share/attention-studio/autosave, and the autosaves whose window is gone (their
    // lock is free). Lock files left without an autosave by a crash are removed on the way.
    static QString folder();
    static QStringList recoverable();
    static Source sourceOf(const QString &autosave);
    // Reads one, leaving it in place: it is removed only once the work is safe elsewhere.
    static Result<Workspace> read(const QString &path);
    // Removes an autosave and its lock file.
    static void discard(const QString &path);

private:
    QString m_path;
    std::unique_ptr<QLockFile> m_lock;
};

} // namespace studio
