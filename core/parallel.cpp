#include "parallel.h"

#include <algorithm>

#ifndef _OPENMP
#include <QThreadPool>

#include <latch>
#endif

namespace studio {

namespace {

std::pair<int, int> chunk(int count, int threads, int index)
{
    return {int(static_cast<long long>(count) * index / threads), int(static_cast<long long>(count) * (index + 1) / threads)};
}

#ifndef _OPENMP
// Without OpenMP (builds by other compilers than GCC, such as the fuzzing build): a pool of its
// own, so that a forward pass that itself runs on the global pool (off the GUI thread) can never
// wait for a slot that it occupies.
QThreadPool &workerPool()
{
    static QThreadPool pool;
    return pool;
}
#endif

} // namespace

// With GCC, on OpenMP's threads: the same team that runs oneDNN's matrix products (gemm.cpp), so
// the heads that follow a product never wait for a core its still-spinning workers hold. A thread
// already inside a parallel region runs a nested parallelFor alone (OpenMP's default), and a
// parallelFor from any thread (the GUI's worker threads included) gets a team of its own.
void parallelFor(int threads, int count, const std::function<void(int, int)> &body)
{
    threads = std::clamp(threads, 1, std::max(count, 1));
    if (threads == 1) {
        body(0, count);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (int index = 0; index < threads; ++index) {
        const auto [begin, end] = chunk(count, threads, index);
        body(begin, end);
    }
#else
    QThreadPool &pool = workerPool();
    if (pool.maxThreadCount() < threads - 1)
        pool.setMaxThreadCount(threads - 1);
    std::latch done(threads - 1);
    for (int t = 1; t < threads; ++t) {
        pool.start([&, t] {
            const auto [begin, end] = chunk(count, threads, t);
            body(begin, end);
            done.count_down();
        });
    }
    const auto [begin, end] = chunk(count, threads, 0);
    body(begin, end);
    done.wait();
#endif
}

} // namespace studio
