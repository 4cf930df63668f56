#include "parallel.h"

#include <QThreadPool>

#include <algorithm>
#include <latch>

namespace studio {

namespace {

// A pool of its own, so that a forward pass that itself runs on the global pool (off the GUI
// thread) can never wait for a slot that it occupies.
QThreadPool &workerPool()
{
    static QThreadPool pool;
    return pool;
}

} // namespace

void parallelFor(int threads, int count, const std::function<void(int, int)> &body)
{
    threads = std::clamp(threads, 1, std::max(count, 1));
    if (threads == 1) {
        body(0, count);
        return;
    }
    QThreadPool &pool = workerPool();
    if (pool.maxThreadCount() < threads - 1)
        pool.setMaxThreadCount(threads - 1);
    std::latch done(threads - 1);
    auto chunk = [&](int index) { return std::pair(count * index / threads, count * (index + 1) / threads); };
    for (int t = 1; t < threads; ++t) {
        pool.start([&, t] {
            const auto [begin, end] = chunk(t);
            body(begin, end);
            done.count_down();
        });
    }
    const auto [begin, end] = chunk(0);
    body(begin, end);
    done.wait();
}

} // namespace studio
