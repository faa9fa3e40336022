// BatchNorm1d on x[N,C], row-major; statistics per column c over the N rows.
//   train: μ_c = Σ_i x_ic / N;  σ²_c = Σ_i (x_ic − μ_c)² / N  (biased)
//          y = γ·(x − μ)·invstd + β,  invstd = 1/sqrt(σ² + eps)
//          running: r ← (1−m)·r + m·stat, with the unbiased N/(N−1)·σ² for r_var
//   eval:  y = γ·(x − r_mean)/sqrt(r_var + eps) + β
//   bwd:   dβ = Σ dy; dγ = Σ dy·x̂; dx = γ·invstd·(dy − dβ/N − x̂·dγ/N)
//
// Shape of the implementation: a column statistic is a reduction across rows,
// i.e. with stride C. Walking a column would touch one float per cache line, so
// every reduction walks rows instead and accumulates into a vector of C
// per-column accumulators: the inner loop runs along a row (contiguous, vectorized
// along C). Accumulators are double, and the variance is two-pass (mean first,
// then the centred sum of squares), so neither a large N nor a large mean/std
// ratio loses precision. Columns are tiled (kColTile doubles = 4 KB of
// accumulators stay in L1 while the rows stream past). Threads split the rows;
// each chunk owns a private accumulator vector and the partials are summed in
// chunk order afterwards (deterministic, and the same at any thread count: chunks by machine_threads()). The output
// passes are elementwise with per-column coefficients, parallel over rows.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"
#include "parallel.h"

namespace imix::cpu {
namespace {

constexpr int64_t kColTile = 512;       // columns per accumulator tile
constexpr int64_t kMinWork = 1 << 15;   // elements per thread chunk worth a fork

// How many row chunks a reduction over x[N,C] splits into: by the machine's
// thread count, not the current one, so the sums do not depend on it.
int64_t row_chunks(int64_t N, int64_t C) {
  int64_t by_work = (N * C) / kMinWork;
  int64_t ch = std::min<int64_t>(machine_threads(), N);
  ch = std::min<int64_t>(ch, by_work);
  return ch < 1 ? 1 : ch;
}

// out[0..K·C) = Σ over row chunks of body(r0, r1, acc), where acc is a zeroed
// K·C vector of doubles private to the chunk (K accumulators per column).
template <class Body>
void column_reduce(int64_t N, int64_t C, int64_t K, double* out, Body&& body) {
  const int64_t KC = K * C;
  std::fill(out, out + KC, 0.0);
  int64_t nch = row_chunks(N, C);
  if (nch <= 1) {
    body((int64_t)0, N, out);
    return;
  }
  std::vector<double> part((size_t)(nch * KC), 0.0);
  parallel_for(nch, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) body(N * c / nch, N * (c + 1) / nch, part.data() + c * KC);
  });
  for (int64_t c = 0; c < nch; ++c) {
    const double* p = part.data() + c * KC;
#pragma omp simd
    for (int64_t j = 0; j < KC; ++j) out[j] += p[j];
  }
}

// Elementwise pass over rows, parallel over row blocks.
template <class Row>
void for_rows(int64_t N, int64_t C, Row&& row) {
  int64_t grain = C > 0 ? std::max<int64_t>(1, kMinWork / C) : N;
  parallel_for(N, grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) row(i);
  });
}

// out[c] = Σ_i term(x_ic, c) in double, column-tiled over row chunks.
template <class Term>
void column_sum(const float* __restrict x, int64_t N, int64_t C, double* out, Term&& term) {
  column_reduce(N, C, 1, out, [&](int64_t r0, int64_t r1, double* __restrict acc) {
    for (int64_t c0 = 0; c0 < C; c0 += kColTile) {
      int64_t c1 = std::min(C, c0 + kColTile);
      for (int64_t i = r0; i < r1; ++i) {
        const float* __restrict xr = x + i * C;
#pragma omp simd
        for (int64_t c = c0; c < c1; ++c) acc[c] += term(xr[c], c);
      }
    }
  });
}

// mean[c] (double) and the biased variance var[c] (double) of x's columns.
void column_moments(const float* __restrict x, int64_t N, int64_t C, double* mean, double* var) {
  column_sum(x, N, C, mean, [](float v, int64_t) { return (double)v; });
  const double invN = 1.0 / (double)N;
  for (int64_t c = 0; c < C; ++c) mean[c] *= invN;
  column_sum(x, N, C, var, [mean](float v, int64_t c) {
    double d = (double)v - mean[c];
    return d * d;
  });
  for (int64_t c = 0; c < C; ++c) var[c] *= invN;
}

// y = ((x − mu) − mu_lo)·scale + shift, per column. mu_lo (nullable) is the
// float rounding residue of a double mean, mean ≈ mu + mu_lo: x − mu is exact
// for x near mu (Sterbenz), so the centred value keeps the double mean's
// precision even when |mean| ≫ std.
void affine_rows(const float* __restrict x, float* __restrict y, int64_t N, int64_t C,
                 const float* __restrict mu, const float* __restrict mu_lo,
                 const float* __restrict scale, const float* __restrict shift) {
  for_rows(N, C, [&](int64_t i) {
    const float* __restrict xr = x + i * C;
    float* __restrict yr = y + i * C;
    if (mu_lo) {
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) yr[c] = ((xr[c] - mu[c]) - mu_lo[c]) * scale[c] + shift[c];
    } else {
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mu[c]) * scale[c] + shift[c];
    }
  });
}

}  // namespace

void batchnorm1d_forward_train(const float* x, float* y, int64_t N, int64_t C, const float* gamma,
                               const float* beta, float eps, float momentum, float* running_mean,
                               float* running_var, float* save_mean, float* save_invstd) {
  if (C <= 0) return;
  std::vector<double> mean((size_t)C), var((size_t)C);
  column_moments(x, N, C, mean.data(), var.data());
  std::vector<float> mu((size_t)C), mu_lo((size_t)C), scale((size_t)C), shift((size_t)C);
  const double unbias = N > 1 ? (double)N / (double)(N - 1) : NAN;
  const double m = momentum;
  for (int64_t c = 0; c < C; ++c) {
    double invstd = 1.0 / std::sqrt(var[c] + (double)eps);
    mu[c] = (float)mean[c];
    mu_lo[c] = (float)(mean[c] - (double)mu[c]);
    scale[c] = (float)invstd * (gamma ? gamma[c] : 1.0f);
    shift[c] = beta ? beta[c] : 0.0f;
    save_mean[c] = (float)mean[c];
    save_invstd[c] = (float)invstd;
    if (running_mean) running_mean[c] = (float)((1.0 - m) * running_mean[c] + m * mean[c]);
    if (running_var) running_var[c] = (float)((1.0 - m) * running_var[c] + m * unbias * var[c]);
  }
  affine_rows(x, y, N, C, mu.data(), mu_lo.data(), scale.data(), shift.data());
}

void batchnorm1d_forward_eval(const float* x, float* y, int64_t N, int64_t C, const float* gamma,
                              const float* beta, const float* running_mean,
                              const float* running_var, float eps) {
  if (C <= 0 || N <= 0) return;
  std::vector<float> scale((size_t)C), shift((size_t)C);
  for (int64_t c = 0; c < C; ++c) {
    double invstd = 1.0 / std::sqrt((double)running_var[c] + (double)eps);
    scale[c] = (float)invstd * (gamma ? gamma[c] : 1.0f);
    shift[c] = beta ? beta[c] : 0.0f;
  }
  affine_rows(x, y, N, C, running_mean, nullptr, scale.data(), shift.data());
}

void batchnorm1d_backward(const float* dy, const float* x, const float* gamma,
                          const float* save_mean, const float* save_invstd, int64_t N, int64_t C,
                          float* dx, float* dgamma, float* dbeta, bool accumulate) {
  if (C <= 0) return;
  // sums[0..C) = Σ dy, sums[C..2C) = Σ dy·(x − μ), in double.
  std::vector<double> sums((size_t)(2 * C));
  column_reduce(N, C, 2, sums.data(), [&](int64_t r0, int64_t r1, double* __restrict acc) {
    double* __restrict sdy = acc;
    double* __restrict sdyx = acc + C;
    for (int64_t c0 = 0; c0 < C; c0 += kColTile) {
      int64_t c1 = std::min(C, c0 + kColTile);
      for (int64_t i = r0; i < r1; ++i) {
        const float* __restrict dyr = dy + i * C;
        const float* __restrict xr = x + i * C;
#pragma omp simd
        for (int64_t c = c0; c < c1; ++c) {
          double g = dyr[c];
          sdy[c] += g;
          sdyx[c] += g * ((double)xr[c] - (double)save_mean[c]);
        }
      }
    }
  });
  // dx = a·(dy − b − (x − μ)·k) with a = γ·invstd, b = dβ/N, k = invstd·dγ/N.
  std::vector<float> a((size_t)C), b((size_t)C), k((size_t)C);
  const double invN = N > 0 ? 1.0 / (double)N : 0.0;
  for (int64_t c = 0; c < C; ++c) {
    double invstd = save_invstd[c];
    double db = sums[c];
    double dg = sums[C + c] * invstd;
    a[c] = (float)(invstd * (gamma ? (double)gamma[c] : 1.0));
    b[c] = (float)(db * invN);
    k[c] = (float)(invstd * dg * invN);
    if (dbeta) dbeta[c] = accumulate ? (float)((double)dbeta[c] + db) : (float)db;
    if (dgamma) dgamma[c] = accumulate ? (float)((double)dgamma[c] + dg) : (float)dg;
  }
  const float* __restrict ap = a.data();
  const float* __restrict bp = b.data();
  const float* __restrict kp = k.data();
  for_rows(N, C, [&](int64_t i) {
    const float* __restrict dyr = dy + i * C;
    const float* __restrict xr = x + i * C;
    float* __restrict dxr = dx + i * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) dxr[c] = ap[c] * (dyr[c] - bp[c] - (xr[c] - save_mean[c]) * kp[c]);
  });
}

// ---- BatchNorm2d over x[N, C, S] ------------------------------------------
// The same statistics per channel c over the M = N·S values x[n,c,:] (S = H·W,
// or L for signals). Here a channel's values are N contiguous planes of S
// floats, so threads split the channels and each channel is reduced by one
// thread, plane by plane (contiguous, vectorized), in double: two passes
// (mean, then the centred sum of squares) as above, then the output pass
// with the per-channel coefficients, with the ReLU that follows a BN layer
// fused in (y = max(bn(x), 0), NaN kept as relu_forward keeps it). Every
// channel's sums run in a fixed order, so the result does not depend on
// the thread count.
namespace {

// fn(c) for each channel, split over threads (a channel is ~3·M elements of work).
template <class F>
void for_channels(int64_t C, int64_t M, F&& fn) {
  const int64_t grain = std::max<int64_t>(1, kMinWork / std::max<int64_t>(1, 3 * M));
  parallel_for(C, grain, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) fn(c);
  });
}

// y[n,c,:] = ((x − mu) − mu_lo)·scale + shift, then max(·, 0) when relu.
inline void channel_affine(const float* x, float* y, int64_t N, int64_t C, int64_t S, int64_t c, float mu,
                           float mu_lo, float scale, float shift, bool relu) {
  // Last sample first: in training the end of the statistics' pass is still in L2.
  for (int64_t n = N - 1; n >= 0; --n) {
    const float* __restrict xp = x + (n * C + c) * S;
    float* __restrict yp = y + (n * C + c) * S;
    if (relu) {
#pragma omp simd
      for (int64_t s = 0; s < S; ++s) {
        const float v = ((xp[s] - mu) - mu_lo) * scale + shift;
        yp[s] = v < 0.0f ? 0.0f : v;
      }
    } else {
#pragma omp simd
      for (int64_t s = 0; s < S; ++s) yp[s] = ((xp[s] - mu) - mu_lo) * scale + shift;
    }
  }
}

}  // namespace

void batchnorm2d_forward_train(const float* x, float* y, int64_t N, int64_t C, int64_t S, const float* gamma,
                               const float* beta, float eps, float momentum, float* running_mean,
                               float* running_var, float* save_mean, float* save_invstd, bool relu) {
  const int64_t M = N * S;
  if (C <= 0 || M <= 0) return;
  const double unbias = M > 1 ? (double)M / (double)(M - 1) : NAN;
  const double m = momentum, invM = 1.0 / (double)M;
  for_channels(C, M, [&](int64_t c) {
    // One pass over the channel (it is read again for y): sums of d = x − x₀
    // and d² in double, shifted by the channel's first value x₀ so that the
    // variance Σd²/M − (Σd/M)² does not cancel away when |mean| ≫ std.
    const double x0 = x[c * S];
    double s1 = 0.0, s2 = 0.0;
    for (int64_t n = 0; n < N; ++n) {
      const float* __restrict p = x + (n * C + c) * S;
      double a = 0.0, b = 0.0;
#pragma omp simd reduction(+ : a, b)
      for (int64_t s = 0; s < S; ++s) {
        const double d = (double)p[s] - x0;
        a += d;
        b += d * d;
      }
      s1 += a;
      s2 += b;
    }
    const double dm = s1 * invM, mean = x0 + dm, var = std::max(0.0, s2 * invM - dm * dm);
    const double invstd = 1.0 / std::sqrt(var + (double)eps);
    const float mu = (float)mean, mu_lo = (float)(mean - (double)mu);
    save_mean[c] = mu;
    save_invstd[c] = (float)invstd;
    if (running_mean) running_mean[c] = (float)((1.0 - m) * running_mean[c] + m * mean);
    if (running_var) running_var[c] = (float)((1.0 - m) * running_var[c] + m * unbias * var);
    const float scale = (float)invstd * (gamma ? gamma[c] : 1.0f), shift = beta ? beta[c] : 0.0f;
    channel_affine(x, y, N, C, S, c, mu, mu_lo, scale, shift, relu);
  });
}

void batchnorm2d_forward_eval(const float* x, float* y, int64_t N, int64_t C, int64_t S, const float* gamma,
                              const float* beta, const float* running_mean, const float* running_var, float eps,
                              bool relu) {
  const int64_t M = N * S;
  if (C <= 0 || M <= 0) return;
  for_channels(C, M, [&](int64_t c) {
    const double invstd = 1.0 / std::sqrt((double)running_var[c] + (double)eps);
    const float scale = (float)invstd * (gamma ? gamma[c] : 1.0f), shift = beta ? beta[c] : 0.0f;
    channel_affine(x, y, N, C, S, c, running_mean[c], 0.0f, scale, shift, relu);
  });
}

void batchnorm2d_backward(const float* dy, const float* x, const float* y, const float* gamma,
                          const float* save_mean, const float* save_invstd, int64_t N, int64_t C, int64_t S,
                          float* dx, float* dgamma, float* dbeta, bool accumulate) {
  if (C <= 0) return;
  const int64_t M = N * S;
  const double invM = M > 0 ? 1.0 / (double)M : 0.0;
  for_channels(C, M, [&](int64_t c) {
    // g = dy·[y > 0] (the fused ReLU's backward) or dy; sums Σ g and Σ g·(x − μ) in double.
    const double mean = save_mean[c];
    double sdy = 0.0, sdyx = 0.0;
    for (int64_t n = 0; n < N && S > 0; ++n) {
      const int64_t o = (n * C + c) * S;
      const float* __restrict gp = dy + o;
      const float* __restrict xp = x + o;
      const float* __restrict yp = y ? y + o : nullptr;
      double a = 0.0, b = 0.0;
      if (yp) {
#pragma omp simd reduction(+ : a, b)
        for (int64_t s = 0; s < S; ++s) {
          const double gv = yp[s] > 0.0f ? (double)gp[s] : 0.0;
          a += gv;
          b += gv * ((double)xp[s] - mean);
        }
      } else {
#pragma omp simd reduction(+ : a, b)
        for (int64_t s = 0; s < S; ++s) {
          const double gv = gp[s];
          a += gv;
          b += gv * ((double)xp[s] - mean);
        }
      }
      sdy += a;
      sdyx += b;
    }
    const double invstd = save_invstd[c];
    const double db = sdy, dg = sdyx * invstd;
    if (dbeta) dbeta[c] = accumulate ? (float)((double)dbeta[c] + db) : (float)db;
    if (dgamma) dgamma[c] = accumulate ? (float)((double)dgamma[c] + dg) : (float)dg;
    // dx = a·(g − b − (x − μ)·k) with a = γ·invstd, b = dβ/M, k = invstd·dγ/M.
    const float ka = (float)(invstd * (gamma ? (double)gamma[c] : 1.0)), kb = (float)(db * invM),
                kk = (float)(invstd * dg * invM), mu = save_mean[c];
    // Last sample first: the end of the sums' pass is still in L2.
    for (int64_t n = N - 1; n >= 0 && S > 0; --n) {
      const int64_t o = (n * C + c) * S;
      const float* __restrict gp = dy + o;
      const float* __restrict xp = x + o;
      float* __restrict dp = dx + o;
      if (y) {
        const float* __restrict yp = y + o;
#pragma omp simd
        for (int64_t s = 0; s < S; ++s) {
          const float gv = yp[s] > 0.0f ? gp[s] : 0.0f;
          dp[s] = ka * (gv - kb - (xp[s] - mu) * kk);
        }
      } else {
#pragma omp simd
        for (int64_t s = 0; s < S; ++s) dp[s] = ka * (gp[s] - kb - (xp[s] - mu) * kk);
      }
    }
  });
}

}  // namespace imix::cpu
