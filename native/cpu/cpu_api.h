// The CPU backend's own functions beside the shared contract (kernel_api.h):
// host-side helpers and what a kernel set reports about itself. Included
// inside a namespace by native/cpu/kernels.h; no include guard on purpose.

// Which gemm implementation was compiled in: "openblas", "cblas" or "fallback".
const char* blas_name();
// The BLAS's own kernel set (OpenBLAS's core name), or "" (gemm.cpp).
const char* blas_core();

// Samples the box the authors' code samples: side ratio sqrt(1−λ), centre
// uniform on the image (Philox words 0 and 1 of stream (seed, offset)),
// clipped; *lam_out = 1 − area/(H·W). Host code, shared by both backends
// (mix.cpp).
Box cutmix_box(float lam, int64_t H, int64_t W, uint64_t seed, uint64_t offset, float* lam_out);

// The kernels' thread count (parallel.cpp): every parallel loop of the set
// runs on at most this many threads.
int num_threads();
void set_num_threads(int n);

// This kernel set: its name ("baseline", "avx2", "avx512"; "native" for a
// -march=native build, "default" for a build with the compiler's default
// target) and the instruction-set extensions it was compiled for, space-
// separated ("sse4.2 avx2 fma ..."), from the compiler's macros (kernel_table.cpp).
const char* kernel_set();
const char* simd_flags();
// The compiler flags of the set, and whether its loops run on OpenMP threads.
const char* cxx_flags();
bool openmp();

// ---- gemm_bf16.cpp (CPU only) ----------------------------------------------
// gemm's contract with the products in bfloat16:
//   C = alpha · Σ_k bf16(op(A)[i,k])·bf16(op(B)[k,j]) + beta·C,
// bf16 = round to nearest even, fp32 accumulation (file comment for the
// details). Callable only where gemm_bf16_missing() is "".
void gemm_bf16(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// "" when this kernel set runs gemm_bf16 on this CPU (the set was compiled
// with it and cpuid reports AVX512_BF16), otherwise why not.
const char* gemm_bf16_missing();
// linear_forward / linear_backward (kernel_api.h) with gemm_bf16 for their
// gemms; bias, its gradient and everything stored stay fp32 (linear.cpp).
void linear_forward_bf16(const float* x, const float* W, const float* b, float* y, int64_t N, int64_t in,
                         int64_t out);
void linear_backward_bf16(const float* x, const float* W, const float* dy, float* dx, float* dW, float* db,
                          int64_t N, int64_t in, int64_t out, bool accumulate);
