#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <thread>

#if defined(IMIX_HAVE_OPENBLAS)
extern "C" void openblas_set_num_threads(int);
#endif

namespace imix::cpu {

namespace {
int default_threads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  unsigned n = std::thread::hardware_concurrency();
  return n ? (int)n : 1;
#endif
}
std::atomic<int> g_threads{default_threads()};
}  // namespace

int num_threads() { return g_threads.load(std::memory_order_relaxed); }

int64_t machine_threads() {
  static const int64_t n = [] {
    int64_t t = (int64_t)std::thread::hardware_concurrency();
#if defined(_OPENMP)
    t = std::max<int64_t>(t, (int64_t)omp_get_max_threads());
#endif
    return std::min<int64_t>(std::max<int64_t>(t, 1), 256);
  }();
  return n;
}

void set_num_threads(int n) {
  g_threads.store(n < 1 ? 1 : n, std::memory_order_relaxed);
#if defined(IMIX_HAVE_OPENBLAS)
  // One thread pool: gemm.cpp splits C over imix's threads and makes one
  // single-threaded OpenBLAS call per block, so OpenBLAS's own pool stays at 1
  // (two pools on the same cores stall each other).
  openblas_set_num_threads(1);
#endif
}

}  // namespace imix::cpu
