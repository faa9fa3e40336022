// Signal views on x[N, C, L] (formulas in native/common/kernel_api.h,
// "signal_views.cpp"; draws and per-sample arithmetic in
// native/common/signal_views.h, shared with the CUDA twin):
//   time_shift        out[i,c,t] = x[i,c,t − s_i]   (0 where t − s_i is outside [0, L))
//   random_time_crop  out[i,c,:] = linear resampling of x[i,c, a_i .. a_i+ℓ_i) to L samples
//   amplitude_scale   out[i,c,t] = g_i · x[i,c,t]
// Signal i reads Philox block i of the stream (seed, offset); every channel
// of a signal shares its draw, so a result depends only on (seed, offset, i)
// and not on the thread count (and equals the CUDA backend's: the draws and
// the float expressions are the same functions).
//
// Shape of the implementation: threads split the N·C planes (rows of L
// floats); each plane recomputes its signal's Philox block (ten rounds,
// negligible next to L samples). A shift is [zeros | a contiguous source
// segment | zeros]; a crop computes, per output sample, its two source
// indices and weights (scale·(t+½)−½) and blends; a scale is one multiply.
// Every output float is written exactly once. time_shift and
// random_time_crop are out of place (out must not overlap x: a shifted or
// stretched row reads samples another position writes); amplitude_scale
// may run in place (out == x: each sample is read before it is written).
#include <algorithm>

#include "../common/signal_views.h"
#include "kernels.h"
#include "parallel.h"

namespace imix::cpu {
namespace {

// Planes per thread chunk: about 32k samples of work each.
int64_t plane_grain(int64_t L) { return std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(L, 1)); }

}  // namespace

void time_shift(const float* __restrict x, float* __restrict out, int64_t N, int64_t C, int64_t L,
                int64_t max_shift, uint64_t seed, uint64_t offset) {
  const int64_t planes = N * C;
  if (planes <= 0 || L <= 0) return;
  parallel_for(planes, plane_grain(L), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const int64_t s = time_shift_draw(seed, offset, p / C, max_shift);
      // Output samples with a source inside the signal: [ta, tb).
      const int64_t ta = std::clamp<int64_t>(s, 0, L), tb = std::clamp<int64_t>(L + s, 0, L);
      const float* __restrict src = x + p * L;
      float* __restrict o = out + p * L;
      for (int64_t t = 0; t < ta; ++t) o[t] = 0.0f;
#pragma omp simd
      for (int64_t t = ta; t < tb; ++t) o[t] = src[t - s];
      for (int64_t t = std::max(ta, tb); t < L; ++t) o[t] = 0.0f;
    }
  });
}

void random_time_crop(const float* __restrict x, float* __restrict out, int64_t N, int64_t C, int64_t L,
                      double min_scale, double max_scale, uint64_t seed, uint64_t offset) {
  const int64_t planes = N * C;
  if (planes <= 0 || L <= 0) return;
  parallel_for(planes, plane_grain(L), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const TimeCrop c = time_crop_draw(seed, offset, p / C, L, min_scale, max_scale);
      const float* __restrict w = x + p * L + c.start;
      float* __restrict o = out + p * L;
      if (c.len == L) {  // the whole signal (start 0): PyTorch copies when the sizes agree
        std::copy(w, w + L, o);
        continue;
      }
      const float scale = (float)c.len / (float)L;
      for (int64_t t = 0; t < L; ++t) o[t] = time_resample_at(w, c.len, scale, t);
    }
  });
}

void amplitude_scale(const float* x, float* out, int64_t N, int64_t C, int64_t L, double lo, double hi,
                     uint64_t seed, uint64_t offset) {
  const int64_t planes = N * C;
  if (planes <= 0 || L <= 0) return;
  parallel_for(planes, plane_grain(L), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const float g = amplitude_draw(seed, offset, p / C, lo, hi);
      const float* src = x + p * L;
      float* o = out + p * L;
#pragma omp simd
      for (int64_t t = 0; t < L; ++t) o[t] = g * src[t];
    }
  });
}

}  // namespace imix::cpu
