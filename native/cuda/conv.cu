// 2-d convolution on the GPU (conv1d is its H = 1 case; formulas in
// native/common/kernel_api.h, geometry in kernel_types.h ConvGeom).
//
// im2col + gemm, over chunks of S samples so the workspace stays bounded.
// With P = Ho·Wo output positions per plane and R = C·kh·kw (the rows of the
// unrolled input), the caller's workspace ws holds, for one chunk of S
// samples (the last chunk may be shorter, Sc ≤ S, and is laid out with Sc):
//   col [R, Sc·P]   col[(c·kh + u)·kw + v, s·P + i·Wo + j] = x̃[n0+s, c, i·sh−ph+u·dh, j·sw−pw+v·dw]
//   out [K, Sc·P]   the gemm's result, channel-major over the chunk
// so one gemm covers the whole chunk (efficient even when P is small, as in
// a ResNet's last stage), and a permute moves [K, Sc, P] to/from NCHW [Sc, K, P].
//
//   forward      col = im2col(x);  out = W[K,R]·col;  y[n0+s,k,p] = out[k, s·P+p] + b[k]
//   backward     out = dy permuted to [K, Sc·P];
//    data        col = W[K,R]ᵀ·out;  dx = col2im(col), a gather: each dx element sums
//                the col entries that read it (u, v ascending), so there are no
//                atomics and the result is deterministic
//    weight      col = im2col(x);  dW (+)= out·colᵀ  (gemm NT; beta 0 on the first
//                chunk unless accumulate, then 1);  db (+)= Σ_{n,p} dy[n,k,p], one block
//                per channel, double accumulation in a fixed order
// A 1×1 convolution with stride 1 and no padding whose plane is large reads x
// as col directly (x[n] is [C, P] = [R, P]): one gemm per sample, no workspace:
//   y[n] = W·x[n],  dx[n] = Wᵀ·dy[n],  dW (+)= Σ_n dy[n]·x[n]ᵀ.
// The gemm is the backend's (cuBLAS when loaded, else the tiled kernel).
// Nothing is allocated here: the chunk size S is fixed by the geometry, and
// conv2d_workspace_floats tells the caller how much to hold.
#include "common.cuh"
#include "kernels.h"

namespace imix::cuda {
namespace {

// Workspace budget in floats: S is the largest chunk whose col + out fit
// (at least one sample). 16 Mi floats = 64 MiB. The emulated tests build
// with tiny grid caps and a tiny budget, so their small inputs run several
// chunks, the last one short.
#ifdef IMIX_CUDA_TEST_GRID_CAP
constexpr int64_t kWsBudget = 512;
#else
constexpr int64_t kWsBudget = int64_t{1} << 24;
#endif
// A 1×1/stride-1/pad-0 convolution skips im2col when its plane has at least
// this many positions (a gemm per sample is then large enough to be
// efficient; smaller planes go through the chunked path).
constexpr int64_t kDirectMinPlane = 256;

struct Plan {
  int64_t P;       // Ho·Wo
  int64_t R;       // C·kh·kw
  int64_t S;       // samples per chunk (0 when N = 0)
  bool direct;     // 1×1, stride 1, no padding, large plane: no im2col
};

Plan plan_of(const ConvGeom& g) {
  Plan p;
  p.P = g.Ho * g.Wo;
  p.R = g.C * g.kh * g.kw;
  p.direct = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 && p.P >= kDirectMinPlane;
  const int64_t per = p.P * (p.R + g.K);  // col + out floats per sample
  int64_t s = per > 0 ? kWsBudget / per : g.N;
  if (s < 1) s = 1;
  if (s > g.N) s = g.N;
  p.S = s;
  return p;
}

#define IMIX_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

// The index arithmetic of the layout kernels below (several divisions per
// element) runs in I: int when every index of the chunk fits in 31 bits (the
// common case; 32-bit division is several times cheaper on a GPU), else int64_t.

// col[r, s·P + p] for the Sc samples starting at x (x is sample n0).
template <class I>
__global__ void im2col_kernel(const float* __restrict x, float* __restrict col, ConvGeom g, int64_t Sc) {
  const I H = (I)g.H, W = (I)g.W, C = (I)g.C, kh = (I)g.kh, kw = (I)g.kw, Wo = (I)g.Wo;
  const I P = (I)(g.Ho * g.Wo), cols = (I)Sc * P;
  const int64_t total = (int64_t)C * kh * kw * cols;
  IMIX_GRID_STRIDE(e64, total) {
    const I e = (I)e64;
    const I r = e / cols, q = e - r * cols;
    const I s = q / P, p = q - s * P;
    const I i = p / Wo, j = p - i * Wo;
    const I rk = r / kw, v = r - rk * kw;
    const I c = rk / kh, u = rk - c * kh;
    const I yy = i * (I)g.sh - (I)g.ph + u * (I)g.dh, xx = j * (I)g.sw - (I)g.pw + v * (I)g.dw;
    float val = 0.0f;
    if (yy >= 0 && yy < H && xx >= 0 && xx < W) val = x[((s * C + c) * H + yy) * W + xx];
    col[e] = val;
  }
}

// The transposed im2col, as a gather: dx[s,c,yy,xx] = Σ over the (u, v) and
// output positions (i, j) with yy = i·sh−ph+u·dh, xx = j·sw−pw+v·dw of
// col[(c·kh+u)·kw+v, s·P + i·Wo + j], u then v ascending (overwrites dx).
template <class I>
__global__ void col2im_kernel(const float* __restrict col, float* __restrict dx, ConvGeom g, int64_t Sc) {
  const I H = (I)g.H, W = (I)g.W, C = (I)g.C, kh = (I)g.kh, kw = (I)g.kw, Ho = (I)g.Ho, Wo = (I)g.Wo;
  const I sh = (I)g.sh, sw = (I)g.sw, ph = (I)g.ph, pw = (I)g.pw, dh = (I)g.dh, dw = (I)g.dw;
  const I P = Ho * Wo, cols = (I)Sc * P, plane = H * W;
  const int64_t total = Sc * g.C * g.H * g.W;
  IMIX_GRID_STRIDE(e64, total) {
    const I e = (I)e64;
    const I sc = e / plane, pix = e - sc * plane;
    const I s = sc / C, c = sc - s * C;
    const I yy = pix / W, xx = pix - yy * W;
    float acc = 0.0f;
    for (I u = 0; u < kh; ++u) {
      const I ty = yy + ph - u * dh;  // = i·sh
      if (ty < 0) break;              // and for every larger u
      const I i = ty / sh;
      if (i * sh != ty || i >= Ho) continue;
      for (I v = 0; v < kw; ++v) {
        const I tx = xx + pw - v * dw;  // = j·sw
        if (tx < 0) break;
        const I j = tx / sw;
        if (j * sw != tx || j >= Wo) continue;
        acc += col[((c * kh + u) * kw + v) * cols + s * P + i * Wo + j];
      }
    }
    dx[e] = acc;
  }
}

// y[s,k,p] = out[k, s·P + p] (+ b[k]) for Sc samples (y points at sample n0).
template <class I>
__global__ void chunk_to_nchw(const float* __restrict out, const float* __restrict b, float* __restrict y,
                              int64_t Sc, int64_t K, int64_t P) {
  const I Si = (I)Sc, Ki = (I)K, Pi = (I)P;
  const int64_t total = Sc * K * P;
  IMIX_GRID_STRIDE(e64, total) {
    const I e = (I)e64;
    const I sk = e / Pi, p = e - sk * Pi;
    const I s = sk / Ki, k = sk - s * Ki;
    const float v = out[(k * Si + s) * Pi + p];
    y[e] = b ? v + b[k] : v;
  }
}

// out[k, s·P + p] = dy[s,k,p] for Sc samples (dy points at sample n0).
template <class I>
__global__ void nchw_to_chunk(const float* __restrict dy, float* __restrict out, int64_t Sc, int64_t K, int64_t P) {
  const I Ki = (I)K, Pi = (I)P, cols = (I)(Sc * P);
  const int64_t total = Sc * K * P;
  IMIX_GRID_STRIDE(e64, total) {
    const I e = (I)e64;
    const I k = e / cols, q = e - k * cols;
    const I s = q / Pi, p = q - s * Pi;
    out[e] = dy[(s * Ki + k) * Pi + p];
  }
}

// y[n,k,p] += b[k] over y[N, K, P]: element e's channel k = (e / P) mod K
// followed by additions (ChannelWalk, common.cuh), not divided out per element.
__global__ void bias_add_nchw(float* __restrict y, const float* __restrict b, int64_t N, int64_t K, int64_t P) {
  const int64_t total = N * K * P;
  for (ChannelWalk w(P, K); w.q() < total; w.next()) y[w.q()] += b[w.ch];
}

// db[k] (+)= Σ_{n,p} dy[n,k,p]: one block per channel (grid-stride over
// channels), each thread a fixed strided subset of the N·P values in double,
// then the block's fixed reduction tree. A thread follows its value
// m = n·P + p as (n, p) by additions (RowColWalk), no division per value.
__global__ void conv_bias_grad(const float* __restrict dy, float* __restrict db, int64_t N, int64_t K, int64_t P,
                               bool accumulate) {
  __shared__ double sh[32];
  const int64_t M = N * P;
  for (int64_t k = blockIdx.x; k < K; k += gridDim.x) {
    double acc = 0.0;
    for (RowColWalk w(threadIdx.x, (int32_t)blockDim.x, P); w.q < M; w.next())
      acc += (double)dy[(w.r * K + k) * P + w.c];
    acc = block_sum(acc, sh);
    if (threadIdx.x == 0) db[k] = accumulate ? (float)((double)db[k] + acc) : (float)acc;
  }
}

__global__ void fill_zero(float* __restrict p, int64_t n) {
  IMIX_GRID_STRIDE(i, n) p[i] = 0.0f;
}

// Whether every index of a chunk of Sc samples fits in an int: the col and out
// arrays, and the chunk's part of x/dx and y/dy.
// The emulated tests lower the limit, so their small inputs take both paths.
#ifdef IMIX_CUDA_TEST_GRID_CAP
constexpr int64_t kInt32Limit = 400;
#else
constexpr int64_t kInt32Limit = INT32_MAX;
#endif
bool small_chunk(const ConvGeom& g, int64_t Sc) {
  const int64_t cols = Sc * g.Ho * g.Wo, lim = kInt32Limit;
  return g.C * g.kh * g.kw * cols <= lim && g.K * cols <= lim && Sc * g.C * g.H * g.W <= lim;
}

void im2col(const float* x, float* col, const ConvGeom& g, int64_t Sc, const char* what) {
  const int64_t n = g.C * g.kh * g.kw * Sc * g.Ho * g.Wo;
  if (small_chunk(g, Sc)) im2col_kernel<int><<<blocks_for(n), kThreads, 0, stream()>>>(x, col, g, Sc);
  else im2col_kernel<int64_t><<<blocks_for(n), kThreads, 0, stream()>>>(x, col, g, Sc);
  IMIX_CUDA_LAUNCHED(what);
}

void col2im(const float* col, float* dx, const ConvGeom& g, int64_t Sc, const char* what) {
  const int64_t n = Sc * g.C * g.H * g.W;
  if (small_chunk(g, Sc)) col2im_kernel<int><<<blocks_for(n), kThreads, 0, stream()>>>(col, dx, g, Sc);
  else col2im_kernel<int64_t><<<blocks_for(n), kThreads, 0, stream()>>>(col, dx, g, Sc);
  IMIX_CUDA_LAUNCHED(what);
}

void to_nchw(const float* out, const float* b, float* y, const ConvGeom& g, int64_t Sc, const char* what) {
  const int64_t P = g.Ho * g.Wo, n = Sc * g.K * P;
  if (small_chunk(g, Sc)) chunk_to_nchw<int><<<blocks_for(n), kThreads, 0, stream()>>>(out, b, y, Sc, g.K, P);
  else chunk_to_nchw<int64_t><<<blocks_for(n), kThreads, 0, stream()>>>(out, b, y, Sc, g.K, P);
  IMIX_CUDA_LAUNCHED(what);
}

void to_chunk(const float* dy, float* out, const ConvGeom& g, int64_t Sc, const char* what) {
  const int64_t P = g.Ho * g.Wo, n = Sc * g.K * P;
  if (small_chunk(g, Sc)) nchw_to_chunk<int><<<blocks_for(n), kThreads, 0, stream()>>>(dy, out, Sc, g.K, P);
  else nchw_to_chunk<int64_t><<<blocks_for(n), kThreads, 0, stream()>>>(dy, out, Sc, g.K, P);
  IMIX_CUDA_LAUNCHED(what);
}

void zero(float* p, int64_t n, const char* what) {
  if (!p || n <= 0) return;
  fill_zero<<<blocks_for(n), kThreads, 0, stream()>>>(p, n);
  IMIX_CUDA_LAUNCHED(what);
}

}  // namespace

int64_t conv2d_workspace_floats(const ConvGeom& g) {
  const Plan p = plan_of(g);
  if (p.direct || g.N <= 0) return 0;
  return p.S * p.P * (p.R + g.K);
}

void conv2d_forward(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, float* ws) {
  if (g.N <= 0 || g.K <= 0) return;
  const Plan pl = plan_of(g);
  const int64_t P = pl.P, R = pl.R, K = g.K;
  cudaStream_t st = stream();
  if (pl.direct) {  // y[n] = W[K,C]·x[n][C,P]
    for (int64_t n = 0; n < g.N; ++n)
      gemm(false, false, K, P, R, 1.0f, w, R, x + n * g.C * g.H * g.W, P, 0.0f, y + n * K * P, P);
    if (b) {
      bias_add_nchw<<<blocks_for(g.N * K * P), kThreads, 0, st>>>(y, b, g.N, K, P);
      IMIX_CUDA_LAUNCHED("conv2d_forward (bias)");
    }
    return;
  }
  float* col = ws;
  float* out = ws + pl.S * P * R;
  for (int64_t n0 = 0; n0 < g.N; n0 += pl.S) {
    const int64_t Sc = g.N - n0 < pl.S ? g.N - n0 : pl.S, cols = Sc * P;
    im2col(x + n0 * g.C * g.H * g.W, col, g, Sc, "conv2d_forward (im2col)");
    gemm(false, false, K, cols, R, 1.0f, w, R, col, cols, 0.0f, out, cols);  // out = W·col
    to_nchw(out, b, y + n0 * K * P, g, Sc, "conv2d_forward");
  }
}

void conv2d_backward_data(const float* dy, const float* w, float* dx, const ConvGeom& g, float* ws) {
  if (g.N <= 0 || g.C <= 0) return;
  const Plan pl = plan_of(g);
  const int64_t P = pl.P, R = pl.R, K = g.K, in_plane = g.H * g.W;
  if (K <= 0) {  // an empty sum
    zero(dx, g.N * g.C * in_plane, "conv2d_backward_data (zero)");
    return;
  }
  if (pl.direct) {  // dx[n] = W[K,C]ᵀ·dy[n][K,P]
    for (int64_t n = 0; n < g.N; ++n)
      gemm(true, false, R, P, K, 1.0f, w, R, dy + n * K * P, P, 0.0f, dx + n * g.C * in_plane, P);
    return;
  }
  float* col = ws;
  float* out = ws + pl.S * P * R;
  for (int64_t n0 = 0; n0 < g.N; n0 += pl.S) {
    const int64_t Sc = g.N - n0 < pl.S ? g.N - n0 : pl.S, cols = Sc * P;
    to_chunk(dy + n0 * K * P, out, g, Sc, "conv2d_backward_data (permute)");
    gemm(true, false, R, cols, K, 1.0f, w, R, out, cols, 0.0f, col, cols);  // col = Wᵀ·dy
    col2im(col, dx + n0 * g.C * in_plane, g, Sc, "conv2d_backward_data");
  }
}

void conv2d_backward_weight(const float* dy, const float* x, float* dw, float* db, const ConvGeom& g, float* ws,
                            bool accumulate) {
  if (g.K <= 0) return;
  const Plan pl = plan_of(g);
  const int64_t P = pl.P, R = pl.R, K = g.K, in_plane = g.H * g.W;
  cudaStream_t st = stream();
  if (g.N <= 0) {  // empty sums: overwrite with 0, or leave as they are
    if (!accumulate) {
      zero(dw, K * R, "conv2d_backward_weight (zero)");
      zero(db, K, "conv2d_backward_weight (zero db)");
    }
    return;
  }
  if (db) {
    conv_bias_grad<<<blocks_for(K, 1, kMaxRowGrid), kThreads, 0, st>>>(dy, db, g.N, K, P, accumulate);
    IMIX_CUDA_LAUNCHED("conv2d_backward_weight (bias)");
  }
  if (R <= 0) return;
  if (pl.direct) {  // dW (+)= Σ_n dy[n][K,P]·x[n][C,P]ᵀ, samples in order
    for (int64_t n = 0; n < g.N; ++n)
      gemm(false, true, K, R, P, 1.0f, dy + n * K * P, P, x + n * g.C * in_plane, P,
           (accumulate || n > 0) ? 1.0f : 0.0f, dw, R);
    return;
  }
  float* col = ws;
  float* out = ws + pl.S * P * R;
  for (int64_t n0 = 0; n0 < g.N; n0 += pl.S) {
    const int64_t Sc = g.N - n0 < pl.S ? g.N - n0 : pl.S, cols = Sc * P;
    to_chunk(dy + n0 * K * P, out, g, Sc, "conv2d_backward_weight (permute)");
    im2col(x + n0 * g.C * in_plane, col, g, Sc, "conv2d_backward_weight (im2col)");
    // dW (+)= dy_chunk[K, cols]·col[R, cols]ᵀ
    gemm(false, true, K, R, cols, 1.0f, out, cols, col, cols, (accumulate || n0 > 0) ? 1.0f : 0.0f, dw, R);
  }
}

}  // namespace imix::cuda
