#pragma once

#include <QObject>

#include <functional>

class QWidget;

namespace studio {

// Rebuilds a view at once while it is on screen, else the next time it is shown or painted: a view
// in a hidden dock tab costs nothing while the user types.
class DeferredRebuild : public QObject {
    Q_OBJECT
public:
    DeferredRebuild(QWidget *view, std::function<void()> rebuild);
    void request();
    // Rebuild now if a request is pending (for exports from a hidden view).
    void flush();

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    bool isShown();

    QWidget *m_view;
    bool m_dockWatched = false;
    bool m_inFrontTab = true; // the view's dock, if any, is not a tab behind another
    std::function<void()> m_rebuild;
    bool m_pending = false;
};

} // namespace studio
