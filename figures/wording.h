#pragma once

#include <QObject>
#include <QString>

namespace studio {

// "1 layer", "12 layers": a count with its noun in the right number.
inline QString countText(long long n, const QString &one, const QString &many)
{
    return QStringLiteral("%1 %2").arg(n).arg(n == 1 ? one : many);
}

} // namespace studio
