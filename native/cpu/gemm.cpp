// Placeholder gemm (replaced by the BLAS-backed / blocked version).
#include "kernels.h"
#if defined(IMIX_HAVE_CBLAS)
#include <cblas.h>
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
void gemm(bool tA, bool tB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      float s = 0;
      for (int64_t k = 0; k < K; ++k) s += (tA ? A[k * lda + i] : A[i * lda + k]) * (tB ? B[j * ldb + k] : B[k * ldb + j]);
      C[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * C[i * ldc + j]);
    }
}
}  // namespace imix::cpu
