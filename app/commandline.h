#pragma once

#include <QStringList>

namespace studio {

// The headless subcommands. Each takes the full argument list (program name first) and returns
// the process exit code: 0 on success, 1 when the work failed, 2 for bad usage.
bool isSubcommand(const QString &word);
int runSubcommand(const QStringList &arguments);

} // namespace studio
