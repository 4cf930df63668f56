#pragma once

#include <QFuture>
#include <QFutureWatcher>
#include <QObject>
#include <QPromise>
#include <QThreadPool>

#include <memory>

namespace studio {

// Runs work(promise) on the global thread pool and calls deliver(future) on context's thread once
// it is done: always later, from the event loop, never inside this call, and never after context is
// gone. The delivery goes through a watcher that context owns: QFuture::then(context, …) asserts in
// Qt 6.4 when context is destroyed before the work ends (a window closed during a run).
template<typename T, typename Work, typename Deliver>
QFuture<T> runOffThread(QObject *context, Work work, Deliver deliver)
{
    auto promise = std::make_shared<QPromise<T>>();
    QFuture<T> future = promise->future();
    auto *watcher = new QFutureWatcher<T>(context);
    QObject::connect(watcher, &QFutureWatcherBase::finished, context, [watcher, deliver = std::move(deliver)]() mutable {
        watcher->deleteLater();
        deliver(watcher->future());
    });
    watcher->setFuture(future);
    promise->start();
    QThreadPool::globalInstance()->start([promise, work = std::move(work)]() mutable {
        work(*promise);
        promise->finish();
    });
    return future;
}

} // namespace studio
