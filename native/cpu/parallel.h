// Thread-parallel loops for the CPU backend. OpenMP when the compiler has it,
// a plain serial loop otherwise; the BLAS keeps its own thread pool.
#pragma once
#include <cstdint>
#if defined(_OPENMP)
#include <omp.h>
#endif

namespace imix::cpu {

int num_threads();
void set_num_threads(int n);

// The machine's hardware thread count, fixed once per process. Reductions
// split their work into chunks by this, never by num_threads(): each chunk's
// partial is computed the same way whichever thread runs it and the partials
// are combined in chunk order, so a result does not depend on the thread
// count (setNumThreads, or the thread governor switching it between training
// steps, changes only the speed, not a bit of the numbers).
int64_t machine_threads();

// Calls fn(begin, end) over [0, n) split into chunks of at least `grain`
// items; runs inline when the work is too small to be worth a fork.
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& fn) {
  if (n <= 0) return;
#if defined(_OPENMP)
  int64_t chunks = grain > 0 ? (n + grain - 1) / grain : n;
  int nt = num_threads();
  if (chunks > 1 && nt > 1 && !omp_in_parallel()) {
    if (chunks > nt) chunks = nt;
#pragma omp parallel for num_threads((int)chunks) schedule(static)
    for (int64_t c = 0; c < chunks; ++c) {
      int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
      fn(b, e);
    }
    return;
  }
#endif
  fn((int64_t)0, n);
}

}  // namespace imix::cpu
