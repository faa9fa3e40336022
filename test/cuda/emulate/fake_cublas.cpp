// A fake libcublas for the emulated CUDA build: the five entry points imix
// loads (cublas_loader.cpp), with cuBLAS's documented argument checks and a
// host reference sgemm in column-major order, queued on the fake runtime's
// stream (cuda_fake.cpp) so it runs in order with the other device work.
// Built by test/cuda/emulate/run.sh as libfakecublas.so; loaded with
// IMIX_CUBLAS=/path/libfakecublas.so. It checks how imix maps a row-major gemm
// onto cuBLAS (operand swap, transposes, leading dimensions, alpha/beta).
#include <cstdint>
#include <cstdlib>

namespace {
struct FakeStream {
  void (*enqueue)(void (*fn)(void*), void* ctx);
};
struct Handle {
  FakeStream* stream = nullptr;
  int math = -1;
};
struct Gemm {
  int ta, tb, m, n, k;
  float alpha, beta;
  const float *A, *B;
  float* C;
  int lda, ldb, ldc;
};
void run_gemm(void* p) {
  Gemm* g = (Gemm*)p;
  for (int j = 0; j < g->n; ++j)
    for (int i = 0; i < g->m; ++i) {
      double s = 0;
      for (int l = 0; l < g->k; ++l) {
        const float a = g->ta ? g->A[l + (int64_t)i * g->lda] : g->A[i + (int64_t)l * g->lda];
        const float b = g->tb ? g->B[j + (int64_t)l * g->ldb] : g->B[l + (int64_t)j * g->ldb];
        s += (double)a * b;
      }
      float& c = g->C[i + (int64_t)j * g->ldc];
      c = g->beta == 0.0f ? (float)(g->alpha * s) : (float)(g->alpha * s + (double)g->beta * c);
    }
  delete g;
}
int max1(int v) { return v > 1 ? v : 1; }
// IMIX_FAKE_CUBLAS_ALLOC_FAILURES=N: the first N calls of cublasCreate and,
// separately, of cublasSgemm answer CUBLAS_STATUS_ALLOC_FAILED (3), as cuBLAS
// does when the device memory it allocates outside imix's pool is not there.
bool alloc_fails(int& calls) {
  const char* v = std::getenv("IMIX_FAKE_CUBLAS_ALLOC_FAILURES");
  return v && calls++ < std::atoi(v);
}
int create_calls = 0, sgemm_calls = 0;
}  // namespace

extern "C" {
int cublasCreate_v2(void** h) {
  if (alloc_fails(create_calls)) return 3;
  *h = new Handle();
  return 0;
}
int cublasDestroy_v2(void* h) {
  delete (Handle*)h;
  return 0;
}
int cublasSetStream_v2(void* h, void* stream) {
  ((Handle*)h)->stream = (FakeStream*)stream;
  return 0;
}
int cublasSetMathMode(void* h, int mode) {
  ((Handle*)h)->math = mode;
  return mode == 0 || mode == 3 ? 0 : 7;
}
int cublasGetVersion_v2(void*, int* v) {
  *v = 99999;
  return 0;
}
int cublasSgemm_v2(void* h, int ta, int tb, int m, int n, int k, const float* alpha, const float* A, int lda,
                   const float* B, int ldb, const float* beta, float* C, int ldc) {
  Handle* hd = (Handle*)h;
  if (!hd->stream) return 1;                                     // NOT_INITIALIZED: imix sets the stream first
  if (m < 0 || n < 0 || k < 0 || ta < 0 || ta > 1 || tb < 0 || tb > 1) return 7;  // INVALID_VALUE
  if (lda < max1(ta ? k : m) || ldb < max1(tb ? n : k) || ldc < max1(m)) return 7;
  if (alloc_fails(sgemm_calls)) return 3;
  hd->stream->enqueue(run_gemm, new Gemm{ta, tb, m, n, k, *alpha, *beta, A, B, C, lda, ldb, ldc});
  return 0;
}
}
