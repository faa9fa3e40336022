// The CUDA kernels (native/cuda, run through the CPU emulation of emu.h)
// against the CPU kernels (native/cpu) on the same inputs: every family,
// with the edge cases of test/cuda/parity.test.ts at sizes the emulation can
// afford. Built and run by test/cuda/emulate/run.sh, twice: with the
// production grid caps and with IMIX_CUDA_TEST_GRID_CAP (every cap tiny, so
// these sizes run several iterations of each grid-stride loop). Host libm
// stands in for CUDA's math library here, so tolerances are tighter than on a GPU.
#include <cstdio>
#include <tuple>

#include "native/cuda/emu.h"
#include <random>
#include <string>
#include <vector>
#include <cmath>
#include <algorithm>
#include "native/cpu/kernels.h"
#include "native/cuda/kernels.h"
#include "native/common/resized_crop.h"
using namespace imix;
using V = std::vector<float>;
static int failures = 0, passes = 0;
static std::mt19937 rng(1);
V randn(size_t n, float s = 1) { std::normal_distribution<float> d; V v(n); for (auto& x : v) x = s * d(rng); return v; }
V randu(size_t n, float lo, float hi) { std::uniform_real_distribution<float> d(lo, hi); V v(n); for (auto& x : v) x = d(rng); return v; }
std::vector<int32_t> randperm(int n) { std::vector<int32_t> p(n); for (int i = 0; i < n; ++i) p[i] = i; std::shuffle(p.begin(), p.end(), rng); return p; }
template <class T>
void cmp(const std::vector<T>& g, const std::vector<T>& c, double rtol, double atol, const std::string& label) {
  double worst = 0; size_t wi = 0; bool bad = g.size() != c.size();
  for (size_t i = 0; i < c.size() && !bad; ++i) {
    double a = g[i], b = c[i];
    if (std::isnan(b) || std::isnan(a)) { if (!(std::isnan(a) && std::isnan(b))) { bad = true; wi = i; } continue; }
    if (std::isinf(b) || std::isinf(a)) { if (a != b) { bad = true; wi = i; } continue; }
    double ex = std::fabs(a - b) - (atol + rtol * std::fabs(b));
    if (ex > worst) { worst = ex; wi = i; }
  }
  if (bad || worst > 0) { ++failures; std::printf("FAIL %s at %zu: cuda %g cpu %g\n", label.c_str(), wi, (double)g[wi], (double)c[wi]); }
  else {
    ++passes;
    std::printf("ok   %s\n", label.c_str());
  }
}
void cmpd(double g, double c, double rtol, const std::string& l) { cmp(std::vector<double>{g}, std::vector<double>{c}, rtol, 1e-9, l); }

int main() {
  std::printf("cuda-emulate: %s order, seed %llu%s\n", emu::order_name(), (unsigned long long)emu::schedule.seed,
              emu::schedule.skew ? ", warps skewed" : "");
#ifdef IMIX_CUDA_TEST_GRID_CAP
  std::printf("cuda-emulate: every grid cap lowered to %d (IMIX_CUDA_TEST_GRID_CAP)\n", (int)IMIX_CUDA_TEST_GRID_CAP);
#endif
  // gemm
  for (auto [M, N, K, ta, tb] : std::vector<std::tuple<int,int,int,bool,bool>>{{7,5,3,false,true},{70,65,33,true,false},{1,1,1,false,false},{33,17,0,true,true}}) {
    V A = randn((size_t)M*K), B = randn((size_t)K*N), C = randn((size_t)M*N), C2 = C;
    cpu::gemm(ta, tb, M, N, K, 0.5f, A.data(), ta ? M : K, B.data(), tb ? K : N, 0.25f, C.data(), N);
    cuda::gemm(ta, tb, M, N, K, 0.5f, A.data(), ta ? M : K, B.data(), tb ? K : N, 0.25f, C2.data(), N);
    cmp(C2, C, 1e-5, 1e-5, "gemm " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K));
  }
  // linear family
  {
    int N = 300, in = 20, out = 33;
    V x = randn(N*in), W = randn(out*in, 0.1f), b = randn(out), dy = randn(N*out), y1(N*out), y2(N*out);
    cpu::linear_forward(x.data(), W.data(), b.data(), y1.data(), N, in, out);
    cuda::linear_forward(x.data(), W.data(), b.data(), y2.data(), N, in, out);
    cmp(y2, y1, 1e-5, 1e-5, "linear_forward");
    V dx1(N*in), dx2(N*in), dW1 = randn(out*in), dW2 = dW1, db1 = randn(out), db2 = db1;
    cpu::linear_backward(x.data(), W.data(), dy.data(), dx1.data(), dW1.data(), db1.data(), N, in, out, true);
    cuda::linear_backward(x.data(), W.data(), dy.data(), dx2.data(), dW2.data(), db2.data(), N, in, out, true);
    cmp(dx2, dx1, 1e-5, 1e-5, "linear_backward dx"); cmp(dW2, dW1, 1e-5, 1e-4, "linear_backward dW"); cmp(db2, db1, 1e-6, 1e-6, "linear_backward db");
    cpu::bias_grad(dy.data(), db1.data(), N, out, false); cuda::bias_grad(dy.data(), db2.data(), N, out, false);
    cmp(db2, db1, 1e-6, 1e-6, "bias_grad");
    // bias_add alone: a row shorter and longer than the grid's stride (the column walk's carry and its whole rows)
    for (auto [R, C] : std::vector<std::pair<int,int>>{{1, 1}, {300, 33}, {7, 1000}, {3, 5000}, {2000, 3}}) {
      V ya = randn((size_t)R * C), yb = ya, bb = randn(C);
      cpu::bias_add(ya.data(), bb.data(), R, C); cuda::bias_add(yb.data(), bb.data(), R, C);
      cmp(yb, ya, 0, 0, "bias_add " + std::to_string(R) + "x" + std::to_string(C));
    }
    V r1 = randn(N*out); r1[0] = NAN; r1[1] = -0.0f; V r2 = r1;
    cpu::relu_forward(r1.data(), r1.data(), N*out); cuda::relu_forward(r2.data(), r2.data(), N*out); cmp(r2, r1, 0, 0, "relu_forward");
    V d1 = dy, d2 = dy; cpu::relu_backward(d1.data(), r1.data(), d1.data(), N*out); cuda::relu_backward(d2.data(), r2.data(), d2.data(), N*out); cmp(d2, d1, 0, 0, "relu_backward");
  }
  // normalize
  for (auto [N, D] : std::vector<std::pair<int,int>>{{20, 100}, {3, 3000}, {1, 1}, {9, 37}}) {
    V x = randn(N*D); std::fill(x.begin(), x.begin() + D, 0.0f);
    V y1(N*D), y2(N*D), n1(N), n2(N), dy = randn(N*D), dx1(N*D), dx2(N*D);
    cpu::l2normalize_forward(x.data(), y1.data(), n1.data(), N, D, 1e-8f); cuda::l2normalize_forward(x.data(), y2.data(), n2.data(), N, D, 1e-8f);
    cmp(y2, y1, 1e-6, 1e-7, "l2n fwd D=" + std::to_string(D)); cmp(n2, n1, 1e-6, 1e-7, "l2n norms");
    cpu::l2normalize_backward(dy.data(), y1.data(), n1.data(), dx1.data(), N, D); cuda::l2normalize_backward(dy.data(), y1.data(), n1.data(), dx2.data(), N, D);
    cmp(dx2, dx1, 1e-5, 1e-6, "l2n bwd D=" + std::to_string(D));
    V xi = x; cuda::l2normalize_forward(xi.data(), xi.data(), n2.data(), N, D, 1e-8f); cmp(xi, y1, 1e-6, 1e-7, "l2n in place");
  }
  // cross-entropy: one block per row (registers; 1, 2, 4 or 8 float4s a thread), rows split over blocks (two
  // passes), M of every residue mod 4 and rows starting off the 16-byte boundary (off: the logits start that
  // many floats into the buffer), targets/col_offset, non-finite rows (mode 4), and rows padded to a stride
  // ld = M + pad (MoCo's layout when ld is a multiple of 4): the padding holds NaN, which neither kernel may
  // read or write.
  for (auto [N, M, mode, off, pad] : std::vector<std::tuple<int,int,int,int,int>>{
           {1,1,0,0,0},{4,300,1,0,0},{3,5000,2,0,0},{3,9001,1,0,0},{5,33,3,0,0},{3,40,4,0,0},{2,9001,4,0,0},
           {7,1,3,1,0},{7,3,3,2,0},{7,4,3,3,0},{7,5,3,1,0},{6,1023,1,3,0},{5,4097,3,2,0},{3,9001,4,1,0},{4,20001,4,2,0},
           {8,65600,3,1,0},{8,65601,1,0,0},{256,16390,1,1,0},
           {5,33,1,0,3},{7,5,3,0,3},{7,1,3,0,3},{6,1023,3,2,5},{4,9001,3,0,3},{3,9001,4,1,3}}) {
    const int64_t ld = M + pad;
    const size_t n = (size_t)(N - 1) * ld + M + 3 + off;  // 3 spare floats after the logits too: nothing may touch them
    V L = randn(n, 3); auto perm = randperm(N); V lam = randu(N, 0.5f, 1.0f);
    float* l = L.data() + off;
    for (int i = 0; i + 1 < N; ++i) for (int j = M; j < ld; ++j) l[i * ld + j] = NAN;
    std::vector<int32_t> tg; int64_t co = 0;
    if (mode == 3) { tg.resize(N); co = M > 3 ? 3 : 0; for (int i = 0; i < N; ++i) tg[i] = (i * 7) % (M - co); }
    if (mode == 4) { l[5] = NAN; l[ld + 1] = -INFINITY; l[ld + 7] = -INFINITY; if (N > 2) for (int j = 0; j < M; ++j) l[2*ld + j] = -INFINITY; if (N > 3) l[3*ld + M / 2] = INFINITY; }
    V L2 = L, ls1(N), ls2(N);
    const int32_t* pp = mode == 0 ? nullptr : perm.data(); const float* lp = mode == 0 ? nullptr : lam.data();
    double s1 = cpu::mixed_cross_entropy(l, N, M, ld, tg.empty() ? nullptr : tg.data(), pp, lp, co, 1.0f / N, ls1.data());
    double s2 = cuda::mixed_cross_entropy(L2.data() + off, N, M, ld, tg.empty() ? nullptr : tg.data(), pp, lp, co, 1.0f / N, ls2.data());
    std::string tag = "CE N=" + std::to_string(N) + " M=" + std::to_string(M) + " mode=" + std::to_string(mode) + " off=" + std::to_string(off) +
                      " ld=" + std::to_string(ld);
    cmp(L2, L, 1e-5, 1e-8, tag + " grad"); cmp(ls2, ls1, 1e-5, 1e-6, tag + " losses");
    if (!std::isnan(s1)) cmpd(s2, s1, 1e-6, tag + " sum");
    if (pad > 0) {  // the padding unread (finite losses without non-finite logits) and unwritten
      bool ok = mode == 4 || std::all_of(ls1.begin(), ls1.end(), [](float v) { return std::isfinite(v); });
      for (int i = 0; i + 1 < N; ++i) for (int j = M; j < ld; ++j) ok = ok && std::isnan(l[i * ld + j]) && std::isnan(L2[off + i * ld + j]);
      if (ok) { ++passes; std::printf("ok   %s padding\n", tag.c_str()); } else { ++failures; std::printf("FAIL %s padding\n", tag.c_str()); }
    }
  }
  // cosine
  for (auto [N, D, mode] : std::vector<std::tuple<int,int,int>>{{1,4,0},{33,64,1},{8,300,1}}) {
    V p = randn(N*D), k = randn(N*D); auto perm = randperm(N); V lam = randu(N, 0.5f, 1);
    V dp1(N*D), dp2(N*D), l1(N), l2(N);
    double s1 = cpu::mixed_cosine(p.data(), k.data(), N, D, mode ? perm.data() : nullptr, mode ? lam.data() : nullptr, 0.5f, dp1.data(), l1.data());
    double s2 = cuda::mixed_cosine(p.data(), k.data(), N, D, mode ? perm.data() : nullptr, mode ? lam.data() : nullptr, 0.5f, dp2.data(), l2.data());
    cmp(dp2, dp1, 1e-6, 1e-7, "cosine dp"); cmp(l2, l1, 1e-6, 1e-6, "cosine losses"); cmpd(s2, s1, 1e-9, "cosine sum");
  }
  // ema
  for (auto [n, off] : std::vector<std::pair<int,int>>{{1,0},{1023,0},{10003,0},{1001,1}}) {
    V t = randn(n + off), s = randn(n + off), t2 = t;
    cpu::ema(t.data() + off, s.data() + off, n, 0.996f); cuda::ema(t2.data() + off, s.data() + off, n, 0.996f);
    cmp(t2, t, 1e-6, 1e-7, "ema n=" + std::to_string(n) + " off=" + std::to_string(off));
  }
  // queue
  for (auto [K, D, N, ptr] : std::vector<std::tuple<int,int,int,int>>{{10,3,4,0},{10,3,4,8},{7,2,3,6},{5,4,5,2}}) {
    V q = randn(K*D), q2 = q, k = randn(N*D);
    int64_t a = cpu::queue_enqueue(q.data(), K, D, k.data(), N, ptr), b = cuda::queue_enqueue(q2.data(), K, D, k.data(), N, ptr);
    cmp(q2, q, 0, 0, "queue"); if (a != b) { ++failures; std::printf("FAIL queue ptr\n"); } else ++passes;
  }
  // mix
  {
    int N = 9, F = 784; V x = randn(N*F), o1(N*F), o2(N*F); auto perm = randperm(N); V lam = randu(N, 0.5f, 1);
    cpu::mixup(x.data(), o1.data(), N, F, perm.data(), lam.data(), 1); cuda::mixup(x.data(), o2.data(), N, F, perm.data(), lam.data(), 1); cmp(o2, o1, 1e-6, 1e-7, "mixup row λ");
    cpu::mixup(x.data(), o1.data(), N, F, perm.data(), nullptr, 0.5f); cuda::mixup(x.data(), o2.data(), N, F, perm.data(), nullptr, 0.5f); cmp(o2, o1, 1e-6, 1e-7, "mixup scalar λ");
    int C = 3, H = 7, W = 9; V xi = randn(N*C*H*W), c1(N*C*H*W), c2(N*C*H*W);
    for (cpu::Box bx : std::vector<cpu::Box>{{1,2,5,8},{3,3,3,7},{0,0,H,W}}) {
      cpu::cutmix(xi.data(), c1.data(), N, C, H, W, perm.data(), bx); cuda::cutmix(xi.data(), c2.data(), N, C, H, W, perm.data(), bx); cmp(c2, c1, 0, 0, "cutmix");
    }
  }
  // batchnorm
  for (auto [N, C, shift, affine] : std::vector<std::tuple<int,int,float,bool>>{{2,1,0,true},{100,40,0,false},{700,33,1000,true}}) {
    V x = randn(N*C); for (auto& v : x) v += shift; V g = randu(C, 0.5f, 1.5f), b = randn(C), dy = randn(N*C);
    V y1(N*C), y2(N*C), sm1(C), sm2(C), si1(C), si2(C), rm1 = randn(C), rm2 = rm1, rv1 = randu(C, 0.5f, 2), rv2 = rv1;
    const float* gp = affine ? g.data() : nullptr; const float* bp = affine ? b.data() : nullptr;
    cpu::batchnorm1d_forward_train(x.data(), y1.data(), N, C, gp, bp, 1e-5f, 0.1f, rm1.data(), rv1.data(), sm1.data(), si1.data());
    cuda::batchnorm1d_forward_train(x.data(), y2.data(), N, C, gp, bp, 1e-5f, 0.1f, rm2.data(), rv2.data(), sm2.data(), si2.data());
    std::string t = "bn N=" + std::to_string(N) + " C=" + std::to_string(C);
    cmp(y2, y1, 1e-5, 1e-5, t + " y"); cmp(sm2, sm1, 1e-6, 1e-6, t + " mean"); cmp(si2, si1, 1e-6, 1e-6, t + " invstd"); cmp(rm2, rm1, 1e-6, 1e-6, t + " rm"); cmp(rv2, rv1, 1e-6, 1e-6, t + " rv");
    cpu::batchnorm1d_forward_eval(x.data(), y1.data(), N, C, gp, bp, rm1.data(), rv1.data(), 1e-5f);
    cuda::batchnorm1d_forward_eval(x.data(), y2.data(), N, C, gp, bp, rm1.data(), rv1.data(), 1e-5f);
    cmp(y2, y1, 1e-5, 1e-5, t + " eval");
    V dx1(N*C), dx2(N*C), dg1 = randn(C), dg2 = dg1, db1 = randn(C), db2 = db1;
    cpu::batchnorm1d_backward(dy.data(), x.data(), gp, sm1.data(), si1.data(), N, C, dx1.data(), affine ? dg1.data() : nullptr, affine ? db1.data() : nullptr, true);
    cuda::batchnorm1d_backward(dy.data(), x.data(), gp, sm1.data(), si1.data(), N, C, dx2.data(), affine ? dg2.data() : nullptr, affine ? db2.data() : nullptr, true);
    cmp(dx2, dx1, 1e-5, 1e-5, t + " dx"); cmp(dg2, dg1, 1e-5, 1e-5, t + " dgamma"); cmp(db2, db1, 1e-5, 1e-5, t + " dbeta");
  }
  // optim
  {
    int n = 50000; std::vector<int64_t> off{0, 1000, 1000, 31000, 31007, 50000}; std::vector<uint8_t> fl{3, 3, 3, 0, 1};
    V p0 = randn(n), g0 = randn(n, 0.1f), b0 = randn(n, 0.01f), m0 = randn(n, 0.01f), v0 = randu(n, 0, 0.01f);
    for (int segmode = 0; segmode < 2; ++segmode) {
      const int64_t* o = segmode ? off.data() : nullptr; const uint8_t* f = segmode ? fl.data() : nullptr; int64_t ns = segmode ? 5 : 0;
      std::string t = segmode ? " seg" : " flat";
      for (int mode = 0; mode < 3; ++mode) {
        V p1 = p0, p2 = p0, bb1 = b0, bb2 = b0;
        for (int s = 0; s < 3; ++s) {
          cpu::sgd_step(p1.data(), g0.data(), mode ? bb1.data() : nullptr, n, 0.1f, mode ? 0.9f : 0, 1e-4f, mode == 2, o, f, ns);
          cuda::sgd_step(p2.data(), g0.data(), mode ? bb2.data() : nullptr, n, 0.1f, mode ? 0.9f : 0, 1e-4f, mode == 2, o, f, ns);
        }
        cmp(p2, p1, 1e-6, 1e-7, "sgd mode " + std::to_string(mode) + t); cmp(bb2, bb1, 1e-6, 1e-7, "sgd buf" + t);
      }
      for (int nest = 0; nest < 2; ++nest) {
        V p1 = p0, p2 = p0, bb1 = b0, bb2 = b0;
        for (int s = 0; s < 3; ++s) {
          cpu::lars_step(p1.data(), g0.data(), bb1.data(), n, 0.3f, 0.9f, 1e-6f, 0.001f, nest, o, f, ns);
          cuda::lars_step(p2.data(), g0.data(), bb2.data(), n, 0.3f, 0.9f, 1e-6f, 0.001f, nest, o, f, ns);
        }
        cmp(p2, p1, 1e-6, 1e-7, "lars" + t); cmp(bb2, bb1, 1e-5, 1e-8, "lars buf" + t);
      }
      V p1 = p0, p2 = p0, mm1 = m0, mm2 = m0, vv1 = v0, vv2 = v0;
      for (int s = 1; s <= 3; ++s) {
        cpu::adamw_step(p1.data(), g0.data(), mm1.data(), vv1.data(), n, 1e-3f, 0.9, 0.999, 1e-8f, 0.05f, s, o, f, ns);
        cuda::adamw_step(p2.data(), g0.data(), mm2.data(), vv2.data(), n, 1e-3f, 0.9, 0.999, 1e-8f, 0.05f, s, o, f, ns);
      }
      cmp(p2, p1, 1e-6, 1e-7, "adamw p" + t); cmp(mm2, mm1, 1e-6, 1e-8, "adamw m" + t); cmp(vv2, vv1, 1e-6, 1e-12, "adamw v" + t);
    }
  }
  // random
  for (auto [n, seed, offset] : std::vector<std::tuple<int,uint64_t,uint64_t>>{{1,0,0},{7,42,3},{10001,(1ull<<40)+5,(1ull<<33)+1}}) {
    V u1(n), u2(n), z1(n), z2(n), x = randn(n), d1(n), d2(n), nz1(n), nz2(n);
    cpu::rand_uniform(u1.data(), n, seed, offset); cuda::rand_uniform(u2.data(), n, seed, offset); cmp(u2, u1, 0, 0, "uniform");
    cpu::rand_normal(z1.data(), n, seed, offset, 1, 2); cuda::rand_normal(z2.data(), n, seed, offset, 1, 2); cmp(z2, z1, 1e-6, 1e-6, "normal");
    cpu::input_drop(x.data(), d1.data(), n, 0.3f, seed, offset); cuda::input_drop(x.data(), d2.data(), n, 0.3f, seed, offset); cmp(d2, d1, 0, 0, "input_drop");
    cpu::gaussian_noise(x.data(), nz1.data(), n, 0.5f, seed, offset); cuda::gaussian_noise(x.data(), nz2.data(), n, 0.5f, seed, offset); cmp(nz2, nz1, 1e-6, 1e-6, "noise");
    // Buffers off the 16-byte boundary (the scalar kernels) and in place (the float4 ones when aligned).
    for (int a : {0, 1, 3}) {
      const std::string t = " n=" + std::to_string(n) + " at +" + std::to_string(a);
      V xa = randn(n + a), p1 = xa, p2 = xa;
      cpu::input_drop(p1.data() + a, p1.data() + a, n, 0.3f, seed, offset); cuda::input_drop(p2.data() + a, p2.data() + a, n, 0.3f, seed, offset); cmp(p2, p1, 0, 0, "input_drop in place" + t);
      p1 = xa, p2 = xa;
      cpu::gaussian_noise(p1.data() + a, p1.data() + a, n, 0.5f, seed, offset); cuda::gaussian_noise(p2.data() + a, p2.data() + a, n, 0.5f, seed, offset); cmp(p2, p1, 1e-6, 1e-6, "noise in place" + t);
      V q1(n + a, 5.0f), q2 = q1;
      cpu::input_drop(xa.data(), q1.data() + a, n, 0.3f, seed, offset); cuda::input_drop(xa.data(), q2.data() + a, n, 0.3f, seed, offset); cmp(q2, q1, 0, 0, "input_drop out of place" + t);
      cpu::rand_uniform(q1.data() + a, n, seed, offset); cuda::rand_uniform(q2.data() + a, n, seed, offset); cmp(q2, q1, 0, 0, "uniform" + t);
      cpu::rand_normal(q1.data() + a, n, seed, offset, 1, 2); cuda::rand_normal(q2.data() + a, n, seed, offset, 1, 2); cmp(q2, q1, 1e-6, 1e-6, "normal" + t);
    }
  }
  // geometric image views (augment): random crop/flip, random resized crop
  // and the fixed-box resized crop, bit-identical (same draws from philox.h
  // and resized_crop.h, the same correctly rounded operations). Planes
  // shorter and longer than a block, more planes than the grid cap (so a
  // block redraws its shared box between planes), rows wider than a column
  // chunk, boxes that fall back to the centre crop, large stream offsets.
  // The outputs start as NaN (CPU) and 12345 (CUDA): an element either one
  // leaves unwritten differs.
  {
    // imix's own exp/log of the box draw: a few ulp from libm's, everywhere.
    double worst_exp = 0, worst_log = 0;
    for (int k = 0; k <= 4000; ++k) {
      const double t = -700.0 + 1400.0 * k / 4000.0 + 1e-3 * (k % 7);
      worst_exp = std::max(worst_exp, std::fabs(rrc::det_exp(t) - std::exp(t)) / std::exp(t));
      const double v = std::exp(t * 0.9);
      worst_log = std::max(worst_log, std::fabs(rrc::det_log(v) - std::log(v)) / std::max(std::fabs(std::log(v)), 1e-300));
    }
    cmp(std::vector<double>{worst_exp, worst_log}, std::vector<double>{0, 0}, 0, 1e-15, "augment det_exp/det_log relative error");
  }
  for (auto [N, C, H, W, seed, offset] : std::vector<std::tuple<int,int,int,int,uint64_t,uint64_t>>{
           {1,1,1,1,0,0}, {3,2,5,7,42,3}, {4,3,32,32,7,(1ull<<40)+5}, {9,1,6,10,(1ull<<45)+3,17}, {2,2,9,300,5,6}}) {
    const size_t n = (size_t)N * C * H * W;
    const std::string tg = " N" + std::to_string(N) + " C" + std::to_string(C) + " " + std::to_string(H) + "x" + std::to_string(W);
    V x = randn(n);
    for (auto [pad, p] : std::vector<std::pair<int,float>>{{0, 1.0f}, {2, 0.5f}, {H + 3, 0.5f}}) {
      V o1(n, NAN), o2(n, 12345.0f);
      cpu::random_crop_flip(x.data(), o1.data(), N, C, H, W, pad, p, seed, offset);
      cuda::random_crop_flip(x.data(), o2.data(), N, C, H, W, pad, p, seed, offset);
      cmp(o2, o1, 0, 0, "random_crop_flip pad" + std::to_string(pad) + tg);
    }
    for (auto [slo, shi, rlo, rhi, p] : std::vector<std::tuple<double,double,double,double,float>>{
             {0.08, 1, 0.75, 4.0 / 3, 0.5f}, {1, 1, 1, 1, 1.0f}, {0.001, 0.002, 1, 1, 0.0f}, {0.5, 1, 8, 9, 0.5f},
             {0.2, 0.9, 1e-300, 1e300, 0.5f}}) {
      V o1(n, NAN), o2(n, 12345.0f);
      cpu::random_resized_crop(x.data(), o1.data(), N, C, H, W, slo, shi, rlo, rhi, p, seed, offset);
      cuda::random_resized_crop(x.data(), o2.data(), N, C, H, W, slo, shi, rlo, rhi, p, seed, offset);
      cmp(o2, o1, 0, 0, "random_resized_crop scale [" + std::to_string(slo) + ", " + std::to_string(shi) + "] ratio [" +
                            std::to_string(rlo) + ", " + std::to_string(rhi) + "]" + tg);
    }
    for (CropBox b : std::vector<CropBox>{{0, 0, H, W, 0}, {H / 3, W / 4, (H + 1) / 2, (W + 2) / 3, 1}, {H - 1, W - 1, 1, 1, 0}, {0, W / 2, H, W - W / 2, 1}}) {
      V o1(n, NAN), o2(n, 12345.0f);
      cpu::resized_crop(x.data(), o1.data(), N, C, H, W, b);
      cuda::resized_crop(x.data(), o2.data(), N, C, H, W, b);
      cmp(o2, o1, 0, 0, "resized_crop box (" + std::to_string(b.top) + ", " + std::to_string(b.left) + ", " + std::to_string(b.h) + ", " +
                            std::to_string(b.w) + (b.flip ? ", flip)" : ")") + tg);
    }
  }
  // signal views on [N, C, L]: bit-identical (same draws, same float
  // expressions); rows longer than a block, more planes than the grid cap,
  // shifts past L, one-sample windows, no crop, a large stream offset,
  // amplitude scaling in place. Outputs start as NaN: every sample is written.
  for (auto [N, C, L, seed, offset] : std::vector<std::tuple<int,int,int,uint64_t,uint64_t>>{
           {1,1,1,0,0}, {3,2,7,42,3}, {5,3,300,7,(1ull<<40)+5}, {9,4,33,(1ull<<45)+3,17}, {2,1,1000,5,6}}) {
    const int n = N * C * L;
    const std::string tg = " N" + std::to_string(N) + " C" + std::to_string(C) + " L" + std::to_string(L);
    V x = randn(n);
    for (int m : {0, 2, L + 3}) {
      V o1(n, NAN), o2(n, NAN);
      cpu::time_shift(x.data(), o1.data(), N, C, L, m, seed, offset); cuda::time_shift(x.data(), o2.data(), N, C, L, m, seed, offset);
      cmp(o2, o1, 0, 0, "time_shift m" + std::to_string(m) + tg);
    }
    for (auto [lo, hi] : std::vector<std::pair<double,double>>{{0.5, 1}, {0.05, 0.3}, {1, 1}, {0.001, 0.001}}) {
      V o1(n, NAN), o2(n, NAN);
      cpu::random_time_crop(x.data(), o1.data(), N, C, L, lo, hi, seed, offset); cuda::random_time_crop(x.data(), o2.data(), N, C, L, lo, hi, seed, offset);
      cmp(o2, o1, 0, 0, "random_time_crop [" + std::to_string(lo) + ", " + std::to_string(hi) + "]" + tg);
    }
    V a1(n, NAN), a2(n, NAN), ai = x;
    cpu::amplitude_scale(x.data(), a1.data(), N, C, L, 0.5, 2, seed, offset); cuda::amplitude_scale(x.data(), a2.data(), N, C, L, 0.5, 2, seed, offset);
    cmp(a2, a1, 0, 0, "amplitude_scale" + tg);
    cuda::amplitude_scale(ai.data(), ai.data(), N, C, L, 0.5, 2, seed, offset); cmp(ai, a1, 0, 0, "amplitude_scale in place" + tg);
  }
  // SCARF resampling of x[N, F] from pool[M, F]: bit-identical (the same
  // Philox block per element, the same integer row draw); one pool row and
  // many, p = 0 and 1, rows longer than a block, more elements than the grid
  // cap, large seeds and offsets, in place. Outputs start as NaN.
  for (auto [N, F, M, seed, offset] : std::vector<std::tuple<int,int,int,uint64_t,uint64_t>>{
           {1,1,1,0,0}, {3,7,1,42,3}, {40,33,97,7,(1ull<<40)+5}, {2,700,5,(1ull<<52)+3,17}, {300,4,1000,5,(1ull<<53)-1}}) {
    const int n = N * F;
    const std::string tg = " N" + std::to_string(N) + " F" + std::to_string(F) + " M" + std::to_string(M);
    V x = randn(n), pool = randn((size_t)M * F, 3);
    for (double p : {0.0, 0.6, 1.0}) {
      V o1(n, NAN), o2(n, NAN), oi = x;
      cpu::resample_features(x.data(), pool.data(), o1.data(), N, F, M, p, seed, offset);
      cuda::resample_features(x.data(), pool.data(), o2.data(), N, F, M, p, seed, offset);
      cmp(o2, o1, 0, 0, "resample_features p" + std::to_string(p) + tg);
      cuda::resample_features(oi.data(), pool.data(), oi.data(), N, F, M, p, seed, offset);
      cmp(oi, o1, 0, 0, "resample_features in place p" + std::to_string(p) + tg);
    }
  }
  // elementwise
  {
    int N = 37, D = 130, k = 3, F = 11;
    V x = randn(N*D), y1 = randn(N*D), y2 = y1, b = randn(N*D);
    cpu::axpby(0.5f, x.data(), -2, y1.data(), N*D); cuda::axpby(0.5f, x.data(), -2, y2.data(), N*D); cmp(y2, y1, 1e-6, 1e-7, "axpby");
    V yn1(N*D, NAN), yn2 = yn1; cpu::axpby(3, x.data(), 0, yn1.data(), N*D); cuda::axpby(3, x.data(), 0, yn2.data(), N*D); cmp(yn2, yn1, 1e-6, 1e-7, "axpby b=0");
    V o1(N*5), o2(N*5); cpu::rowdot(x.data(), b.data(), o1.data(), 5, N, D, 5); cuda::rowdot(x.data(), b.data(), o2.data(), 5, N, D, 5); cmp(o2, o1, 1e-5, 1e-5, "rowdot");
    V r1 = y1, r2 = y1; cpu::row_scale_add(r1.data(), o1.data(), 5, b.data(), N, D, -0.5f); cuda::row_scale_add(r2.data(), o1.data(), 5, b.data(), N, D, -0.5f); cmp(r2, r1, 1e-6, 1e-6, "row_scale_add");
    for (auto [R, Dr] : std::vector<std::pair<int,int>>{{3, 1000}, {600, 1}, {5, 2049}}) {
      V ys = randn((size_t)R * Dr), ys2 = ys, xs = randn((size_t)R * Dr), ss = randn((size_t)R * 2);
      cpu::row_scale_add(ys.data(), ss.data(), 2, xs.data(), R, Dr, 0.75f); cuda::row_scale_add(ys2.data(), ss.data(), 2, xs.data(), R, Dr, 0.75f);
      cmp(ys2, ys, 1e-6, 1e-6, "row_scale_add " + std::to_string(R) + "x" + std::to_string(Dr));
    }
    V mx = randn(N*F*k); mx[5] = mx[4]; V my1(N*F), my2(N*F); std::vector<int32_t> am1(N*F), am2(N*F);
    cpu::maxout_forward(mx.data(), my1.data(), am1.data(), N, F, k); cuda::maxout_forward(mx.data(), my2.data(), am2.data(), N, F, k); cmp(my2, my1, 0, 0, "maxout y"); cmp(am2, am1, 0, 0, "maxout argmax");
    V mdy = randn(N*F), md1 = randn(N*F*k), md2 = md1; cpu::maxout_backward(mdy.data(), am1.data(), md1.data(), N, F, k); cuda::maxout_backward(mdy.data(), am1.data(), md2.data(), N, F, k); cmp(md2, md1, 0, 0, "maxout dx");
    std::vector<int32_t> idx(50); for (int i = 0; i < 50; ++i) idx[i] = (i * 13) % N; V g1(50*D), g2(50*D);
    cpu::gather_rows(x.data(), idx.data(), g1.data(), 50, D); cuda::gather_rows(x.data(), idx.data(), g2.data(), 50, D); cmp(g2, g1, 0, 0, "gather_rows");
    // sum: the CUDA kernel accumulates in double; the CPU adds float blocks
    // (~1e-3 absolute at this size): compare the CUDA sum with the exact one.
    V big = randn(100003);
    double exact = 0;
    for (float v : big) exact += v;
    cmpd(cuda::sum(big.data(), 100003), exact, 1e-12, "sum");
    cmp(std::vector<double>{cuda::sum(big.data(), 100003)}, std::vector<double>{cpu::sum(big.data(), 100003)}, 0, 5e-3, "sum vs cpu");
    cmpd(cuda::sum(big.data(), 1), cpu::sum(big.data(), 1), 0, "sum n=1");
  }
  // conv2d (conv1d as H = 1): forward, backward data, backward weight (with
  // and without bias, overwrite and accumulate), each backend with its own
  // workspace. Geometries: stride 1/2, padding 0/1/2, dilation 1/2,
  // non-square kernels and images, 1×1 (the direct path on a large plane, the
  // chunked path on a small one, stride 2 as a shortcut), N = 1, a kernel
  // larger than the unpadded input, a batch that the tiny-grid build's small
  // workspace budget cuts into several chunks with a short last one.
  {
    struct CG { int N, C, H, W, K, kh, kw, sh, sw, ph, pw, dh, dw; };
    for (CG t : std::vector<CG>{{2,3,7,6,4,3,3,1,1,1,1,1,1}, {3,2,9,8,5,3,3,2,2,1,1,1,1}, {2,2,9,8,3,3,2,2,1,1,0,2,1},
                                {1,4,16,17,3,1,1,1,1,0,0,1,1}, {2,3,16,16,5,1,1,1,1,0,0,1,1}, {5,3,4,4,2,1,1,1,1,0,0,1,1},
                                {3,2,9,9,4,1,1,2,2,0,0,1,1}, {3,2,1,20,3,1,5,1,2,0,2,1,2}, {2,3,1,33,4,1,3,1,1,0,1,1,1},
                                {2,2,2,3,3,5,5,1,1,2,2,1,1}, {7,3,5,5,4,3,3,1,1,0,0,1,1}, {4,3,8,8,6,3,3,2,2,1,1,1,1},
                                {1,1,1,1,1,1,1,1,1,0,0,1,1}, {3,5,6,7,2,2,3,1,2,0,1,2,1}, {7,2,5,5,3,2,2,1,1,0,0,1,1},
                                {5,2,1,12,3,1,3,1,1,0,1,1,1}, {3,5,13,21,7,1,1,1,1,0,0,1,1}}) {
      ConvGeom g{t.N, t.C, t.H, t.W, t.K, t.kh, t.kw, t.sh, t.sw, t.ph, t.pw, t.dh, t.dw, 0, 0};
      g.Ho = (g.H + 2 * g.ph - g.dh * (g.kh - 1) - 1) / g.sh + 1;
      g.Wo = (g.W + 2 * g.pw - g.dw * (g.kw - 1) - 1) / g.sw + 1;
      const size_t nx = (size_t)(g.N * g.C * g.H * g.W), nw = (size_t)(g.K * g.C * g.kh * g.kw), ny = (size_t)(g.N * g.K * g.Ho * g.Wo);
      V x = randn(nx), w = randn(nw, 0.3f), b = randn(g.K), dy = randn(ny);
      // Exact sizes (at least one float): under IMIX_EMU_SANITIZE a write past either stops the run.
      V wsc((size_t)std::max<int64_t>(1, cpu::conv2d_workspace_floats(g))), wsg((size_t)std::max<int64_t>(1, cuda::conv2d_workspace_floats(g)));
      char tag[128];
      std::snprintf(tag, sizeof tag, "conv2d N%d C%d %dx%d K%d k%dx%d s%d,%d p%d,%d d%d,%d", t.N, t.C, t.H, t.W, t.K, t.kh, t.kw,
                    t.sh, t.sw, t.ph, t.pw, t.dh, t.dw);
      const std::string tg = tag;
      for (int bias = 0; bias < 2; ++bias) {
        V y1(ny, NAN), y2(ny, NAN);
        cpu::conv2d_forward(x.data(), w.data(), bias ? b.data() : nullptr, y1.data(), g, wsc.data());
        cuda::conv2d_forward(x.data(), w.data(), bias ? b.data() : nullptr, y2.data(), g, wsg.data());
        cmp(y2, y1, 1e-5, 1e-5, tg + (bias ? " y+b" : " y"));
      }
      V dx1(nx, NAN), dx2(nx, NAN);
      cpu::conv2d_backward_data(dy.data(), w.data(), dx1.data(), g, wsc.data());
      cuda::conv2d_backward_data(dy.data(), w.data(), dx2.data(), g, wsg.data());
      cmp(dx2, dx1, 1e-5, 1e-5, tg + " dx");
      for (int acc = 0; acc < 2; ++acc) {
        V dw1 = acc ? randn(nw) : V(nw, NAN), dw2 = dw1, db1 = acc ? randn(g.K) : V(g.K, NAN), db2 = db1;
        cpu::conv2d_backward_weight(dy.data(), x.data(), dw1.data(), db1.data(), g, wsc.data(), acc);
        cuda::conv2d_backward_weight(dy.data(), x.data(), dw2.data(), db2.data(), g, wsg.data(), acc);
        cmp(dw2, dw1, 1e-5, 1e-4, tg + (acc ? " dw (+=)" : " dw"));
        cmp(db2, db1, 1e-6, 1e-5, tg + (acc ? " db (+=)" : " db"));
      }
      V dw1(nw, NAN), dw2(nw, NAN);
      cpu::conv2d_backward_weight(dy.data(), x.data(), dw1.data(), nullptr, g, wsc.data(), false);
      cuda::conv2d_backward_weight(dy.data(), x.data(), dw2.data(), nullptr, g, wsg.data(), false);
      cmp(dw2, dw1, 1e-5, 1e-4, tg + " dw (no db)");
    }
  }
  // conv2d with non-finite values: an infinity or NaN reaches exactly the
  // outputs whose sums read it (a padded or skipped position never multiplies
  // it by 0), on every path of both backends: the non-finite entries must
  // match exactly (cmp: NaN with NaN, ±inf with the same sign).
  {
    struct CG { int N, C, H, W, K, kh, kw, s, p; };
    for (CG t : std::vector<CG>{{2,3,7,7,8,3,3,1,1}, {2,32,6,6,32,3,3,1,1}, {2,3,7,7,8,3,3,2,1}, {2,3,16,16,4,1,1,1,0}, {3,2,5,6,3,1,1,2,0}}) {
      ConvGeom g{t.N, t.C, t.H, t.W, t.K, t.kh, t.kw, t.s, t.s, t.p, t.p, 1, 1, 0, 0};
      g.Ho = (g.H + 2 * g.ph - (g.kh - 1) - 1) / g.sh + 1;
      g.Wo = (g.W + 2 * g.pw - (g.kw - 1) - 1) / g.sw + 1;
      const int plane = t.H * t.W, oplane = (int)(g.Ho * g.Wo);
      const size_t nx = (size_t)(t.N * t.C * plane), nw = (size_t)(t.K * t.C * t.kh * t.kw), ny = (size_t)(t.N * t.K * oplane);
      V x = randn(nx), w = randn(nw, 0.3f), b = randn(t.K), dy = randn(ny);
      x[0] = INFINITY; x[plane - 1] = -INFINITY; x[plane + plane / 2] = NAN;
      V dyi = dy; dyi[oplane - 1] = INFINITY; dyi[1] = -INFINITY;
      V wsc((size_t)std::max<int64_t>(1, cpu::conv2d_workspace_floats(g)), NAN), wsg((size_t)std::max<int64_t>(1, cuda::conv2d_workspace_floats(g)), NAN);
      const std::string tg = "conv2d non-finite N" + std::to_string(t.N) + " C" + std::to_string(t.C) + " " + std::to_string(t.H) + "x" +
                             std::to_string(t.W) + " k" + std::to_string(t.kh) + " s" + std::to_string(t.s) + " p" + std::to_string(t.p);
      V y1(ny), y2(ny), dx1(nx), dx2(nx), dw1(nw), dw2(nw), db1(t.K), db2(t.K);
      cpu::conv2d_forward(x.data(), w.data(), b.data(), y1.data(), g, wsc.data());
      cuda::conv2d_forward(x.data(), w.data(), b.data(), y2.data(), g, wsg.data());
      cmp(y2, y1, 1e-5, 1e-5, tg + " y");
      cpu::conv2d_backward_weight(dy.data(), x.data(), dw1.data(), db1.data(), g, wsc.data(), false);
      cuda::conv2d_backward_weight(dy.data(), x.data(), dw2.data(), db2.data(), g, wsg.data(), false);
      cmp(dw2, dw1, 1e-5, 1e-4, tg + " dw");
      cpu::conv2d_backward_data(dyi.data(), w.data(), dx1.data(), g, wsc.data());
      cuda::conv2d_backward_data(dyi.data(), w.data(), dx2.data(), g, wsg.data());
      cmp(dx2, dx1, 1e-5, 1e-5, tg + " dx");
    }
  }
  // batchnorm2d over [N, C, S]: several chunks a channel (M = N·S > 1024),
  // many channels, M = 1, a large mean; affine or not, fused ReLU or not
  // (the backward then masks dy by y > 0), overwrite and accumulate.
  for (auto [N, C, S, shift, affine, relu] : std::vector<std::tuple<int,int,int,float,bool,bool>>{
           {2,3,5,0,true,false}, {8,3,300,0,true,true}, {1,2,1,0,true,false}, {4,70,9,0,false,true},
           {3,5,1000,1000,true,false}, {6,4,64,0,true,true}, {2,1,3000,0,false,false},
           {6,7,37,0,true,true}, {40,3,7,0,false,false}}) {  // no powers of two: the walks wrap planes and channels
    const int n = N * C * S;
    V x = randn(n); for (auto& v : x) v += shift;
    V g = randu(C, 0.5f, 1.5f), b = randn(C), dy = randn(n);
    V y1(n), y2(n), sm1(C), sm2(C), si1(C), si2(C), rm1 = randn(C), rm2 = rm1, rv1 = randu(C, 0.5f, 2), rv2 = rv1;
    const float* gp = affine ? g.data() : nullptr; const float* bp = affine ? b.data() : nullptr;
    cpu::batchnorm2d_forward_train(x.data(), y1.data(), N, C, S, gp, bp, 1e-5f, 0.1f, rm1.data(), rv1.data(), sm1.data(), si1.data(), relu);
    cuda::batchnorm2d_forward_train(x.data(), y2.data(), N, C, S, gp, bp, 1e-5f, 0.1f, rm2.data(), rv2.data(), sm2.data(), si2.data(), relu);
    std::string t = "bn2d N=" + std::to_string(N) + " C=" + std::to_string(C) + " S=" + std::to_string(S) + (relu ? " relu" : "");
    cmp(y2, y1, 1e-5, 1e-5, t + " y"); cmp(sm2, sm1, 1e-6, 1e-6, t + " mean"); cmp(si2, si1, 1e-6, 1e-6, t + " invstd");
    cmp(rm2, rm1, 1e-6, 1e-6, t + " rm"); cmp(rv2, rv1, 1e-6, 1e-6, t + " rv");
    cpu::batchnorm2d_forward_eval(x.data(), y1.data(), N, C, S, gp, bp, rm1.data(), rv1.data(), 1e-5f, relu);
    cuda::batchnorm2d_forward_eval(x.data(), y2.data(), N, C, S, gp, bp, rm1.data(), rv1.data(), 1e-5f, relu);
    cmp(y2, y1, 1e-5, 1e-5, t + " eval");
    cpu::batchnorm2d_forward_train(x.data(), y1.data(), N, C, S, gp, bp, 1e-5f, 0.1f, nullptr, nullptr, sm1.data(), si1.data(), relu);
    for (int acc = 0; acc < 2; ++acc) {
      V dx1(n), dx2(n), dg1 = randn(C), dg2 = dg1, db1 = randn(C), db2 = db1;
      const float* yp = relu ? y1.data() : nullptr;
      cpu::batchnorm2d_backward(dy.data(), x.data(), yp, gp, sm1.data(), si1.data(), N, C, S, dx1.data(), affine ? dg1.data() : nullptr, affine ? db1.data() : nullptr, acc);
      cuda::batchnorm2d_backward(dy.data(), x.data(), yp, gp, sm1.data(), si1.data(), N, C, S, dx2.data(), affine ? dg2.data() : nullptr, affine ? db2.data() : nullptr, acc);
      const std::string ta = t + (acc ? " (+=)" : "");
      cmp(dx2, dx1, 1e-5, 1e-5, ta + " dx"); cmp(dg2, dg1, 1e-5, 1e-5, ta + " dgamma"); cmp(db2, db1, 1e-5, 1e-5, ta + " dbeta");
    }
  }
  // max-pool: padding, overlapping windows (stride < k), stride > k, a 1×1
  // window; many ties (rounded values), NaNs (two in one window), a plane of
  // −∞. y, argmax and dx must agree exactly: the CUDA gather adds the same
  // terms in the same order as the CPU's scatter.
  {
    struct PG { int N, C, H, W, kh, kw, sh, sw, ph, pw; };
    for (PG t : std::vector<PG>{{2,3,7,6,3,3,2,2,1,1}, {1,2,5,5,2,2,2,2,0,0}, {2,1,6,9,3,2,1,1,1,1}, {1,1,4,4,3,3,1,2,1,0},
                                {2,2,8,7,3,3,3,3,1,1}, {1,1,1,1,1,1,1,1,0,0}, {3,2,9,4,2,3,3,1,1,1}, {2,2,7,7,3,3,1,1,0,0}}) {
      PoolGeom g{t.N, t.C, t.H, t.W, t.kh, t.kw, t.sh, t.sw, t.ph, t.pw, 0, 0};
      g.Ho = (g.H + 2 * g.ph - g.kh) / g.sh + 1;
      g.Wo = (g.W + 2 * g.pw - g.kw) / g.sw + 1;
      const int nx = t.N * t.C * t.H * t.W, ny = (int)(g.N * g.C * g.Ho * g.Wo), plane = t.H * t.W;
      V x = randn(nx);
      for (auto& v : x) v = std::round(v * 2);  // ties
      if (plane >= 4) { x[1] = NAN; x[2] = NAN; }  // NaNs in one window
      if (t.N * t.C > 1 && plane > 1) std::fill(x.end() - plane, x.end(), -INFINITY);  // a plane of −∞
      V y1(ny), y2(ny), dy = randn(ny), dx1(nx, NAN), dx2(nx, NAN);
      std::vector<int32_t> a1(ny), a2(ny);
      char tag[96];
      std::snprintf(tag, sizeof tag, "maxpool N%d C%d %dx%d k%dx%d s%d,%d p%d,%d", t.N, t.C, t.H, t.W, t.kh, t.kw, t.sh, t.sw, t.ph, t.pw);
      cpu::maxpool2d_forward(x.data(), y1.data(), a1.data(), g); cuda::maxpool2d_forward(x.data(), y2.data(), a2.data(), g);
      cmp(y2, y1, 0, 0, std::string(tag) + " y"); cmp(a2, a1, 0, 0, std::string(tag) + " argmax");
      cpu::maxpool2d_backward(dy.data(), a1.data(), dx1.data(), g); cuda::maxpool2d_backward(dy.data(), a1.data(), dx2.data(), g);
      cmp(dx2, dx1, 0, 0, std::string(tag) + " dx");
      // argmax entries anywhere in the plane (the binding allows them; the
      // forward never writes one outside its window): the CUDA kernel adds
      // those after the gather, so a sum may round differently.
      std::vector<int32_t> ar(ny);
      for (int i = 0; i < ny; ++i) ar[i] = (int32_t)(rng() % (unsigned)plane);
      cpu::maxpool2d_backward(dy.data(), ar.data(), dx1.data(), g); cuda::maxpool2d_backward(dy.data(), ar.data(), dx2.data(), g);
      cmp(dx2, dx1, 1e-6, 1e-6, std::string(tag) + " dx (argmax anywhere in the plane)");
    }
  }
  // global average pool, and the residual join add_relu (NaN kept, in place).
  for (auto [P, S] : std::vector<std::pair<int,int>>{{37, 49}, {5, 1}, {3, 1000}, {70, 16}}) {
    V x = randn(P * S), y1(P), y2(P), dy = randn(P), dx1(P * S), dx2(P * S);
    cpu::avgpool_global_forward(x.data(), y1.data(), P, S); cuda::avgpool_global_forward(x.data(), y2.data(), P, S);
    cmp(y2, y1, 1e-6, 1e-7, "avgpool_global P=" + std::to_string(P) + " S=" + std::to_string(S));
    cpu::avgpool_global_backward(dy.data(), dx1.data(), P, S); cuda::avgpool_global_backward(dy.data(), dx2.data(), P, S);
    cmp(dx2, dx1, 0, 0, "avgpool_global backward S=" + std::to_string(S));
  }
  {
    const int n = 1001;
    V a = randn(n), b = randn(n); a[3] = NAN; b[4] = NAN; a[5] = -0.0f; b[5] = 0.0f;
    V y1(n), y2(n);
    cpu::add_relu_forward(a.data(), b.data(), y1.data(), n); cuda::add_relu_forward(a.data(), b.data(), y2.data(), n);
    cmp(y2, y1, 0, 0, "add_relu_forward");
    V a2 = a; cuda::add_relu_forward(a2.data(), b.data(), a2.data(), n); cmp(a2, y1, 0, 0, "add_relu_forward in place");
  }
  // colour jitter (random and from params) and random grayscale, C = 3 and 1:
  // one block per image, several images a block under the tiny grid caps,
  // planes shorter and longer than a block, contrast at every position of the
  // order (its mean is a block reduction), in place. Same draws, same float
  // expressions: only the double mean's summation order differs, and the hue
  // step amplifies an ulp of its input to ~1e-6 (parity.test.ts).
  for (auto [N, C, HW, p] : std::vector<std::tuple<int,int,int,float>>{{1,3,1,1.0f},{7,3,35,0.8f},{5,3,700,1.0f},{24,3,9,1.0f},{6,1,300,0.9f},{3,1,1,1.0f}}) {
    const size_t n = (size_t)N * C * HW;
    V x = randu(n, 0, 1), o1(n, NAN), o2(n, NAN);
    const std::string t = "color N=" + std::to_string(N) + " C=" + std::to_string(C) + " HW=" + std::to_string(HW);
    for (auto [b, c, s, h] : std::vector<std::tuple<float,float,float,float>>{{0.4f,0.4f,0.4f,0.1f},{1.5f,0.9f,2.0f,0.5f},{0,0.8f,0,0.3f},{0,0,0,0}}) {
      cpu::color_jitter(x.data(), o1.data(), N, C, HW, b, c, s, h, p, 42, 7);
      cuda::color_jitter(x.data(), o2.data(), N, C, HW, b, c, s, h, p, 42, 7);
      cmp(o2, o1, 0, 5e-6, t + " jitter b=" + std::to_string(b) + " h=" + std::to_string(h));
      V xi = x;
      cuda::color_jitter(xi.data(), xi.data(), N, C, HW, b, c, s, h, p, 42, 7);
      cmp(xi, o2, 0, 0, t + " jitter in place");
    }
    // params: every order of the four adjustments across the images (contrast at each position), a row of none, gaps.
    V params((size_t)N * 8);
    for (int i = 0; i < N; ++i) {
      int perm[4] = {0, 1, 2, 3};
      for (int k = 0; k < i % 24; ++k) std::next_permutation(perm, perm + 4);
      const float row[8] = {0.5f + 0.1f * (i % 9), 0.3f * (i % 7), 1.9f - 0.2f * (i % 5), -0.5f + 0.07f * (i % 15),
                            (float)perm[0], (float)perm[1], i % 5 == 3 ? -1.0f : (float)perm[2], (float)perm[3]};
      std::copy(row, row + 8, params.begin() + 8 * i);
      if (i % 11 == 10) std::fill(params.begin() + 8 * i + 4, params.begin() + 8 * i + 8, -1.0f);
    }
    cpu::color_adjust(x.data(), o1.data(), N, C, HW, params.data());
    cuda::color_adjust(x.data(), o2.data(), N, C, HW, params.data());
    cmp(o2, o1, 0, 5e-6, t + " adjust");
    V xa = x;
    cuda::color_adjust(xa.data(), xa.data(), N, C, HW, params.data());
    cmp(xa, o2, 0, 0, t + " adjust in place");
    for (float gp : {0.0f, 0.5f, 1.0f}) {
      cpu::random_grayscale(x.data(), o1.data(), N, C, HW, gp, 3, 9);
      cuda::random_grayscale(x.data(), o2.data(), N, C, HW, gp, 3, 9);
      cmp(o2, o1, 0, 0, t + " grayscale p=" + std::to_string(gp));
    }
    V xg = x;
    cpu::random_grayscale(x.data(), o1.data(), N, C, HW, 0.5f, 3, 9);
    cuda::random_grayscale(xg.data(), xg.data(), N, C, HW, 0.5f, 3, 9);
    cmp(xg, o1, 0, 0, t + " grayscale in place");
  }
  std::printf("cuda-emulate: %ld emulated launches\n", emu::launches);
  std::printf("%d passed, %d failed\n", passes, failures);
  return failures ? 1 : 0;
}
