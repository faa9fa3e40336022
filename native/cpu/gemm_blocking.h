// The cache blocking and threading both built-in gemm kernels share: the
// fp32 fallback of gemm.cpp (no system BLAS) and the bf16 gemm of
// gemm_bf16.cpp. They differ only in what a packed value is (a float, or two
// bf16 along K in one 32-bit word) and in their micro-kernel; the structure
// around them is the BLIS/GotoBLAS one gemm.cpp describes:
//   - C is cut into tiles of at most mc × nc (column blocks of at most NC
//     columns, cut further until every thread has work); threads take whole
//     tiles (parallel_for), so no two threads write the same element of C;
//   - per tile, K is walked in equal blocks of depth kc ≤ KC; the kc × nc
//     block of op(B) is packed once (it stays in L2) as NR-column
//     micro-panels, each MR-row micro-panel of op(A) right before use (L1);
//   - the micro-kernel computes an MR × NR block of C in registers over one
//     K block and adds it into C: C = alpha·acc + (first block ? beta : 1)·C.
// Every element of C is so the same sum in the same order whatever the
// thread count: the K blocks depend on K alone, and each tile is one thread's.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "parallel.h"

namespace imix::cpu::blocking {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// A packing buffer: 64-byte aligned, kept per calling thread and only grown,
// so a training loop does not allocate per gemm. Allocated before the
// parallel region (an allocation failure must not throw inside OpenMP).
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { std::free(p_); }
  void* get(size_t bytes) {
    if (bytes > n_) {
      std::free(p_);
      n_ = 0;
      p_ = std::aligned_alloc(64, round_up((int64_t)bytes, 64));
      if (!p_) throw std::bad_alloc();
      n_ = bytes;
    }
    return p_;
  }

 private:
  void* p_ = nullptr;
  size_t n_ = 0;
};

// How one gemm is cut: K blocks of depth kc (the last may be shorter), a grid
// of mb × nb tiles of mc × nc, and the workers that share the tiles.
struct Plan {
  int64_t kc, mc, nc, mb, nb, workers;
  int64_t tiles() const { return mb * nb; }
};

// K in equal blocks of at most KC (a multiple of 8: whole bf16 pairs, whole
// vectors); then column blocks of at most NC (the packed B block lives in
// L2), all rows; then more tiles until every thread has work and the count
// splits evenly (a few tiles per thread at most). Products under 4 MFLOP
// stay on one thread: a fork costs more than they do.
inline Plan plan(int64_t M, int64_t N, int64_t K, int64_t MR, int64_t NR, int64_t KC, int64_t NC) {
  const int64_t kc = round_up(ceil_div(K, ceil_div(K, KC)), 8);
  const double flops = 2.0 * (double)M * (double)N * (double)K;
  const int64_t want = flops < 4e6 ? 1 : num_threads();
  int64_t mb = 1, nb = ceil_div(N, NC);
  while (mb * nb < want || (mb * nb) % want != 0) {
    const int64_t mt = ceil_div(M, mb), ntl = ceil_div(N, nb);
    if (mb * nb >= 4 * want) break;  // enough tiles to balance well enough
    if (mt > 4 * MR && (mt / MR >= ntl / NR || ntl <= 2 * NR)) ++mb;
    else if (ntl > 2 * NR) ++nb;
    else if (mt > MR) ++mb;
    else break;
  }
  const int64_t mc = round_up(ceil_div(M, mb), MR), nc = round_up(ceil_div(N, nb), NR);
  mb = ceil_div(M, mc);
  nb = ceil_div(N, nc);
  return {kc, mc, nc, mb, nb, std::min<int64_t>(mb * nb, want)};
}

// Runs C = alpha·op(A)·op(B) + beta·C through a kernel family F, which
// holds the operands and alpha and provides
//   F::MR, F::NR, F::KC, F::NC            register tile and block limits
//   F::Packed                              a packed value (4 bytes)
//   F::depth(kc)                           packed values per row of a kc-deep panel
//   f.pack_a(i0, mr, k0, kc, dst)          op(A)[i0:i0+mr, k0:k0+kc] → one MR-row micro-panel
//   f.pack_b(k0, kc, j0, nc, dst)          op(B)[k0:k0+kc, j0:j0+nc] → NR-column micro-panels,
//                                          the one of column j0+jr at dst + jr·depth(kc)
//   f.micro(kc, a, b, C, ldc, mr, nr, beta) C[0:mr, 0:nr] = alpha·(a·b) + beta·C (beta 0: C not read)
// with zero padding past mr, nr and kc done by the packing.
template <class F>
void run(const F& f, int64_t M, int64_t N, int64_t K, float beta, float* C, int64_t ldc) {
  using P = typename F::Packed;
  const Plan p = plan(M, N, K, F::MR, F::NR, F::KC, F::NC);
  // Each worker owns a contiguous run of tiles and one slice of the scratch
  // (an MR-row A panel and a kc × nc B block), 64-byte aligned.
  const int64_t a_size = round_up(F::MR * F::depth(p.kc), 64 / sizeof(P));
  const int64_t b_size = round_up(p.nc * F::depth(p.kc), 64 / sizeof(P));
  static thread_local Scratch scratch;
  P* buf = static_cast<P*>(scratch.get(sizeof(P) * (size_t)(p.workers * (a_size + b_size))));
  const int64_t tiles = p.tiles();
  parallel_for(p.workers, 1, [&](int64_t w0, int64_t w1) {
    for (int64_t w = w0; w < w1; ++w) {
      P* pa = buf + w * (a_size + b_size);
      P* pb = pa + a_size;
      for (int64_t t = tiles * w / p.workers, te = tiles * (w + 1) / p.workers; t < te; ++t) {
        const int64_t i0 = (t / p.nb) * p.mc, j0 = (t % p.nb) * p.nc;
        const int64_t mcur = std::min(p.mc, M - i0), ncur = std::min(p.nc, N - j0);
        for (int64_t k0 = 0; k0 < K; k0 += p.kc) {
          const int64_t kc = std::min(p.kc, K - k0);
          const float bk = k0 == 0 ? beta : 1.0f;
          f.pack_b(k0, kc, j0, ncur, pb);
          for (int64_t ir = 0; ir < mcur; ir += F::MR) {
            const int mr = (int)std::min<int64_t>(F::MR, mcur - ir);
            f.pack_a(i0 + ir, mr, k0, kc, pa);
            float* c = C + (i0 + ir) * ldc + j0;
            for (int64_t jr = 0; jr < ncur; jr += F::NR) {
              const int nr = (int)std::min<int64_t>(F::NR, ncur - jr);
              f.micro(kc, pa, pb + jr * F::depth(kc), c + jr, ldc, mr, nr, bk);
            }
          }
        }
      }
    }
  });
}

}  // namespace imix::cpu::blocking
