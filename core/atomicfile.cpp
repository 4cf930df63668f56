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
    m_complete = m_complete && m_file.write(bytes) == bytes.size();
    return m_complete;
}

Status AtomicFile::commit()
{
    if (!m_complete) {
        m_file.cancelWriting();
        return Status::failure(QStringLiteral("cannot write %1: only part of it could be written (is the disk full?)").arg(m_path));
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
