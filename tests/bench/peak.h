#pragma once

// The machine's fp32 peak: independent fused multiply-adds on every requested thread, in the
// widest vectors the CPU has (AVX-512, else AVX2 with FMA, else SSE), so a linear layer's
// GFLOP/s can be given as a share of what the cores can do at all.

#include <immintrin.h>

#include <QElapsedTimer>

#include <thread>
#include <vector>

namespace studio::bench {

namespace detail {

// GCC 12's AVX-512 headers warn about their own undefined-value intrinsics (a known false positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// 12 independent accumulators: more than the FMA latency × throughput, so the loop is bound by
// the FMA units alone. Returns a value so the work is not optimised away.
__attribute__((target("avx512f"))) inline float fmaLoopAvx512(long iterations, float seed)
{
    __m512 a[12];
    for (int i = 0; i < 12; ++i)
        a[i] = _mm512_set1_ps(seed + float(i));
    const __m512 m = _mm512_set1_ps(0.99999f), c = _mm512_set1_ps(1e-5f);
    for (long n = 0; n < iterations; ++n)
        for (int i = 0; i < 12; ++i)
            a[i] = _mm512_fmadd_ps(a[i], m, c);
    __m512 sum = a[0];
    for (int i = 1; i < 12; ++i)
        sum = _mm512_add_ps(sum, a[i]);
    return _mm512_reduce_add_ps(sum);
}

__attribute__((target("avx2,fma"))) inline float fmaLoopAvx2(long iterations, float seed)
{
    __m256 a[12];
    for (int i = 0; i < 12; ++i)
        a[i] = _mm256_set1_ps(seed + float(i));
    const __m256 m = _mm256_set1_ps(0.99999f), c = _mm256_set1_ps(1e-5f);
    for (long n = 0; n < iterations; ++n)
        for (int i = 0; i < 12; ++i)
            a[i] = _mm256_fmadd_ps(a[i], m, c);
    float lanes[8];
    __m256 sum = a[0];
    for (int i = 1; i < 12; ++i)
        sum = _mm256_add_ps(sum, a[i]);
    _mm256_storeu_ps(lanes, sum);
    return lanes[0] + lanes[7];
}

#pragma GCC diagnostic pop

} // namespace detail

// GFLOP/s (an FMA counts two) of `threads` threads running at once, the best of five rounds.
inline double measuredPeakGflops(int threads)
{
    const bool avx512 = __builtin_cpu_supports("avx512f");
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const int lanes = avx512 ? 16 : avx2 ? 8 : 1;
    const long iterations = avx512 ? 20'000'000 : 40'000'000;
    double best = 0;
    for (int round = 0; round < 5; ++round) {
        std::vector<std::thread> workers;
        std::vector<float> sinks(static_cast<size_t>(threads));
        QElapsedTimer timer;
        timer.start();
        for (int t = 0; t < threads; ++t)
            workers.emplace_back([&, t] {
                sinks[size_t(t)] = avx512 ? detail::fmaLoopAvx512(iterations, float(t))
                                 : avx2   ? detail::fmaLoopAvx2(iterations, float(t))
                                          : 0.0f;
            });
        for (auto &w : workers)
            w.join();
        const double seconds = double(timer.nsecsElapsed()) / 1e9;
        if (lanes > 1)
            best = std::max(best, double(threads) * double(iterations) * 12.0 * lanes * 2.0 / seconds / 1e9);
    }
    return best;
}

} // namespace studio::bench
