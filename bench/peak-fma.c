/*
 * The machine's peak fp32 FMA rate: every core runs independent chains of
 * fused multiply-adds on registers only (no memory traffic), so the result is
 * the ceiling any gemm can reach on this machine. bench/README.md uses it to
 * say how close the gemm-bound training step is to the hardware.
 *
 *   gcc -O2 -march=native -fopenmp bench/peak-fma.c -o /tmp/peak-fma && /tmp/peak-fma
 *
 * Prints the best of 5 runs for 1 thread and for every core (GFLOP/s; one FMA
 * counts as 2 flops). Uses AVX-512 where the compiler targets it, else AVX2+FMA.
 *
 * Where the compiler targets AVX512_BF16 (-march=native on a CPU with it) a
 * second line gives the same for the bf16 dot product vdpbf16ps, the
 * instruction of imix's bf16 gemm (native/cpu/gemm_bf16.cpp): per 32-bit
 * lane two bf16 products added to an fp32 accumulator, 4 flops, twice an
 * FMA's. That is twice the fp32 peak only where it issues as often as an FMA:
 * an Intel Emerald Rapids Xeon issues it once per 2 cycles against two FMAs
 * per cycle, so there its peak is half the fp32 one.
 */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>

#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define SUM _mm512_reduce_add_ps
#elif defined(__FMA__)
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
static float SUM(__m256 v) {
  float t[8];
  _mm256_storeu_ps(t, v);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#else
#error "needs FMA (compile with -march=native on an x86-64 machine with FMA)"
#endif

/* 12 independent chains cover the FMA latency (4 cycles) on two pipes. */
#define CHAINS 12

/* One thread's chains of `iters` steps each; returns their sum (kept live). */
typedef float (*chains_fn)(long iters);

static float fma_chains(long iters) {
  vec a[CHAINS];
  const vec b = SET1(1.0000001f), c = SET1(-0.0000001f);
  for (int i = 0; i < CHAINS; i++) a[i] = SET1((float)i);
  for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (int i = 0; i < CHAINS; i++) a[i] = FMA(a[i], b, c);
  }
  float sink = 0;
  for (int i = 0; i < CHAINS; i++) sink += SUM(a[i]);
  return sink;
}

#if defined(__AVX512BF16__)
/* acc += x·y over bf16 pairs: x = 1, y = 2^-20 stay normal and exact. */
static float bf16_chains(long iters) {
  __m512 a[CHAINS];
  const __m512bh x = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1.0f), _mm512_set1_ps(1.0f));
  const __m512bh y = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0x1p-20f), _mm512_set1_ps(0x1p-20f));
  for (int i = 0; i < CHAINS; i++) a[i] = _mm512_set1_ps((float)i);
  for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (int i = 0; i < CHAINS; i++) a[i] = _mm512_dpbf16_ps(a[i], x, y);
  }
  float sink = 0;
  for (int i = 0; i < CHAINS; i++) sink += _mm512_reduce_add_ps(a[i]);
  return sink;
}
#endif

/* Best of 5 runs of `chains` on `threads` threads, in GFLOP/s; `flops` per chain step. */
static double run(chains_fn chains, double flops, int threads, long iters) {
  double best = 0;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = omp_get_wtime();
    float sink = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += chains(iters);
    double s = omp_get_wtime() - t0;
    double gflops = flops * CHAINS * (double)iters * threads / s / 1e9;
    if (sink == 12345.0f) printf(" "); /* keeps the chains live */
    if (gflops > best) best = gflops;
  }
  return best;
}

int main(void) {
  const int cores = omp_get_num_procs();
  const long iters = 50000000;
  printf("peak fp32 FMA, %d-wide vectors: 1 thread %.1f GFLOP/s, %d threads %.1f GFLOP/s\n", LANES,
         run(fma_chains, 2.0 * LANES, 1, iters), cores, run(fma_chains, 2.0 * LANES, cores, iters));
#if defined(__AVX512BF16__)
  printf("peak bf16 dot (vdpbf16ps), 16-wide vectors: 1 thread %.1f GFLOP/s, %d threads %.1f GFLOP/s\n",
         run(bf16_chains, 4.0 * 16, 1, iters), cores, run(bf16_chains, 4.0 * 16, cores, iters));
#endif
  return 0;
}
