// EMA over a flat parameter buffer (MoCo key encoder, BYOL target):
//   t ← m·t + (1−m)·s
// written as t += (1−m)·(s − t), one fused multiply-add per element.
#include "kernels.h"
#include "parallel.h"

namespace imix::cpu {

// target may be source (in place): no __restrict; `omp simd` holds, as element i
// depends on element i only.
void ema(float* target, const float* source, int64_t n, float m) {
  const float a = 1.0f - m;
  parallel_for(n, 1 << 16, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) target[i] = m * target[i] + a * source[i];
  });
}

}  // namespace imix::cpu
