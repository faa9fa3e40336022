// gemm: C[M,N] = alpha·op(A)·op(B) + beta·C, row-major fp32.
//
// With a system BLAS (IMIX_HAVE_CBLAS) the product is cblas_sgemm: the
// row-major flags and leading dimensions map one to one, and the degenerate
// shapes (M, N or K == 0, alpha == 0) are handled here so the BLAS never sees
// them (K == 0 means C = beta·C, and beta == 0 never reads C, as kernels.h
// says). With OpenBLAS, C is split into one block per imix thread and each
// block is a single-threaded call (see blas_gemm for why).
//
// Without one, the built-in kernel follows the BLIS/GotoBLAS structure,
// because that is what makes a gemm fast on a cached CPU (the blocking and
// threading are gemm_blocking.h, shared with the bf16 gemm of gemm_bf16.cpp;
// the packing and the micro-kernel are here):
//   - C is cut into tiles: column blocks of at most NC columns over all
//     rows, cut further (rows or columns) until every thread has work.
//     Threads take whole tiles (parallel_for), so no two threads ever write
//     the same element of C.
//   - per tile, K is walked in equal blocks of at most KC. The KC×NC block
//     of op(B) is packed once into a contiguous, 64-byte aligned buffer (it
//     stays in L2), as NR-column micro-panels (NR contiguous values per k).
//     op(A) is packed one MR-row micro-panel at a time (MR values per k,
//     stays in L1) right before it is used across the whole B block.
//     Packing is where the four transpose combinations and the leading
//     dimensions disappear (transposed B goes through 8×8 register
//     transposes with AVX), and where partial panels are zero-padded so the
//     micro-kernel never branches.
//   - the micro-kernel keeps an MR×NR block of C in registers (MR rows × NV
//     vectors) and per k does NV vector loads of B, MR broadcasts of A and
//     MR·NV fused multiply-adds: 12×32 with AVX-512 (24 of 32 registers),
//     6×16 with AVX/AVX2 (12 of 16), 4×8 on 128-bit vectors without FMA. It
//     is GCC vector extensions plus an explicit FMA, so GCC emits the
//     register tile one would write by hand; the C tile is prefetched while
//     the k loop runs.
// Every C element is a dot product accumulated in fp32 over K (in KC-long
// partial sums added into C), the same arithmetic a BLAS does. On the dev
// machine (Zen 4, AVX-512) it runs at ~95% of OpenBLAS's sgemm rate on the
// shapes of bench/gemm.ts.
#include <algorithm>
#include <cstring>

#include "gemm_blocking.h"
#include "kernels.h"
#include "parallel.h"

#if defined(IMIX_HAVE_CBLAS)
#include <cblas.h>
#else
#if defined(__AVX__)
#include <immintrin.h>
#elif defined(__SSE__)
#include <xmmintrin.h>
#endif
#endif

namespace imix::cpu {

const char* blas_name() {
#if defined(IMIX_HAVE_OPENBLAS)
  return "openblas";
#elif defined(IMIX_HAVE_CBLAS)
  return "cblas";
#else
  return "fallback";
#endif
}

#if defined(IMIX_HAVE_OPENBLAS)
extern "C" char* openblas_get_corename(void);
#endif

// The kernel set the BLAS runs: OpenBLAS's DYNAMIC_ARCH build picks one per
// CPU at load time (e.g. "Cooperlake", "Zen", "Haswell"), and two picks sum
// in different orders; "" for other BLAS and the built-in gemm.
const char* blas_core() {
#if defined(IMIX_HAVE_OPENBLAS)
  const char* c = openblas_get_corename();
  return c ? c : "";
#else
  return "";
#endif
}

namespace {

// C = beta·C over an M×N block (the K == 0 case); beta == 0 writes zeros.
void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  if (beta == 1.0f) return;
  for (int64_t i = 0; i < M; ++i) {
    float* __restrict c = C + i * ldc;
    if (beta == 0.0f) {
      std::fill(c, c + N, 0.0f);
    } else {
#pragma omp simd
      for (int64_t j = 0; j < N; ++j) c[j] *= beta;
    }
  }
}

#if defined(IMIX_HAVE_CBLAS)
void sgemm(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, (int)M, (int)N,
              (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

#if defined(IMIX_HAVE_OPENBLAS)
// OpenBLAS (pthreads build) keeps its own thread pool, and its idle workers
// and imix's OpenMP workers spin-wait for the same cores: on a 2-core box a
// gemm right after any parallel elementwise kernel ran at half speed or worse
// (a training step took 2× as long as with the built-in kernel). So imix
// splits C into one block per imix thread (parallel_for, the same OpenMP
// pool as every other kernel) and each block is one single-threaded
// cblas_sgemm call: one pool, no oversubscription, OpenBLAS's kernels.
extern "C" int openblas_get_num_threads(void);
extern "C" void openblas_set_num_threads(int);

void blas_gemm(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
  const int nt = num_threads();
  const double flops = 2.0 * (double)M * (double)N * (double)K;
  if (nt <= 1 || flops < 4e6) {
    sgemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  // Split the longer side of C into up to nt blocks of ≥ 64 (column edges on
  // 16-float = 64-byte boundaries so no two threads share a cache line of C).
  const bool split_n = N >= M;
  const int64_t len = split_n ? N : M;
  const int64_t blocks = std::max<int64_t>(1, std::min<int64_t>(nt, len / 64));
  auto edge = [&](int64_t b) {
    if (b >= blocks) return len;
    const int64_t e = len * b / blocks;
    return split_n ? e / 16 * 16 : e;
  };
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t s = edge(b), e = edge(b + 1);
      if (e <= s) continue;
      if (split_n)
        sgemm(tA, tB, M, e - s, K, alpha, A, lda, tB ? B + s * ldb : B + s, ldb, beta, C + s, ldc);
      else
        sgemm(tA, tB, e - s, N, K, alpha, tA ? A + s : A + s * lda, lda, B, ldb, beta, C + s * ldc, ldc);
    }
  });
}
#else
// Another CBLAS: its threading is its own business; one call.
void blas_gemm(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  sgemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#endif
#endif  // IMIX_HAVE_CBLAS

#if !defined(IMIX_HAVE_CBLAS)

#if defined(__AVX512F__)
constexpr int VL = 16;  // floats per vector register
constexpr int MR = 12;  // rows of the register tile
constexpr int NV = 2;   // vectors per row of the register tile
#elif defined(__AVX__)
constexpr int VL = 8;
constexpr int MR = 6;
constexpr int NV = 2;
#else  // 128-bit vectors, usually without FMA: 4×8 leaves registers for the products
constexpr int VL = 4;
constexpr int MR = 4;
constexpr int NV = 2;
#endif
constexpr int NR = NV * VL;  // columns of the register tile
constexpr int KC = 256;      // depth of a packed block
#if defined(__AVX512F__)
constexpr int NC = 384;  // max columns of a C tile: the packed KC×NC B block (384 KB) sits in L2
#else
constexpr int NC = 192;  // AVX2-era cores often have 256 KB of L2
#endif

typedef float vf __attribute__((vector_size(VL * 4)));                // aligned
typedef float vfu __attribute__((vector_size(VL * 4), aligned(4)));   // unaligned

inline vf fmadd(vf a, vf b, vf c) {
#if defined(__AVX512F__)
  return _mm512_fmadd_ps(a, b, c);
#elif defined(__FMA__)
  return _mm256_fmadd_ps(a, b, c);
#else
  return a * b + c;
#endif
}

inline vf splat(float x) {
#if defined(__AVX512F__)
  return _mm512_set1_ps(x);
#elif defined(__AVX__)
  return _mm256_set1_ps(x);
#elif defined(__SSE__)
  return _mm_set1_ps(x);
#else
  return x - vf{};  // x − (+0) == x exactly, so this folds to a broadcast
#endif
}

// acc = Σ_k a[k,:]ᵀ·b[k,:] over one MR×KC A panel and one KC×NR B panel,
// then C tile (mr×nr valid) = alpha·acc + beta·C (beta == 0: C not read).
void micro_kernel(int64_t kc, const float* __restrict a, const float* __restrict b, float* C,
                  int64_t ldc, int mr, int nr, float alpha, float beta) {
  vf acc[MR][NV];
  for (int i = 0; i < MR; ++i) {
    for (int v = 0; v < NV; ++v) acc[i][v] = vf{};
    if (i < mr) {  // the C tile is read (or written) after the loop: fetch it now
      __builtin_prefetch(C + i * ldc, 1);
      __builtin_prefetch(C + i * ldc + NR - 1, 1);
    }
  }
  for (int64_t k = 0; k < kc; ++k) {
    vf bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = *(const vf*)(b + v * VL);
    for (int i = 0; i < MR; ++i) {
      vf av = splat(a[i]);
      for (int v = 0; v < NV; ++v) acc[i][v] = fmadd(av, bv[v], acc[i][v]);
    }
    a += MR;
    b += NR;
  }
  const vf va = splat(alpha), vb = splat(beta);
  if (mr == MR && nr == NR) {
    for (int i = 0; i < MR; ++i) {
      float* c = C + i * ldc;
      for (int v = 0; v < NV; ++v) {
        vfu* cp = (vfu*)(c + v * VL);
        *cp = beta == 0.0f ? va * acc[i][v] : fmadd(vb, *cp, va * acc[i][v]);
      }
    }
    return;
  }
  alignas(64) float tile[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) *(vf*)(&tile[i][v * VL]) = va * acc[i][v];
  for (int i = 0; i < mr; ++i) {
    float* c = C + i * ldc;
    if (beta == 0.0f)
      for (int j = 0; j < nr; ++j) c[j] = tile[i][j];
    else
      for (int j = 0; j < nr; ++j) c[j] = beta * c[j] + tile[i][j];
  }
}

// Packs rows [i0, i0+mr) × cols [k0, k0+kc) of op(A) into one MR-row
// micro-panel (k-major: MR values per k), zero-padding rows past mr.
void pack_a(bool tA, const float* A, int64_t lda, int64_t i0, int mr, int64_t k0, int64_t kc,
            float* __restrict d) {
  if (tA) {  // op(A)[i,k] = A[k,i]: MR contiguous values per k
    const float* s = A + k0 * lda + i0;
    if (mr == MR) {
      for (int64_t k = 0; k < kc; ++k, s += lda)
        for (int r = 0; r < MR; ++r) d[k * MR + r] = s[r];
    } else {
      for (int64_t k = 0; k < kc; ++k, s += lda)
        for (int r = 0; r < MR; ++r) d[k * MR + r] = r < mr ? s[r] : 0.0f;
    }
  } else {  // op(A)[i,k] = A[i,k]: MR source rows read side by side
    const float* rows[MR];
    for (int r = 0; r < MR; ++r) rows[r] = A + (i0 + (r < mr ? r : 0)) * lda + k0;
    if (mr == MR) {
      for (int64_t k = 0; k < kc; ++k)
        for (int r = 0; r < MR; ++r) d[k * MR + r] = rows[r][k];
    } else {
      for (int64_t k = 0; k < kc; ++k)
        for (int r = 0; r < MR; ++r) d[k * MR + r] = r < mr ? rows[r][k] : 0.0f;
    }
  }
}

#if defined(__AVX__)
// dst[c*ldd + r] = src[r*lds + c] for an 8×8 block (AVX shuffles).
inline void transpose8x8(const float* s, int64_t lds, float* d, int64_t ldd) {
  __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + lds), r2 = _mm256_loadu_ps(s + 2 * lds),
         r3 = _mm256_loadu_ps(s + 3 * lds), r4 = _mm256_loadu_ps(s + 4 * lds),
         r5 = _mm256_loadu_ps(s + 5 * lds), r6 = _mm256_loadu_ps(s + 6 * lds),
         r7 = _mm256_loadu_ps(s + 7 * lds);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
         t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
         t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
         u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
         u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
         u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(d + 0 * ldd, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(d + 1 * ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(d + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(d + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(d + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(d + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(d + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(d + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}
#endif

// Packs rows [k0, k0+kc) × cols [j0, j0+nc) of op(B) into NR-column
// micro-panels (NR contiguous values per k), zero-padding columns past nc.
void pack_b(bool tB, const float* B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0, int64_t nc,
            float* __restrict dst) {
  for (int64_t p = 0; p < nc; p += NR) {
    const int64_t cols = std::min<int64_t>(NR, nc - p);
    float* __restrict d = dst + p * kc;
    if (!tB) {  // op(B)[k,j] = B[k,j]: a row segment per k
      for (int64_t k = 0; k < kc; ++k) {
        const float* s = B + (k0 + k) * ldb + j0 + p;
        float* dk = d + k * NR;
        if (cols == NR) {
          std::memcpy(dk, s, sizeof(float) * NR);
        } else {
          int64_t c = 0;
          for (; c < cols; ++c) dk[c] = s[c];
          for (; c < NR; ++c) dk[c] = 0.0f;
        }
      }
      continue;
    }
    // op(B)[k,j] = B[j,k]: a transpose. Whole 8×8 blocks go through
    // registers; the ragged edges (and non-AVX builds) go element-wise,
    // 8 k at a time so the written lines stay hot.
    const float* s0 = B + (j0 + p) * ldb + k0;
    int64_t kfull = 0, cfull = 0;
#if defined(__AVX__)
    kfull = kc / 8 * 8;
    cfull = cols / 8 * 8;
    for (int64_t k = 0; k < kfull; k += 8)
      for (int64_t c = 0; c < cfull; c += 8) transpose8x8(s0 + c * ldb + k, ldb, d + k * NR + c, NR);
#endif
    for (int64_t kk = 0; kk < kc; kk += 8) {
      const int64_t ke = std::min<int64_t>(kk + 8, kc);
      const int64_t cb = kk < kfull ? cfull : 0;  // columns already done for these k
      for (int64_t c = cb; c < cols; ++c) {
        const float* s = s0 + c * ldb;
        for (int64_t k = kk; k < ke; ++k) d[k * NR + c] = s[k];
      }
      for (int64_t c = cols; c < NR; ++c)
        for (int64_t k = kk; k < ke; ++k) d[k * NR + c] = 0.0f;
    }
  }
}

// The fp32 kernel family of the shared blocked driver (gemm_blocking.h).
struct F32Kernels {
  static constexpr int64_t MR = imix::cpu::MR, NR = imix::cpu::NR, KC = imix::cpu::KC, NC = imix::cpu::NC;
  using Packed = float;
  static int64_t depth(int64_t kc) { return kc; }
  bool tA, tB;
  const float *A, *B;
  int64_t lda, ldb;
  float alpha;
  void pack_a(int64_t i0, int mr, int64_t k0, int64_t kc, float* d) const {
    imix::cpu::pack_a(tA, A, lda, i0, mr, k0, kc, d);
  }
  void pack_b(int64_t k0, int64_t kc, int64_t j0, int64_t nc, float* d) const {
    imix::cpu::pack_b(tB, B, ldb, k0, kc, j0, nc, d);
  }
  void micro(int64_t kc, const float* a, const float* b, float* C, int64_t ldc, int mr, int nr, float beta) const {
    micro_kernel(kc, a, b, C, ldc, mr, nr, alpha, beta);
  }
};

void gemm_blocked(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  blocking::run(F32Kernels{tA, tB, A, B, lda, ldb, alpha}, M, N, K, beta, C, ldc);
}

#endif  // !IMIX_HAVE_CBLAS

}  // namespace

void gemm(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {  // no product term: C = beta·C
    scale_c(M, N, beta, C, ldc);
    return;
  }
#if defined(IMIX_HAVE_CBLAS)
  blas_gemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
  gemm_blocked(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

}  // namespace imix::cpu
