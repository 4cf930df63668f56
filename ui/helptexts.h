#pragma once

#include <QList>
#include <QString>

class QMenuBar;

namespace studio {

// The Help menu's pages, as HTML.
QString quickStartHtml();
// Every shortcut of the menus (read from the actions themselves, so the list cannot go stale),
// then the keys that act inside views.
QString shortcutsHtml(const QMenuBar *menuBar);

} // namespace studio
