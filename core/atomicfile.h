#pragma once

#include "result.h"

#include <QByteArray>
#include <QSaveFile>
#include <QString>

namespace studio {

// A file written atomically: either the whole new content is there after commit(), or the old file
// is untouched. Unbuffered, so that a short write (a full disk, a file-size limit) is seen at the
// write that falls short: a buffered QSaveFile can flush only part of its buffer at commit and
// still report success, leaving a truncated file in place.
class AtomicFile {
public:
    explicit AtomicFile(const QString &path);
    Status open();
    // Appends bytes; false (and the file will not be committed) when they could not all be written.
    bool write(const QByteArray &bytes);
    Status commit();

private:
    QString m_path;
    QSaveFile m_file;
    bool m_complete = true;
    QString m_writeError; // the system's reason for the first short write ("No space left on device")
};

// Writes all of bytes to an unbuffered file, or fails with the system's reason for the short
// write ("No space left on device", "File too large").
Status writeFully(QFileDevice &file, const QByteArray &bytes);

// The whole content at once.
Status writeFileAtomically(const QString &path, const QByteArray &bytes);

} // namespace studio
