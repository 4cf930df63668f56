#pragma once

#include <QStringList>

namespace studio {

// attention-studio download ID [--revision R]: fetches a model from the Hugging Face Hub into the
// shared cache, with a progress bar on a terminal, and prints the snapshot folder.
int runDownload(const QStringList &arguments);

} // namespace studio
