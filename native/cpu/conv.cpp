// 2-d convolution on the CPU (conv1d is its H = 1 case; formulas in
// native/common/kernel_api.h, geometry in kernel_types.h ConvGeom), as
// im2col + gemm, the project's gemm (OpenBLAS when built with it, the
// built-in blocked kernel otherwise).
//
// With P = Ho·Wo output positions per plane and R = C·kh·kw the rows of the
// unrolled input, one sample's im2col is
//   col[r, p] = x̃[n, c, i·sh−ph+u·dh, j·sw−pw+v·dw],   r = (c·kh + u)·kw + v,  p = i·Wo + j
// (x̃: x zero-padded), so the convolution is a matrix product per sample:
//   forward      y[n] [K, P]  = W[K, R]·col + b          (written straight into NCHW)
//   backward     dcol [R, P]  = W[K, R]ᵀ·dy[n]           dx[n] = col2im(dcol)
//    data                                                 (each col entry added back to the
//                                                          input element it was read from)
//    weight      dW [K, R]   (+)= Σ_n dy[n]·colᵀ          db[k] (+)= Σ_{n,p} dy[n,k,p]
//
// Why this shape:
//  - Threads split the batch: S slices of consecutive samples, one per
//    thread, each with its own part of the workspace (its im2col buffer), and
//    each gemm runs single-threaded inside its slice (parallel_for runs
//    nested loops inline, and gemm.cpp's OpenBLAS path makes one
//    single-threaded call), so there is one thread pool and no
//    oversubscription. With one slice (N = 1, or one thread) the loops run
//    outside a parallel region instead, and im2col/col2im split their rows
//    and the gemm splits C over the threads itself.
//  - Small planes (P < kMinCols, a ResNet's last stages) make a thin gemm
//    per sample, so a slice unrolls B = ⌈kMinCols/P⌉ samples side by side,
//    col [R, B·P], and does one gemm per chunk of B samples into a [K, B·P]
//    buffer that is then permuted into NCHW (and dy permuted out of it).
//  - A 1×1, stride-1, unpadded convolution with a large plane needs no
//    im2col: x[n] is [C, P] = [R, P] already.
//  - dW: slice 0 accumulates into dw itself (beta = accumulate ? 1 : 0 on
//    its first gemm), slices 1..S−1 into their own [K, R] partial in the
//    workspace, added into dw afterwards in slice order. db is a separate
//    pass, parallel over channels, accumulated in double.
//
// The workspace: with S_max = min(max_slices(), N) slices and B as above,
//   ws = S_max·(R·B·P [col, 0 on the 1×1 path] + K·B·P [chunk buffer, only when B > 1])
//        + (S_max − 1)·K·R [dW partials]
// floats (one number for the three kernels: the largest need). S_max uses
// max_slices(), the machine's thread count fixed at first use, rather than
// the current num_threads(): a kernel uses S = min(max_slices(),
// num_threads(), N) ≤ S_max slices, so a setNumThreads between the caller's
// workspace query and the call can never make the workspace too small.
//
// Results depend on the thread count only through the order dW's per-slice
// partials are added (deterministic for a given thread count).
#include <algorithm>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "kernels.h"
#include "parallel.h"

namespace imix::cpu {
namespace {

// Gemm columns per chunk below which samples are unrolled side by side.
constexpr int64_t kMinCols = 256;
// Elements per parallel_for chunk below which a loop is not worth a fork.
constexpr int64_t kGrain = 1 << 14;

// The most slices a convolution splits its batch into: the machine's thread
// count, fixed once per process (see the workspace note above).
int64_t max_slices() {
  static const int64_t n = [] {
    int64_t t = (int64_t)std::thread::hardware_concurrency();
#if defined(_OPENMP)
    t = std::max<int64_t>(t, (int64_t)omp_get_max_threads());
#endif
    return std::min<int64_t>(std::max<int64_t>(t, 1), 256);
  }();
  return n;
}

struct Plan {
  int64_t P;       // Ho·Wo
  int64_t R;       // C·kh·kw
  int64_t B;       // samples per chunk (0 when N = 0)
  bool direct;     // 1×1, stride 1, no padding, large plane: col = x[n]
  int64_t col;     // floats of one slice's col buffer
  int64_t chunk;   // floats of one slice's [K, B·P] chunk buffer (B > 1 only)
  int64_t slice;   // col + chunk
};

Plan plan_of(const ConvGeom& g) {
  Plan p;
  p.P = g.Ho * g.Wo;
  p.R = g.C * g.kh * g.kw;
  p.B = g.N <= 0 ? 0 : std::min<int64_t>(g.N, std::max<int64_t>(1, (kMinCols + p.P - 1) / p.P));
  p.direct = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 && p.B <= 1;
  p.col = p.direct ? 0 : p.R * p.B * p.P;
  p.chunk = p.B > 1 ? g.K * p.B * p.P : 0;
  p.slice = p.col + p.chunk;
  return p;
}

// Slices a kernel call uses now (≤ min(max_slices(), N), what ws was sized for).
int64_t slices_now(int64_t N) {
  return std::min<int64_t>({max_slices(), (int64_t)num_threads(), std::max<int64_t>(N, 0)});
}

// fn(s) for each slice s in [0, S), one per thread. An exception inside a
// slice (gemm's packing buffers are allocated on first use) must not leave
// the OpenMP region: the first one is kept and rethrown after it.
template <class F>
void for_slices(int64_t S, F&& fn) {
  if (S <= 0) return;
  if (S == 1) {
    fn((int64_t)0);
    return;
  }
  std::exception_ptr err;
  std::mutex mu;
  parallel_for(S, 1, [&](int64_t b, int64_t e) {
    for (int64_t s = b; s < e; ++s) {
      try {
        fn(s);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!err) err = std::current_exception();
      }
    }
  });
  if (err) std::rethrow_exception(err);
}

// The valid output columns [j0, j1) of a kernel tap whose input column is
// j·s + o: 0 ≤ j·s + o < W.
inline void valid_range(int64_t o, int64_t s, int64_t W, int64_t n_out, int64_t* j0, int64_t* j1) {
  const int64_t lo = o >= 0 ? 0 : (-o + s - 1) / s;      // ⌈−o/s⌉
  const int64_t hi = W - o <= 0 ? 0 : (W - o + s - 1) / s;  // ⌈(W−o)/s⌉
  *j0 = std::min(lo, n_out);
  *j1 = std::max(*j0, std::min(hi, n_out));
}

// col[r·ld + p] for r < R, p < P, from one sample xn [C, H, W].
void im2col(const float* xn, const ConvGeom& g, float* col, int64_t ld) {
  const int64_t R = g.C * g.kh * g.kw, Wo = g.Wo, Ho = g.Ho;
  const int64_t grain = std::max<int64_t>(1, kGrain / (Ho * Wo));
  parallel_for(R, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t v = r % g.kw, u = (r / g.kw) % g.kh, c = r / (g.kw * g.kh);
      const int64_t oh = u * g.dh - g.ph, ow = v * g.dw - g.pw;
      int64_t j0, j1;
      valid_range(ow, g.sw, g.W, Wo, &j0, &j1);
      const float* xc = xn + c * g.H * g.W;
      float* dst = col + r * ld;
      for (int64_t i = 0; i < Ho; ++i, dst += Wo) {
        const int64_t yy = i * g.sh + oh;
        if (yy < 0 || yy >= g.H) {
          std::memset(dst, 0, sizeof(float) * (size_t)Wo);
          continue;
        }
        const float* src = xc + yy * g.W + ow;  // src[j·sw] = x̃[c, yy, j·sw + ow]
        for (int64_t j = 0; j < j0; ++j) dst[j] = 0.0f;
        if (g.sw == 1) {
          std::memcpy(dst + j0, src + j0, sizeof(float) * (size_t)(j1 - j0));
        } else {
          const int64_t sw = g.sw;
          for (int64_t j = j0; j < j1; ++j) dst[j] = src[j * sw];
        }
        for (int64_t j = j1; j < Wo; ++j) dst[j] = 0.0f;
      }
    }
  });
}

// dxn [C, H, W] = col2im(col): zeroed, then each col entry added to the
// input element it was read from, taps (u, v) in ascending order. Split over
// channels (each owns its plane).
void col2im(const float* col, int64_t ld, const ConvGeom& g, float* dxn) {
  const int64_t Wo = g.Wo, Ho = g.Ho, plane = g.H * g.W;
  const int64_t grain = std::max<int64_t>(1, kGrain / (g.kh * g.kw * Ho * Wo + plane));
  parallel_for(g.C, grain, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      float* dc = dxn + c * plane;
      std::memset(dc, 0, sizeof(float) * (size_t)plane);
      for (int64_t u = 0; u < g.kh; ++u)
        for (int64_t v = 0; v < g.kw; ++v) {
          const int64_t oh = u * g.dh - g.ph, ow = v * g.dw - g.pw;
          int64_t j0, j1;
          valid_range(ow, g.sw, g.W, Wo, &j0, &j1);
          const float* src = col + ((c * g.kh + u) * g.kw + v) * ld;
          for (int64_t i = 0; i < Ho; ++i) {
            const int64_t yy = i * g.sh + oh;
            if (yy < 0 || yy >= g.H) continue;
            float* d = dc + yy * g.W + ow;
            const float* s = src + i * Wo;
            if (g.sw == 1) {
#pragma omp simd
              for (int64_t j = j0; j < j1; ++j) d[j] += s[j];
            } else {
              const int64_t sw = g.sw;
              for (int64_t j = j0; j < j1; ++j) d[j * sw] += s[j];
            }
          }
        }
    }
  });
}

// y[s, k, p] = out[k, s·P + p] (+ b[k]) for the Bc samples of a chunk.
void chunk_to_nchw(const float* out, const float* b, float* y, int64_t Bc, int64_t K, int64_t P) {
  for (int64_t s = 0; s < Bc; ++s)
    for (int64_t k = 0; k < K; ++k) {
      const float* __restrict src = out + k * Bc * P + s * P;
      float* __restrict dst = y + (s * K + k) * P;
      const float bk = b ? b[k] : 0.0f;
      if (b) {
#pragma omp simd
        for (int64_t p = 0; p < P; ++p) dst[p] = src[p] + bk;
      } else {
        std::memcpy(dst, src, sizeof(float) * (size_t)P);
      }
    }
}

// out[k, s·P + p] = dy[s, k, p] for the Bc samples of a chunk.
void nchw_to_chunk(const float* dy, float* out, int64_t Bc, int64_t K, int64_t P) {
  for (int64_t s = 0; s < Bc; ++s)
    for (int64_t k = 0; k < K; ++k)
      std::memcpy(out + k * Bc * P + s * P, dy + (s * K + k) * P, sizeof(float) * (size_t)P);
}

// Calls fn(n0, Bc) for the chunks of at most B samples of slice s of S.
template <class F>
void for_chunks(int64_t N, int64_t S, int64_t s, int64_t B, F&& fn) {
  const int64_t n0 = N * s / S, n1 = N * (s + 1) / S;
  for (int64_t n = n0; n < n1; n += B) fn(n, std::min(B, n1 - n));
}

}  // namespace

int64_t conv2d_workspace_floats(const ConvGeom& g) {
  if (g.N <= 0 || g.K <= 0) return 0;
  const Plan p = plan_of(g);
  const int64_t S = std::min<int64_t>(max_slices(), g.N);
  return S * p.slice + (S - 1) * g.K * p.R;
}

void conv2d_forward(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, float* ws) {
  if (g.N <= 0 || g.K <= 0) return;
  const Plan pl = plan_of(g);
  const int64_t P = pl.P, R = pl.R, K = g.K, xs = g.C * g.H * g.W, ys = K * P;
  const int64_t S = slices_now(g.N);
  for_slices(S, [&](int64_t s) {
    float* col = ws + s * pl.slice;
    float* out = col + pl.col;
    for_chunks(g.N, S, s, pl.B, [&](int64_t n0, int64_t Bc) {
      const float* src = x + n0 * xs;
      if (!pl.direct)
        for (int64_t t = 0; t < Bc; ++t) im2col(x + (n0 + t) * xs, g, col + t * P, Bc * P);
      const float* A = pl.direct ? src : col;
      if (Bc == 1) {  // straight into y[n0] [K, P]: bias first, then y += W·col
        float* yn = y + n0 * ys;
        if (b)
          for (int64_t k = 0; k < K; ++k) std::fill(yn + k * P, yn + (k + 1) * P, b[k]);
        gemm(false, false, K, P, R, 1.0f, w, R, A, P, b ? 1.0f : 0.0f, yn, P);
      } else {
        gemm(false, false, K, Bc * P, R, 1.0f, w, R, A, Bc * P, 0.0f, out, Bc * P);
        chunk_to_nchw(out, b, y + n0 * ys, Bc, K, P);
      }
    });
  });
}

void conv2d_backward_data(const float* dy, const float* w, float* dx, const ConvGeom& g, float* ws) {
  const int64_t xs = g.C * g.H * g.W;
  if (g.N <= 0 || xs <= 0) return;
  if (g.K <= 0) {  // no output channels: dx = 0
    parallel_for(g.N * xs, 1 << 16, [&](int64_t b, int64_t e) {
      std::memset(dx + b, 0, sizeof(float) * (size_t)(e - b));
    });
    return;
  }
  const Plan pl = plan_of(g);
  const int64_t P = pl.P, R = pl.R, K = g.K, ys = K * P;
  const int64_t S = slices_now(g.N);
  for_slices(S, [&](int64_t s) {
    float* col = ws + s * pl.slice;
    float* out = col + pl.col;
    for_chunks(g.N, S, s, pl.B, [&](int64_t n0, int64_t Bc) {
      if (pl.direct) {  // dx[n0] [C, P] = Wᵀ·dy[n0]
        gemm(true, false, R, P, K, 1.0f, w, R, dy + n0 * ys, P, 0.0f, dx + n0 * xs, P);
        return;
      }
      const float* D = dy + n0 * ys;
      if (Bc > 1) {
        nchw_to_chunk(D, out, Bc, K, P);
        D = out;
      }
      gemm(true, false, R, Bc * P, K, 1.0f, w, R, D, Bc * P, 0.0f, col, Bc * P);
      for (int64_t t = 0; t < Bc; ++t) col2im(col + t * P, Bc * P, g, dx + (n0 + t) * xs);
    });
  });
}

void conv2d_backward_weight(const float* dy, const float* x, float* dw, float* db, const ConvGeom& g, float* ws,
                            bool accumulate) {
  const int64_t K = g.K;
  if (K <= 0) return;
  const Plan pl = plan_of(g);
  const int64_t P = pl.P, R = pl.R, xs = g.C * g.H * g.W, ys = K * P, KR = K * R;
  const int64_t S = slices_now(g.N);

  // db[k] (+)= Σ_{n,p} dy[n,k,p], in double; parallel over channels.
  if (db) {
    const int64_t per_k = std::max<int64_t>(1, g.N * P);
    parallel_for(K, std::max<int64_t>(1, kGrain / per_k), [&](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k) {
        double acc = 0.0;
        for (int64_t n = 0; n < g.N; ++n) {
          const float* __restrict d = dy + n * ys + k * P;
          double a = 0.0;
#pragma omp simd reduction(+ : a)
          for (int64_t p = 0; p < P; ++p) a += (double)d[p];
          acc += a;
        }
        db[k] = accumulate ? (float)((double)db[k] + acc) : (float)acc;
      }
    });
  }

  if (g.N <= 0) {  // no samples: dW (+)= 0
    if (!accumulate) std::fill(dw, dw + KR, 0.0f);
    return;
  }
  float* partials = ws + S * pl.slice;  // slices 1..S−1: [K, R] each
  for_slices(S, [&](int64_t s) {
    float* col = ws + s * pl.slice;
    float* out = col + pl.col;
    float* target = s == 0 ? dw : partials + (s - 1) * KR;
    float beta = s == 0 && accumulate ? 1.0f : 0.0f;
    for_chunks(g.N, S, s, pl.B, [&](int64_t n0, int64_t Bc) {
      const float* X = x + n0 * xs;  // [R, P] on the 1×1 path
      if (!pl.direct) {
        for (int64_t t = 0; t < Bc; ++t) im2col(x + (n0 + t) * xs, g, col + t * P, Bc * P);
        X = col;
      }
      const float* D = dy + n0 * ys;
      if (Bc > 1) {
        nchw_to_chunk(D, out, Bc, K, P);
        D = out;
      }
      // target [K, R] (+)= D [K, Bc·P] · X [R, Bc·P]ᵀ
      gemm(false, true, K, R, Bc * P, 1.0f, D, Bc * P, X, Bc * P, beta, target, R);
      beta = 1.0f;
    });
  });
  if (S > 1) {
    parallel_for(KR, 1 << 14, [&](int64_t i0, int64_t i1) {
      for (int64_t s = 1; s < S; ++s) {
        const float* __restrict p = partials + (s - 1) * KR;
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) dw[i] += p[i];
      }
    });
  }
}

}  // namespace imix::cpu
