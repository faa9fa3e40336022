// Pooling on the CPU (formulas in native/common/kernel_api.h, geometry in
// kernel_types.h PoolGeom). Threads split the N·C planes; each plane is one
// thread's, so the backward scatter needs no atomics.
//  max-pool forward   per output, its window's in-image positions in
//                     row-major order (padding is −∞, so it is skipped):
//                     y = the maximum, argmax = its flat in-plane index y·W + x.
//                     PyTorch's rule: replace when v > max or v is NaN, so the
//                     first maximum wins a tie and a NaN is a maximum; a
//                     window of −∞ keeps its first in-image position. (The
//                     CUDA kernel applies the same rule, so both agree.)
//  max-pool backward  dx = 0, then dx[argmax] += dy over the outputs in
//                     row-major order (overlapping windows add).
//  global average     y[p] = (Σ_s x[p,s] in double) / S;  dx[p,s] = dy[p] / S.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels.h"
#include "parallel.h"

namespace imix::cpu {
namespace {
constexpr int64_t kGrain = 1 << 15;  // elements of work per thread chunk worth a fork

int64_t plane_grain(int64_t work_per_plane) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(1, work_per_plane)); }
}  // namespace

void maxpool2d_forward(const float* x, float* y, int32_t* argmax, const PoolGeom& g) {
  const int64_t planes = g.N * g.C, oplane = g.Ho * g.Wo, iplane = g.H * g.W;
  if (planes <= 0 || oplane <= 0) return;
  parallel_for(planes, plane_grain(oplane * g.kh * g.kw), [&](int64_t p0, int64_t p1) {
    for (int64_t pl = p0; pl < p1; ++pl) {
      const float* xp = x + pl * iplane;
      float* yp = y + pl * oplane;
      int32_t* ap = argmax + pl * oplane;
      for (int64_t i = 0; i < g.Ho; ++i) {
        const int64_t y0 = i * g.sh - g.ph;
        const int64_t ya = std::max<int64_t>(y0, 0), yb = std::min<int64_t>(y0 + g.kh, g.H);
        for (int64_t j = 0; j < g.Wo; ++j) {
          const int64_t x0 = j * g.sw - g.pw;
          const int64_t xa = std::max<int64_t>(x0, 0), xb = std::min<int64_t>(x0 + g.kw, g.W);
          float m = -INFINITY;
          int64_t am = ya * g.W + xa;
          for (int64_t yy = ya; yy < yb; ++yy) {
            const float* row = xp + yy * g.W;
            for (int64_t xx = xa; xx < xb; ++xx) {
              const float v = row[xx];
              if (v > m || std::isnan(v)) {
                m = v;
                am = yy * g.W + xx;
              }
            }
          }
          yp[i * g.Wo + j] = m;
          ap[i * g.Wo + j] = (int32_t)am;
        }
      }
    }
  });
}

void maxpool2d_backward(const float* dy, const int32_t* argmax, float* dx, const PoolGeom& g) {
  const int64_t planes = g.N * g.C, oplane = g.Ho * g.Wo, iplane = g.H * g.W;
  if (planes <= 0 || iplane <= 0) return;
  parallel_for(planes, plane_grain(oplane + iplane), [&](int64_t p0, int64_t p1) {
    for (int64_t pl = p0; pl < p1; ++pl) {
      float* dp = dx + pl * iplane;
      const float* gp = dy + pl * oplane;
      const int32_t* ap = argmax + pl * oplane;
      std::memset(dp, 0, sizeof(float) * (size_t)iplane);
      for (int64_t o = 0; o < oplane; ++o) dp[ap[o]] += gp[o];
    }
  });
}

void avgpool_global_forward(const float* x, float* y, int64_t P, int64_t S) {
  if (P <= 0 || S <= 0) return;
  parallel_for(P, plane_grain(S), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* __restrict xp = x + p * S;
      double acc = 0.0;
#pragma omp simd reduction(+ : acc)
      for (int64_t s = 0; s < S; ++s) acc += (double)xp[s];
      y[p] = (float)(acc / (double)S);
    }
  });
}

void avgpool_global_backward(const float* dy, float* dx, int64_t P, int64_t S) {
  if (P <= 0 || S <= 0) return;
  const float fs = (float)S;
  parallel_for(P, plane_grain(S), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float v = dy[p] / fs;
      std::fill(dx + p * S, dx + (p + 1) * S, v);
    }
  });
}

}  // namespace imix::cpu
