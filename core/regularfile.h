#pragma once

#include "result.h"

#include <QByteArray>
#include <QString>

namespace studio {

// The most each kind of file may hold: far beyond real files, and a bound on what one read costs.
inline constexpr qint64 kMaxConfigBytes = 64LL << 20;     // config.json, index and tokenizer configs
inline constexpr qint64 kMaxTokenizerBytes = 512LL << 20; // vocabularies, merges, tokenizer.json
inline constexpr qint64 kMaxWorkspaceBytes = 256LL << 20; // workspace files

// Whether path is a regular file (symbolic links followed). FIFOs, devices and sockets are refused
// by name before they are opened: opening or reading them can block or never end.
Status requireRegularFile(const QString &path);
// The whole content of a regular file of at most maxBytes.
Result<QByteArray> readRegularFile(const QString &path, qint64 maxBytes);

} // namespace studio
