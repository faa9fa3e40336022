// Random valid geometries through one CPU kernel set built with sanitizers
// (test/asan/run.sh), against plain double loops: conv2d forward, input
// gradient and weight gradient (+ bias, overwrite and accumulate), and
// max-pool forward/backward; and the image and signal views, SCARF, CutMix
// and MixUp on random sizes and parameters (views_case). Every buffer is its own exact-size heap block
// (x, w, y, dy, dx, dw, db, and the conv workspace of exactly
// conv2d_workspace_floats(g) floats), so a kernel that writes or reads one
// float past any of them stops the run under AddressSanitizer; outputs start
// as NaN (overwritten ones) so a position a kernel forgets shows up too.
// The geometries lean on the shapes the kernels have special paths for:
// ResNet 3×3 (stride 1 and 2), strided 1×1 shortcuts, stems of 1–3 input
// channels, pointwise, conv1d rows, and odd kernels, strides, paddings and
// dilations; channel counts on and around the vector widths; batches that
// span several of a kernel's sample chunks.
//   kernel_fuzz <kernel-set.so> [cases] [seed]     (env T: threads, default 2)
#define IMIX_CPU_DISPATCH 1
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "native/cpu/kernels.h"

using imix::ConvGeom;
using imix::PoolGeom;
using Table = imix::cpu::KernelTable;

namespace {

std::mt19937_64 rng;
int64_t pick(std::initializer_list<int64_t> v) { return *(v.begin() + rng() % v.size()); }
int64_t uniform(int64_t a, int64_t b) { return a + (int64_t)(rng() % (uint64_t)(b - a + 1)); }

std::vector<float> randn(size_t n) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

// max |got − want| ≤ 1e-4 · scale · (max |want| + 1); NaN in got fails.
bool close(const char* name, const std::vector<float>& got, const std::vector<double>& want, double scale) {
  double err = 0, mag = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    err = std::isnan(got[i]) ? INFINITY : std::max(err, std::fabs((double)got[i] - want[i]));
    mag = std::max(mag, std::fabs(want[i]));
    if (std::isinf(err)) break;
  }
  const double tol = 1e-4 * scale * (mag + 1.0);
  if (err <= tol) return true;
  std::printf("  %s: max error %.3g over tolerance %.3g\n", name, err, tol);
  return false;
}

// A random valid convolution geometry.
ConvGeom conv_geometry() {
  for (;;) {
    ConvGeom g{};
    const int kind = (int)(rng() % 6);
    g.N = pick({0, 1, 2, 3, 5, 8, 17, 64, 130});
    g.C = kind == 0 ? pick({1, 2, 3}) : pick({1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 48, 64, 65, 100, 128});
    g.K = pick({1, 2, 5, 8, 15, 16, 17, 24, 32, 33, 47, 64, 65, 96, 128});
    g.dh = g.dw = 1;
    switch (kind) {
      case 0: g.kh = g.kw = 3, g.sh = g.sw = 1, g.ph = g.pw = 1; break;                 // stem
      case 1: g.kh = g.kw = 1, g.sh = g.sw = pick({2, 3}), g.ph = g.pw = 0; break;      // shortcut
      case 2: g.kh = g.kw = 3, g.sh = g.sw = pick({1, 2}), g.ph = g.pw = 1; break;      // ResNet 3×3
      case 3: g.kh = g.kw = 1, g.sh = g.sw = 1, g.ph = g.pw = 0; break;                 // pointwise
      default:                                                                          // anything
        g.kh = uniform(1, 5), g.kw = uniform(1, 5), g.sh = uniform(1, 3), g.sw = uniform(1, 3);
        g.dh = uniform(1, 2), g.dw = uniform(1, 2), g.ph = uniform(0, g.kh), g.pw = uniform(0, g.kw);
    }
    g.H = pick({1, 2, 3, 4, 5, 7, 8, 9, 13, 14, 16, 28, 31, 32, 33});
    g.W = rng() % 3 ? g.H : pick({1, 3, 7, 14, 28, 30});
    if (kind == 5) {  // conv1d: rows of length L
      g.H = 1, g.kh = 1, g.sh = 1, g.ph = 0, g.dh = 1;
      g.W = pick({1, 5, 16, 31, 64, 100, 129});
    }
    const int64_t eh = g.dh * (g.kh - 1) + 1, ew = g.dw * (g.kw - 1) + 1;
    if (g.H + 2 * g.ph < eh || g.W + 2 * g.pw < ew) continue;
    g.Ho = (g.H + 2 * g.ph - eh) / g.sh + 1;
    g.Wo = (g.W + 2 * g.pw - ew) / g.sw + 1;
    // Tensors within 2M floats, and the double loops within 1e8 multiply-adds.
    if (g.N * g.C * g.H * g.W > 2000000 || g.N * g.K * g.Ho * g.Wo > 2000000) continue;
    if (g.N * g.K * g.Ho * g.Wo * g.C * g.kh * g.kw > 100000000) continue;
    return g;
  }
}

bool conv_case(const Table* t, const ConvGeom& g) {
  const size_t xs = g.N * g.C * g.H * g.W, ys = g.N * g.K * g.Ho * g.Wo, wn = g.K * g.C * g.kh * g.kw;
  const std::vector<float> x = randn(xs), w = randn(wn), b = randn(g.K), dy = randn(ys);
  const bool acc = rng() % 2;
  std::vector<float> y(ys, NAN), dx(xs, NAN), dw(wn, acc ? 0.5f : NAN), db(g.K, acc ? 0.5f : NAN);
  std::vector<float> ws((size_t)t->conv2d_workspace_floats(g));
  float* wsp = ws.empty() ? nullptr : ws.data();
  t->conv2d_forward(x.data(), w.data(), b.data(), y.data(), g, wsp);
  t->conv2d_backward_data(dy.data(), w.data(), dx.data(), g, wsp);
  t->conv2d_backward_weight(dy.data(), x.data(), dw.data(), db.data(), g, wsp, acc);

  std::vector<double> ry(ys), rdx(xs, 0.0), rdw(wn, acc ? 0.5 : 0.0), rdb(g.K, acc ? 0.5 : 0.0);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t k = 0; k < g.K; ++k)
      for (int64_t i = 0; i < g.Ho; ++i)
        for (int64_t j = 0; j < g.Wo; ++j) {
          const size_t o = ((n * g.K + k) * g.Ho + i) * g.Wo + j;
          const double d = dy[o];
          double s = b[k];
          rdb[k] += d;
          for (int64_t c = 0; c < g.C; ++c)
            for (int64_t u = 0; u < g.kh; ++u) {
              const int64_t r = i * g.sh - g.ph + u * g.dh;
              if (r < 0 || r >= g.H) continue;
              for (int64_t v = 0; v < g.kw; ++v) {
                const int64_t col = j * g.sw - g.pw + v * g.dw;
                if (col < 0 || col >= g.W) continue;
                const size_t xi = ((n * g.C + c) * g.H + r) * g.W + col, wi = ((k * g.C + c) * g.kh + u) * g.kw + v;
                s += (double)w[wi] * x[xi];
                rdx[xi] += (double)w[wi] * d;
                rdw[wi] += d * x[xi];
              }
            }
          ry[o] = s;
        }
  // Errors grow with the length of the sums: √(terms) of them.
  const double taps = std::sqrt((double)(g.C * g.kh * g.kw)), positions = std::sqrt((double)(g.N * g.Ho * g.Wo) + 1.0);
  bool ok = close("y", y, ry, taps);
  ok = close("dx", dx, rdx, taps) && ok;
  ok = close("dw", dw, rdw, positions) && ok;
  ok = close("db", db, rdb, positions) && ok;
  if (!ok)
    std::printf("  conv N%ld C%ld %ldx%ld -> K%ld, kernel %ldx%ld, stride %ld,%ld, pad %ld,%ld, dilation %ld,%ld, out %ldx%ld, accumulate %d\n",
                (long)g.N, (long)g.C, (long)g.H, (long)g.W, (long)g.K, (long)g.kh, (long)g.kw, (long)g.sh, (long)g.sw, (long)g.ph,
                (long)g.pw, (long)g.dh, (long)g.dw, (long)g.Ho, (long)g.Wo, (int)acc);
  return ok;
}

bool pool_case(const Table* t) {
  PoolGeom g{};
  g.N = pick({1, 2, 7}), g.C = pick({1, 3, 16, 17, 64});
  g.H = pick({1, 2, 5, 7, 8, 14, 28, 33}), g.W = rng() % 2 ? g.H : pick({1, 3, 9, 32});
  g.kh = uniform(1, 4), g.kw = uniform(1, 4), g.sh = uniform(1, 3), g.sw = uniform(1, 3);
  g.ph = uniform(0, g.kh / 2), g.pw = uniform(0, g.kw / 2);  // the addon's rule: p ≤ k/2
  if (g.H + 2 * g.ph < g.kh || g.W + 2 * g.pw < g.kw) return true;
  g.Ho = (g.H + 2 * g.ph - g.kh) / g.sh + 1, g.Wo = (g.W + 2 * g.pw - g.kw) / g.sw + 1;
  const size_t xs = g.N * g.C * g.H * g.W, ys = g.N * g.C * g.Ho * g.Wo;
  const std::vector<float> x = randn(xs), dy = randn(ys);
  std::vector<float> y(ys, NAN), dx(xs, NAN);
  std::vector<int32_t> am(ys, -1);
  t->maxpool2d_forward(x.data(), y.data(), am.data(), g);
  t->maxpool2d_backward(dy.data(), am.data(), dx.data(), g);
  std::vector<double> ry(ys), rdx(xs, 0.0);
  bool ok = true;
  for (int64_t p = 0; p < g.N * g.C; ++p)
    for (int64_t i = 0; i < g.Ho; ++i)
      for (int64_t j = 0; j < g.Wo; ++j) {
        double best = -INFINITY;
        int64_t at = -1;
        for (int64_t u = 0; u < g.kh; ++u)
          for (int64_t v = 0; v < g.kw; ++v) {
            const int64_t r = i * g.sh - g.ph + u, c = j * g.sw - g.pw + v;
            if (r < 0 || r >= g.H || c < 0 || c >= g.W) continue;
            if (x[p * g.H * g.W + r * g.W + c] > best) best = x[p * g.H * g.W + r * g.W + c], at = r * g.W + c;
          }
        const size_t o = (p * g.Ho + i) * g.Wo + j;
        ry[o] = best;
        if (at >= 0) rdx[p * g.H * g.W + at] += dy[o];
        if (am[o] != at) ok = false;
      }
  if (!ok) std::printf("  maxpool argmax differs\n");
  ok = close("maxpool y", y, ry, 1.0) && ok;
  ok = close("maxpool dx", dx, rdx, 2.0) && ok;
  if (!ok)
    std::printf("  maxpool N%ld C%ld %ldx%ld, window %ldx%ld, stride %ld,%ld, pad %ld,%ld\n", (long)g.N, (long)g.C, (long)g.H,
                (long)g.W, (long)g.kh, (long)g.kw, (long)g.sh, (long)g.sw, (long)g.ph, (long)g.pw);
  return ok;
}

// The random views and mixes on random sizes and parameters: each output
// value must be one the kernel's contract allows (kernel_api.h), checked by
// invariants rather than by re-deriving the Philox draws: a crop or a shift
// only moves values (or pads with 0), a bilinear or linear resampling stays
// within its plane's range, SCARF takes x's value or one of the pool's in the
// same column; CutMix and MixUp against their formulas.
bool in_plane_or_zero(const float* src, int64_t n, float v) {
  if (v == 0.0f) return true;
  for (int64_t i = 0; i < n; ++i)
    if (src[i] == v) return true;
  return false;
}
bool within_range(const float* src, int64_t n, float v) {
  const auto [lo, hi] = std::minmax_element(src, src + n);
  const float slack = 1e-5f * (std::fabs(*lo) + std::fabs(*hi) + 1.0f);
  return v >= *lo - slack && v <= *hi + slack;
}

bool views_case(const Table* t) {
  const int64_t N = pick({1, 2, 5}), C = pick({1, 3}), H = pick({1, 2, 5, 8, 28, 33}), W = rng() % 2 ? H : pick({1, 4, 31});
  const uint64_t seed = rng(), offset = rng() % 1000;
  const int64_t P = H * W, n = N * C * P;
  const std::vector<float> x = randn((size_t)n);
  std::vector<float> out((size_t)n, NAN);
  bool ok = true;
  auto each_plane = [&](const char* name, auto&& allowed) {
    for (int64_t q = 0; q < N * C && ok; ++q)
      for (int64_t i = 0; i < P && ok; ++i)
        if (!allowed(x.data() + q * P, out[q * P + i])) {
          std::printf("  %s: value %g not allowed at plane %ld, %ld (N%ld C%ld %ldx%ld)\n", name, out[q * P + i], (long)q, (long)i,
                      (long)N, (long)C, (long)H, (long)W);
          ok = false;
        }
  };
  t->random_crop_flip(x.data(), out.data(), N, C, H, W, uniform(0, 6), rng() % 2 ? 0.5f : 1.0f, seed, offset);
  each_plane("random_crop_flip", [&](const float* src, float v) { return in_plane_or_zero(src, P, v); });
  std::fill(out.begin(), out.end(), NAN);
  const double s0 = 0.05 + 0.9 * (rng() % 1000) / 1000.0, r0 = 0.2 + (rng() % 1000) / 500.0;
  t->random_resized_crop(x.data(), out.data(), N, C, H, W, s0, std::min(1.0, s0 * 1.5), r0, r0 * 1.7, 0.5f, seed, offset);
  each_plane("random_resized_crop", [&](const float* src, float v) { return within_range(src, P, v); });
  std::fill(out.begin(), out.end(), NAN);
  const imix::CropBox box{uniform(0, H - 1), uniform(0, W - 1), 0, 0, (int32_t)(rng() % 2)};
  const imix::CropBox b2{box.top, box.left, uniform(1, H - box.top), uniform(1, W - box.left), box.flip};
  t->resized_crop(x.data(), out.data(), N, C, H, W, b2);
  each_plane("resized_crop", [&](const float* src, float v) { return within_range(src, P, v); });

  // Signals [N, C, L] with L = H·W.
  std::fill(out.begin(), out.end(), NAN);
  t->time_shift(x.data(), out.data(), N, C, P, uniform(0, P + 3), seed, offset);
  each_plane("time_shift", [&](const float* src, float v) { return in_plane_or_zero(src, P, v); });
  std::fill(out.begin(), out.end(), NAN);
  const double lo = 0.05 + 0.9 * (rng() % 1000) / 1000.0;
  t->random_time_crop(x.data(), out.data(), N, C, P, lo, std::min(1.0, lo + 0.3), seed, offset);
  each_plane("random_time_crop", [&](const float* src, float v) { return within_range(src, P, v); });

  // SCARF on rows [N·C, P] from a pool of M rows.
  const int64_t M = pick({1, 2, 7}), R = N * C;
  const std::vector<float> pool = randn((size_t)(M * P));
  std::fill(out.begin(), out.end(), NAN);
  t->resample_features(x.data(), pool.data(), out.data(), R, P, M, (rng() % 5) / 4.0, seed, offset);
  for (int64_t i = 0; i < R && ok; ++i)
    for (int64_t j = 0; j < P && ok; ++j) {
      const float v = out[i * P + j];
      bool hit = v == x[i * P + j];
      for (int64_t r = 0; r < M && !hit; ++r) hit = v == pool[r * P + j];
      if (!hit) std::printf("  resample_features: value %g at %ld, %ld is neither x's nor the pool's\n", v, (long)i, (long)j), ok = false;
    }

  // CutMix and MixUp with a random permutation.
  std::vector<int32_t> perm((size_t)N);
  for (int64_t i = 0; i < N; ++i) perm[i] = (int32_t)i;
  std::shuffle(perm.begin(), perm.end(), rng);
  const int64_t y0 = uniform(0, H), x0 = uniform(0, W);
  const imix::Box cb{y0, x0, uniform(y0, H), uniform(x0, W)};
  std::fill(out.begin(), out.end(), NAN);
  t->cutmix(x.data(), out.data(), N, C, H, W, perm.data(), cb);
  std::vector<float> lam((size_t)N);
  for (auto& l : lam) l = (float)((rng() % 1001) / 1000.0);
  std::vector<float> mixed((size_t)n, NAN);
  t->mixup(x.data(), mixed.data(), N, C * P, perm.data(), lam.data(), 0.0f);
  std::vector<double> rc((size_t)n), rm((size_t)n);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t r = 0; r < H; ++r)
        for (int64_t col = 0; col < W; ++col) {
          const int64_t o = ((i * C + c) * H + r) * W + col, from = ((perm[i] * C + c) * H + r) * W + col;
          rc[o] = r >= cb.y0 && r < cb.y1 && col >= cb.x0 && col < cb.x1 ? x[from] : x[o];
          rm[o] = (double)lam[i] * x[o] + (1.0 - (double)lam[i]) * x[from];
        }
  ok = close("cutmix", out, rc, 0.0) && ok;
  ok = close("mixup", mixed, rm, 1.0) && ok;
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: kernel_fuzz <kernel-set.so> [cases] [seed]\n");
    return 2;
  }
  void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    std::fprintf(stderr, "kernel_fuzz: %s\n", dlerror());
    return 2;
  }
  const auto table = (const Table* (*)())dlsym(h, "imix_cpu_kernel_table");
  if (!table) {
    std::fprintf(stderr, "kernel_fuzz: %s has no imix_cpu_kernel_table\n", argv[1]);
    return 2;
  }
  const Table* t = table();
  const int cases = argc > 2 ? std::atoi(argv[2]) : 300;
  const unsigned long long seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
  rng.seed(seed);
  t->set_num_threads(std::getenv("T") ? std::atoi(std::getenv("T")) : 2);
  int bad = 0;
  for (int i = 0; i < cases; ++i) {
    bad += !conv_case(t, conv_geometry());
    bad += !pool_case(t);
    bad += !views_case(t);
  }
  std::printf("kernel_fuzz %s: %d conv, %d max-pool and %d view/mix cases (seed %llu), %d failed\n", argv[1], cases, cases, cases, seed,
              bad);
  return bad ? 1 : 0;
}
