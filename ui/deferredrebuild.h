#pragma once

#include <QObject>

#include <functional>

class QWidget;

namespace studio {

// Rebuilds a view at once while it is visible, else the next time it is shown: a view in a hidden
// dock tab costs nothing while the user types.
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
    QWidget *m_view;
    std::function<void()> m_rebuild;
    bool m_pending = false;
};

} // namespace studio
