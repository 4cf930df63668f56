#include "regularfile.h"

#include <QFile>
#include <QFileInfo>

namespace studio {

Status requireRegularFile(const QString &path)
{
    const QFileInfo info(path);
    if (!info.exists())
        return Status::failure(QStringLiteral("cannot read %1: no such file").arg(path));
    if (info.isDir())
        return Status::failure(QStringLiteral("%1 is a folder, not a file").arg(path));
    if (!info.isFile())
        return Status::failure(QStringLiteral("%1 is not a regular file (a pipe, device or socket): only files are read").arg(path));
    return Status::success();
}

Result<QByteArray> readRegularFile(const QString &path, qint64 maxBytes)
{
    using R = Result<QByteArray>;
    if (const Status regular = requireRegularFile(path); !regular)
        return R::failure(regular.error);
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return R::failure(QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    const auto tooLarge = [&] {
        return R::failure(QStringLiteral("%1 is too large (more than %2 MB for this kind of file)").arg(path).arg(maxBytes >> 20));
    };
    if (file.size() > maxBytes)
        return tooLarge();
    QByteArray bytes = file.read(maxBytes + 1); // bounded even if the file grows while it is read
    if (bytes.size() > maxBytes)
        return tooLarge();
    return {std::move(bytes), {}};
}

} // namespace studio
