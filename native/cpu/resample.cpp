// SCARF feature resampling on rows x[N, F] from a pool of training rows
// pool[M, F] (formula in native/common/kernel_api.h, "resample.cpp"; the
// per-element draw in native/common/resample.h, shared with the CUDA twin):
//   out[i,j] = u_ij < p ? pool[r_ij, j] : x[i,j]
// so every replaced feature takes a value from its own column's empirical
// distribution (the marginal of the training set), independently per element.
//
// Shape of the implementation: threads split the N·F elements into
// contiguous chunks; each element computes its own Philox block (ten
// rounds) and either copies x or gathers one float from the pool. The
// column j is carried along a chunk instead of dividing per element. Every
// output float is written exactly once, after its x value was read, so the
// kernel may run in place (out == x); the pool is only read and must not
// overlap out (the binding checks).
#include "../common/resample.h"
#include "kernels.h"
#include "parallel.h"

namespace imix::cpu {

void resample_features(const float* x, const float* pool, float* out, int64_t N, int64_t F, int64_t M, double p,
                       uint64_t seed, uint64_t offset) {
  const int64_t n = N * F;
  if (n <= 0) return;
  parallel_for(n, 4096, [&](int64_t b, int64_t e) {
    int64_t j = b % F;
    for (int64_t k = b; k < e; ++k) {
      out[k] = resample_at(x, pool, k, j, F, M, p, seed, offset);
      if (++j == F) j = 0;
    }
  });
}

}  // namespace imix::cpu
