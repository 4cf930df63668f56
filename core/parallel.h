#pragma once

#include <functional>

namespace studio {

// Runs body(begin, end) over [0, count) split into `threads` contiguous chunks, the first on the
// calling thread and the others on a pool of worker threads that sleep while idle (no spinning:
// on a small machine spinning workers steal the cores they wait for). Returns when all are done.
void parallelFor(int threads, int count, const std::function<void(int begin, int end)> &body);

} // namespace studio
