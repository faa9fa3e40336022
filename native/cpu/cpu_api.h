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
