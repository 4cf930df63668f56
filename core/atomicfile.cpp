#include "atomicfile.h"

namespace studio {

AtomicFile::AtomicFile(const QString &path) : m_path(path), m_file(path) {}

Status AtomicFile::open()
{
    if (!m_file.open(QIODevice::WriteOnly | QIODevice::Unbuffered))
        return Status::failure(QStringLiteral("cannot write %1: %2").arg(m_path, m_file.errorString()));
    return Status::success();
}

bool AtomicFile::write(const QByteArray &bytes)
{
    if (!m_complete)
        return false;
    if (const Status written = writeFully(m_file, bytes); !written) {
        m_complete = false;
        m_writeError = written.error;
        return false;
    }
    return true;
}

Status writeFully(QFileDevice &file, const QByteArray &bytes)
{
    // A short write says nothing of why; writing the rest either finishes or fails with the
    // system's reason (ENOSPC, EFBIG), which the message then gives.
    const char *data = bytes.constData();
    qint64 remaining = bytes.size();
    while (remaining > 0) {
        const qint64 written = file.write(data, remaining);
        if (written <= 0)
            return Status::failure(file.errorString());
        data += written;
        remaining -= written;
    }
    return Status::success();
}

Status AtomicFile::commit()
{
    if (!m_complete) {
        m_file.cancelWriting();
        // The system's reason when it gave one ("No space left on device", "File too large").
        const QString reason = m_writeError.isEmpty() || m_writeError == QStringLiteral("Unknown error")
                                   ? QStringLiteral("only part of it could be written (is the disk full?)")
                                   : m_writeError;
        return Status::failure(QStringLiteral("cannot write %1: %2; the file was left as it was").arg(m_path, reason));
    }
    if (!m_file.commit())
        return Status::failure(QStringLiteral("cannot write %1: %2").arg(m_path, m_file.errorString()));
    return Status::success();
}

Status writeFileAtomically(const QString &path, const QByteArray &bytes)
{
    AtomicFile file(path);
    if (const Status opened = file.open(); !opened)
        return opened;
    file.write(bytes);
    return file.commit();
}

} // namespace studio
