// gemm_bf16: gemm (kernels.h) with its products in bfloat16,
//   C[i,j] = alpha · Σ_k bf16(op(A)[i,k])·bf16(op(B)[k,j]) + beta·C[i,j],
// bf16(x) = x rounded to bfloat16 (8 significant bits) to nearest, ties to
// even (as PyTorch's fp32 → bf16 conversion), accumulated in fp32; alpha,
// beta and C are fp32. beta == 0 never reads C, as for gemm.
//
// Why: a bf16 dot product instruction does twice the multiply-adds of an
// fp32 FMA per vector (two products per 32-bit lane), so where the CPU issues
// it as often as an FMA a bf16 gemm has twice the fp32 peak (expected on AMD
// Zen 4/5). Not everywhere: on an Intel Emerald Rapids Xeon (AMX not used
// here) vdpbf16ps zmm issues once per 2 cycles against two FMAs per cycle,
// measured 85 GFLOP/s per core against 170 for vfmadd231ps: HALF the fp32
// peak, so there bf16 is slower (it halves the bytes of packed operands,
// nothing more). bench/train-step.ts measures both peaks and both steps.
//
// How (AVX512_BF16, on the avx512 kernel set):
//   - vdpbf16ps (_mm512_dpbf16_ps) takes 16 lanes of bf16 PAIRS along K:
//       acc[l] += a[2l]·b[2l] + a[2l+1]·b[2l+1]   (products exact in fp32)
//     so both operands are packed as 32-bit words pair(x_k, x_k+1) = bf16(x_k)
//     | bf16(x_k+1) << 16 for even k (an odd K ends with a 0 partner):
//       A micro-panel: word [p·MR + r] = pair of op(A)[i0+r, k0+2p], ...+1
//       B micro-panel: word [p·NR + c] = pair of op(B)[k0+2p, j0+c], ...+1
//     The rounding is vcvtne2ps2bf16 (_mm512_cvtne2ps_pbh: two fp32 vectors
//     to one bf16 vector, round to nearest even) at packing time, so the
//     micro-kernel only multiplies; the packing also absorbs the transposes
//     and the leading dimensions, like gemm.cpp's. Two layouts of a source: K along
//     its rows (pairs = two rows interleaved by vpermw) or K contiguous
//     (pairs = one row converted, then 16 rows transposed as 32-bit words).
//   - the micro-kernel keeps MR × NR = 12 × 32 of C in 24 zmm accumulators;
//     per k pair: 2 loads of B, 12 broadcasts of an A word, 24 vdpbf16ps.
//   - blocking and threads are gemm.cpp's (gemm_blocking.h), with KC = 512
//     k values (256 pairs: the packed blocks take the bytes fp32's 256 do).
// Like vdpbf16ps itself, the result treats inputs and partial sums below
// 2^-126 in magnitude as 0 (the instruction's DAZ/FTZ); NaN and ±Inf
// propagate. The order of the sum is fixed by K alone (in pairs, in blocks
// of KC), so results do not depend on the thread count.
//
// The body needs the compiler to target AVX512_BF16, which no x86-64 psABI
// level has: its functions carry target("avx512bf16") and are compiled only
// into a kernel set built for AVX-512 (F, BW, VL); the set then runs them
// only where cpuid reports AVX512_BF16 (gemm_bf16_missing()).
#include <algorithm>
#include <string>

#include "../common/error.h"
#include "gemm_blocking.h"
#include "kernels.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    ((defined(__clang__) && __clang_major__ >= 9) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 10))
#define IMIX_GEMM_BF16 1
#include <cpuid.h>
// GCC 12's unmasked AVX-512 shuffles pass an "undefined" vector as their
// unused merge source, which -Wmaybe-uninitialized reports once inlined (GCC
// bug 105593, fixed in GCC 13); the vector is never read.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#define IMIX_GEMM_BF16 0
#endif

namespace imix::cpu {

#if IMIX_GEMM_BF16
namespace {

#define IMIX_BF16_TARGET __attribute__((target("avx512bf16")))

constexpr int MR = 12;       // rows of the register tile
constexpr int NV = 2;        // 16-lane vectors per row of the register tile
constexpr int NR = 16 * NV;  // columns of the register tile
constexpr int64_t KC = 512;  // k values of a packed block (a 12-row A panel: 12 KB, L1)
constexpr int64_t NC = 384;  // columns of a C tile (the packed KC × NC B block: 384 KB, L2)

// A mask of the first n of 16 lanes (n clamped to [0, 16]).
inline __mmask16 first(int64_t n) { return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1); }

// CPUID leaf 7, sub-leaf 1, EAX bit 5: AVX512_BF16. AVX-512 itself (and that
// the OS saves its registers) is what the kernel set was chosen for; asked
// again so a -march=native set answers for itself too.
bool cpu_has_avx512bf16() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f") || !__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
  return (a >> 5) & 1u;
}

// r[0..15] ← their transpose as a 16 × 16 matrix of 32-bit words: unpacks of
// 32-bit and 64-bit elements transpose the 4 × 4 blocks inside each 128-bit
// lane, then two rounds of 128-bit lane shuffles transpose the 4 × 4 lanes.
inline void transpose16x16(__m512i r[16]) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  // r[4g + c], 128-bit lane L: rows 4g..4g+3 of column 4L + c.
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  // Column 4L + c takes lane L of r[c], r[4 + c], r[8 + c], r[12 + c].
  for (int c = 0; c < 4; ++c) {
    const __m512i s0 = _mm512_shuffle_i32x4(r[c], r[4 + c], 0x44), s1 = _mm512_shuffle_i32x4(r[c], r[4 + c], 0xEE);
    const __m512i s2 = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0x44), s3 = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0xEE);
    t[c] = _mm512_shuffle_i32x4(s0, s2, 0x88);
    t[4 + c] = _mm512_shuffle_i32x4(s0, s2, 0xDD);
    t[8 + c] = _mm512_shuffle_i32x4(s1, s3, 0x88);
    t[12 + c] = _mm512_shuffle_i32x4(s1, s3, 0xDD);
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

// Pack a W-wide panel (W = MR or NR) of kc k values whose source has K along
// its rows: x(w, k) = s[k·ld + w]. Word d[p·W + w] = pair(x(w, 2p), x(w, 2p+1));
// w ≥ valid and k ≥ kc give 0. Two source rows (16 values each) convert to
// one bf16 vector [row k | row k+1]; vpermw interleaves it into 16 pairs.
IMIX_BF16_TARGET void pack_k_strided(const float* s, int64_t ld, int valid, int W, int64_t kc, uint32_t* d) {
  alignas(64) static const uint16_t kInterleave[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                                       8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __m512i inter = _mm512_load_si512(kInterleave);
  for (int64_t k = 0; k < kc; k += 2, d += W) {
    const float* r0 = s + k * ld;
    for (int c = 0; c < W; c += 16) {
      const __mmask16 m = first(valid - c);
      const __m512 lo = _mm512_maskz_loadu_ps(m, r0 + c);
      const __m512 hi = k + 1 < kc ? _mm512_maskz_loadu_ps(m, r0 + ld + c) : _mm512_setzero_ps();
      const __m512i bf = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);  // lanes 0-15: lo, 16-31: hi
      _mm512_mask_storeu_epi32(d + c, first(W - c), _mm512_permutexvar_epi16(inter, bf));
    }
  }
}

// The same panel from a source with K contiguous: x(w, k) = s[w·ld + k].
// 32 k values of a source row convert to 16 pair words in order; 16 rows of
// them, transposed, are 16 k pairs of 16 panel columns.
IMIX_BF16_TARGET void pack_k_contiguous(const float* s, int64_t ld, int valid, int W, int64_t kc, uint32_t* d) {
  for (int64_t k = 0; k < kc; k += 32) {
    const __mmask16 m0 = first(kc - k), m1 = first(kc - k - 16);
    const int64_t pairs = std::min<int64_t>(16, (kc - k + 1) / 2);
    for (int g = 0; g < W; g += 16) {
      __m512i r[16];
      for (int l = 0; l < 16; ++l) {
        if (g + l >= valid) {
          r[l] = _mm512_setzero_si512();
          continue;
        }
        const float* row = s + (g + l) * ld + k;
        r[l] = (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, row + 16), _mm512_maskz_loadu_ps(m0, row));
      }
      transpose16x16(r);
      for (int64_t q = 0; q < pairs; ++q) _mm512_mask_storeu_epi32(d + (k / 2 + q) * W + g, first(W - g), r[q]);
    }
  }
}

// acc = Σ_p a[p]ᵀ·b[p] over np k pairs of one packed A and B micro-panel,
// then C tile (mr × nr valid) = alpha·acc + beta·C (beta == 0: C not read).
IMIX_BF16_TARGET void micro_kernel(int64_t np, const uint32_t* __restrict a, const uint32_t* __restrict b, float* C,
                                   int64_t ldc, int mr, int nr, float alpha, float beta) {
  __m512 acc[MR][NV];
  for (int i = 0; i < MR; ++i) {
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
    if (i < mr) {  // the C tile is read (or written) after the loop: fetch it now
      __builtin_prefetch(C + i * ldc, 1);
      __builtin_prefetch(C + i * ldc + NR - 1, 1);
    }
  }
  for (int64_t p = 0; p < np; ++p, a += MR, b += NR) {
    __m512bh bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = (__m512bh)_mm512_load_si512(b + 16 * v);
    for (int i = 0; i < MR; ++i) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[i]);
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], av, bv[v]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int i = 0; i < MR && i < mr; ++i) {
    float* c = C + i * ldc;
    for (int v = 0; v < NV; ++v) {
      const __mmask16 m = first(nr - 16 * v);
      __m512 r = _mm512_mul_ps(va, acc[i][v]);
      if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, c + 16 * v), r);
      _mm512_mask_storeu_ps(c + 16 * v, m, r);
    }
  }
}

// The bf16 kernel family of the shared blocked driver (gemm_blocking.h).
// op(A)[i,k] = tA ? A[k·lda + i] : A[i·lda + k], op(B)[k,j] = tB ? B[j·ldb + k] : B[k·ldb + j].
struct Bf16Kernels {
  static constexpr int64_t MR = imix::cpu::MR, NR = imix::cpu::NR, KC = imix::cpu::KC, NC = imix::cpu::NC;
  using Packed = uint32_t;
  static int64_t depth(int64_t kc) { return (kc + 1) / 2; }  // k pairs
  bool tA, tB;
  const float *A, *B;
  int64_t lda, ldb;
  float alpha;
  void pack_a(int64_t i0, int mr, int64_t k0, int64_t kc, uint32_t* d) const {
    if (tA) pack_k_strided(A + k0 * lda + i0, lda, mr, MR, kc, d);
    else pack_k_contiguous(A + i0 * lda + k0, lda, mr, MR, kc, d);
  }
  void pack_b(int64_t k0, int64_t kc, int64_t j0, int64_t nc, uint32_t* d) const {
    for (int64_t jr = 0; jr < nc; jr += NR) {
      const int cols = (int)std::min<int64_t>(NR, nc - jr);
      uint32_t* dj = d + jr * depth(kc);
      if (tB) pack_k_contiguous(B + (j0 + jr) * ldb + k0, ldb, cols, NR, kc, dj);
      else pack_k_strided(B + k0 * ldb + j0 + jr, ldb, cols, NR, kc, dj);
    }
  }
  void micro(int64_t kc, const uint32_t* a, const uint32_t* b, float* C, int64_t ldc, int mr, int nr, float beta) const {
    micro_kernel(depth(kc), a, b, C, ldc, mr, nr, alpha, beta);
  }
};

}  // namespace
#endif  // IMIX_GEMM_BF16

const char* gemm_bf16_missing() {
#if IMIX_GEMM_BF16
  static const bool ok = cpu_has_avx512bf16();
  return ok ? ""
            : "this CPU lacks AVX512_BF16 (bf16 dot products: Intel Cooper Lake, Sapphire Rapids and later, "
              "AMD Zen 4 and later)";
#else
  static const std::string why =
      std::string("the '") + kernel_set() + "' CPU kernel set has no bf16 gemm (only a set compiled for AVX-512 has one)";
  return why.c_str();
#endif
}

void gemm_bf16(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  // No product term: C = beta·C, which gemm does without reading A or B.
  if (K <= 0 || alpha == 0.0f) return gemm(tA, tB, M, N, 0, alpha, A, lda, B, ldb, beta, C, ldc);
#if IMIX_GEMM_BF16
  blocking::run(Bf16Kernels{tA, tB, A, B, lda, ldb, alpha}, M, N, K, beta, C, ldc);
#else
  // Unreachable: the addon asks gemm_bf16_missing() first.
  fail(ErrorKind::Device, std::string("precision: 'bf16' is not available: ") + gemm_bf16_missing());
#endif
}

}  // namespace imix::cpu
