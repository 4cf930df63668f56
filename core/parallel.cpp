#include "parallel.h"

#include <algorithm>

namespace studio {

// On OpenMP's threads: the same team that runs oneDNN's matrix products (gemm.cpp), so the heads
// that follow a product never wait for a core its still-spinning workers hold. A thread that is
// already inside a parallel region runs a nested parallelFor alone (OpenMP's default), and a
// parallelFor from any thread (the GUI's worker threads included) gets a team of its own.
void parallelFor(int threads, int count, const std::function<void(int, int)> &body)
{
    threads = std::clamp(threads, 1, std::max(count, 1));
    if (threads == 1) {
        body(0, count);
        return;
    }
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (int index = 0; index < threads; ++index)
        body(int(static_cast<long long>(count) * index / threads), int(static_cast<long long>(count) * (index + 1) / threads));
}

} // namespace studio
