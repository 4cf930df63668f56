#include "deferredrebuild.h"

#include <QDockWidget>
#include <QEvent>
#include <QWidget>

namespace studio {

DeferredRebuild::DeferredRebuild(QWidget *view, std::function<void()> rebuild)
    : QObject(view), m_view(view), m_rebuild(std::move(rebuild))
{
    view->installEventFilter(this);
}

bool DeferredRebuild::isShown()
{
    // A dock that is a hidden tab stays "visible" to Qt: its widgets are only covered by the tab
    // in front. The dock says when its tab goes to the back or comes to the front
    // (visibilityChanged); a pending rebuild runs when it comes to the front.
    if (!m_dockWatched) {
        m_dockWatched = true;
        for (QWidget *w = m_view->parentWidget(); w; w = w->parentWidget())
            if (auto *dock = qobject_cast<QDockWidget *>(w)) {
                // Until the dock first says otherwise: on screen unless something covers it all.
                m_inFrontTab = !m_view->isVisible() || !m_view->visibleRegion().isEmpty();
                connect(dock, &QDockWidget::visibilityChanged, this, [this](bool visible) {
                    m_inFrontTab = visible;
                    if (visible)
                        flush();
                });
                break;
            }
    }
    return m_view->isVisible() && m_inFrontTab;
}

void DeferredRebuild::request()
{
    if (isShown()) {
        m_pending = false;
        m_rebuild();
    } else {
        m_pending = true;
    }
}

void DeferredRebuild::flush()
{
    if (m_pending) {
        m_pending = false;
        m_rebuild();
    }
}

bool DeferredRebuild::eventFilter(QObject *watched, QEvent *event)
{
    // Shown, or about to be painted (made visible some other way): catch up first.
    if (watched == m_view && (event->type() == QEvent::Show || event->type() == QEvent::Paint))
        flush();
    return QObject::eventFilter(watched, event);
}

} // namespace studio
