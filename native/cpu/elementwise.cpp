// Glue kernels between the big ones: axpby, row-wise dot products (MoCo's
// positive logits), their backward, maxout (the tabular encoder's last
// layer), row gathers (batching), a double-accumulated sum, and the
// residual join of a BasicBlock (add_relu_forward).
#include <cstring>

#include "../common/maxout.h"
#include "kernels.h"
#include "parallel.h"

namespace imix::cpu {

// x may be y (in place): no __restrict; `omp simd` holds (element i needs element i only).
void axpby(float a, const float* x, float b, float* y, int64_t n) {
  parallel_for(n, 1 << 16, [&](int64_t s, int64_t e) {
    if (b == 0.0f) {
#pragma omp simd
      for (int64_t i = s; i < e; ++i) y[i] = a * x[i];
    } else {
#pragma omp simd
      for (int64_t i = s; i < e; ++i) y[i] = a * x[i] + b * y[i];
    }
  });
}

void rowdot(const float* a, const float* b, float* out, int64_t out_stride, int64_t N, int64_t D, float alpha) {
  parallel_for(N, (1 << 14) / (D + 1) + 1, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) {
      const float* __restrict ai = a + i * D;
      const float* __restrict bi = b + i * D;
      float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
      for (int64_t d = 0; d < D; ++d) acc += ai[d] * bi[d];
      out[i * out_stride] = alpha * acc;
    }
  });
}

void row_scale_add(float* y, const float* s, int64_t s_stride, const float* x, int64_t N, int64_t D,
                   float alpha) {
  parallel_for(N, (1 << 14) / (D + 1) + 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float c = alpha * s[i * s_stride];
      float* __restrict yi = y + i * D;
      const float* __restrict xi = x + i * D;
#pragma omp simd
      for (int64_t d = 0; d < D; ++d) yi[d] += c * xi[d];
    }
  });
}

void maxout_forward(const float* x, float* y, int32_t* argmax, int64_t N, int64_t F, int64_t k) {
  parallel_for(N, (1 << 14) / (F * k + 1) + 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      for (int64_t f = 0; f < F; ++f) maxout_group(x + (i * F + f) * k, k, y + i * F + f, argmax + i * F + f);
  });
}

void maxout_backward(const float* dy, const int32_t* argmax, float* dx, int64_t N, int64_t F, int64_t k) {
  parallel_for(N, (1 << 14) / (F * k + 1) + 1, [&](int64_t b, int64_t e) {
    std::memset(dx + b * F * k, 0, (size_t)((e - b) * F * k) * sizeof(float));
    for (int64_t i = b; i < e; ++i)
      for (int64_t f = 0; f < F; ++f) dx[(i * F + f) * k + argmax[i * F + f]] = dy[i * F + f];
  });
}

void gather_rows(const float* src, const int32_t* idx, float* out, int64_t B, int64_t F) {
  parallel_for(B, (1 << 15) / (F + 1) + 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) std::memcpy(out + i * F, src + (int64_t)idx[i] * F, (size_t)F * sizeof(float));
  });
}

double sum(const float* x, int64_t n) {
  // Blocks of float partial sums (vectorized), combined in double.
  double total = 0.0;
  const int64_t blk = 4096;
  for (int64_t b = 0; b < n; b += blk) {
    int64_t e = b + blk < n ? b + blk : n;
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
    for (int64_t i = b; i < e; ++i) acc += x[i];
    total += acc;
  }
  return total;
}

// y = max(a + b, 0), written as v < 0 ? 0 : v so a NaN stays NaN (as
// relu_forward). y may be a or b (same index): no __restrict.
void add_relu_forward(const float* a, const float* b, float* y, int64_t n) {
  parallel_for(n, 1 << 15, [&](int64_t s, int64_t e) {
#pragma omp simd
    for (int64_t i = s; i < e; ++i) {
      const float v = a[i] + b[i];
      y[i] = v < 0.0f ? 0.0f : v;
    }
  });
}

}  // namespace imix::cpu
