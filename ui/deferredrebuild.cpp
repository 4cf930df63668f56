#include "deferredrebuild.h"

#include <QEvent>
#include <QWidget>

namespace studio {

DeferredRebuild::DeferredRebuild(QWidget *view, std::function<void()> rebuild)
    : QObject(view), m_view(view), m_rebuild(std::move(rebuild))
{
    view->installEventFilter(this);
}

void DeferredRebuild::request()
{
    if (m_view->isVisible()) {
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
    if (watched == m_view && event->type() == QEvent::Show)
        flush();
    return QObject::eventFilter(watched, event);
}

} // namespace studio
