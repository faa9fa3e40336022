// The encoder's linear-layer building blocks, on top of gemm:
//   forward   y[N,out] = x[N,in]·W[out,in]ᵀ + b          (gemm NT, then bias_add)
//   backward  dx = dy·W                                   (gemm NN, dx nullable)
//             dW (+)= dyᵀ·x                               (gemm TN, beta 0 or 1)
//             db (+)= Σ_rows dy                           (bias_grad)
//   bias_add  y[i,c] += b[c]
//   relu      y = max(x, 0);  dx = dy·[y > 0]
// W is stored [out, in] like PyTorch's nn.Linear, so the transposes are the
// gemm flags and nothing is copied. linear_forward_bf16/linear_backward_bf16
// (cpu_api.h) are the same compositions over gemm_bf16 (gemm_bf16.cpp): the
// three products in bf16, the bias and its gradient in fp32 as here. The elementwise loops are plain
// vectorizable loops split over threads (parallel_for) once they are long
// enough to pay for a fork. bias_grad sums columns over the N rows in double
// (a batch can be long) with a row-major sweep, so every load is contiguous.
#include <algorithm>
#include <vector>

#include "kernels.h"
#include "parallel.h"

namespace imix::cpu {

namespace {
constexpr int64_t kGrain = 1 << 15;  // elements per thread below which a loop stays serial

using GemmFn = void (*)(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                        float, float*, int64_t);

void forward_with(GemmFn mm, const float* x, const float* W, const float* b, float* y, int64_t N, int64_t in,
                  int64_t out) {
  mm(false, true, N, out, in, 1.0f, x, in, W, in, 0.0f, y, out);
  if (b) bias_add(y, b, N, out);
}

void backward_with(GemmFn mm, const float* x, const float* W, const float* dy, float* dx, float* dW, float* db,
                   int64_t N, int64_t in, int64_t out, bool accumulate) {
  if (dx) mm(false, false, N, in, out, 1.0f, dy, out, W, in, 0.0f, dx, in);
  mm(true, false, out, in, N, 1.0f, dy, out, x, in, accumulate ? 1.0f : 0.0f, dW, in);
  if (db) bias_grad(dy, db, N, out, accumulate);
}
}  // namespace

void linear_forward(const float* x, const float* W, const float* b, float* y, int64_t N, int64_t in,
                    int64_t out) {
  forward_with(gemm, x, W, b, y, N, in, out);
}
void linear_forward_bf16(const float* x, const float* W, const float* b, float* y, int64_t N, int64_t in,
                         int64_t out) {
  forward_with(gemm_bf16, x, W, b, y, N, in, out);
}

void linear_backward(const float* x, const float* W, const float* dy, float* dx, float* dW, float* db,
                     int64_t N, int64_t in, int64_t out, bool accumulate) {
  backward_with(gemm, x, W, dy, dx, dW, db, N, in, out, accumulate);
}
void linear_backward_bf16(const float* x, const float* W, const float* dy, float* dx, float* dW, float* db,
                          int64_t N, int64_t in, int64_t out, bool accumulate) {
  backward_with(gemm_bf16, x, W, dy, dx, dW, db, N, in, out, accumulate);
}

void bias_add(float* y, const float* b, int64_t N, int64_t C) {
  if (N <= 0 || C <= 0) return;
  const int64_t grain = C >= kGrain ? 1 : kGrain / C;  // rows per chunk
  parallel_for(N, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      float* __restrict yr = y + i * C;
      const float* __restrict bb = b;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) yr[c] += bb[c];
    }
  });
}

void bias_grad(const float* dy, float* db, int64_t N, int64_t C, bool accumulate) {
  if (C <= 0) return;
  // Split the columns over threads when there are enough of them; each
  // chunk sweeps all rows, accumulating its columns in double.
  const int64_t work_per_col = N > 0 ? N : 1;
  const int64_t grain = std::max<int64_t>(64, kGrain / work_per_col);
  parallel_for(C, grain, [&](int64_t c0, int64_t c1) {
    const int64_t w = c1 - c0;
    std::vector<double> acc((size_t)w, 0.0);
    double* __restrict a = acc.data();
    for (int64_t i = 0; i < N; ++i) {
      const float* __restrict r = dy + i * C + c0;
#pragma omp simd
      for (int64_t c = 0; c < w; ++c) a[c] += (double)r[c];
    }
    float* __restrict d = db + c0;
    if (accumulate) {
      for (int64_t c = 0; c < w; ++c) d[c] = (float)((double)d[c] + a[c]);
    } else {
      for (int64_t c = 0; c < w; ++c) d[c] = (float)a[c];
    }
  });
}

// max(x, 0) written as x < 0 ? 0 : x, so a NaN input stays NaN (as PyTorch's
// relu does) instead of being silently zeroed. y may alias x (same index).
void relu_forward(const float* x, float* y, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
  });
}

// dx may alias dy (same index). dy[i] is loaded unconditionally so the
// select vectorizes into a blend; `y > 0 ? dy[i] : 0` made the load
// conditional, and GCC kept a scalar loop with a mispredicted branch per
// element (40x slower on random signs).
void relu_backward(const float* dy, const float* y, float* dx, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) {
      const float g = dy[i];
      dx[i] = y[i] > 0.0f ? g : 0.0f;
    }
  });
}

}  // namespace imix::cpu
