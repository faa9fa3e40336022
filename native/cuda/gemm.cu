// gemm on the GPU: C[M,N] = alpha·op(A)·op(B) + beta·C, row-major fp32.
//
// cuBLAS when it loads (cublas_loader.h): cuBLAS is column-major, and a
// row-major X[r,c] with row stride ld is the column-major Xᵀ with the same
// leading dimension, so C = op(A)·op(B) is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ:
// one cublasSgemm(opB, opA, N, M, K, B, ldb, A, lda, C, ldc), nothing copied.
// One handle per device, created on first use, bound to the device's stream
// before each call. Math mode CUBLAS_DEFAULT_MATH (true fp32); IMIX_TF32=1
// opts in to TF32 tensor cores (CUBLAS_TF32_TENSOR_OP_MATH).
//
// Otherwise (or when forced for tests) imix's own kernel: the classic
// shared-memory tiled SGEMM. A block computes a BM×BN tile of C with 256
// threads; per step of BK=8 along K it stages the BM×8 slice of op(A) and
// the 8×BN slice of op(B) in shared memory (zero-padded at the edges, the
// transposes resolved in the load indexing, A stored k-major so both reads
// in the inner loop are conflict-free), then each thread accumulates a
// TM×TN register tile (8×8 for 128×128 tiles, 4×4 for 64×64) with rows
// ty+16·i and columns tx+16·j, so the stores to C are coalesced. 64×64 tiles
// are used when 128×128 ones would not fill the GPU. fp32 accumulation over
// K in FMA order, like a BLAS. beta == 0 never reads C.
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "common.cuh"
#include "cublas_loader.h"
#include "kernels.h"

namespace imix::cuda {
namespace {

constexpr int kBK = 8;

template <int BM, int BN, bool TA, bool TB>
__global__ void __launch_bounds__(256)
    sgemm_tiled(int M, int N, int K, float alpha, const float* __restrict A, int64_t lda,
                const float* __restrict B, int64_t ldb, float beta, float* __restrict C, int64_t ldc) {
  constexpr int TM = BM / 16, TN = BN / 16;
  constexpr int LA = BM * kBK / 256, LB = BN * kBK / 256;  // loads per thread
  __shared__ float As[kBK][BM + 4];
  __shared__ float Bs[kBK][BN + 4];
  const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
  // Column and depth indices in unsigned 32 bits: N and K are below 2^31, so
  // n0 + BN and k0 + kBK cannot wrap (in int they could, within BN of 2^31).
  const unsigned n0 = blockIdx.x * (unsigned)BN;
  // Row tiles stride by the grid: gridDim.y is capped at kMaxGridY (65535,
  // launch_tiled), fewer than the row tiles of an M above 65535·BM.
  for (int64_t m0 = (int64_t)blockIdx.y * BM; m0 < M; m0 += (int64_t)gridDim.y * BM) {
    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

    for (unsigned k0 = 0; k0 < (unsigned)K; k0 += kBK) {
#pragma unroll
      for (int r = 0; r < LA; ++r) {
        const int e = tid + r * 256;
        int mm, kk;
        if (TA) {  // op(A)(m,k) = A[k,m]: consecutive threads walk m (contiguous)
          kk = e / BM;
          mm = e % BM;
        } else {  // A[m,k]: consecutive threads walk k
          mm = e / kBK;
          kk = e % kBK;
        }
        const int64_t gm = m0 + mm;
        const unsigned gk = k0 + kk;
        float v = 0.0f;
        if (gm < M && gk < (unsigned)K) v = TA ? A[(int64_t)gk * lda + gm] : A[gm * lda + gk];
        As[kk][mm] = v;
      }
#pragma unroll
      for (int r = 0; r < LB; ++r) {
        const int e = tid + r * 256;
        int nn, kk;
        if (TB) {  // op(B)(k,n) = B[n,k]
          nn = e / kBK;
          kk = e % kBK;
        } else {
          kk = e / BN;
          nn = e % BN;
        }
        const unsigned gn = n0 + nn, gk = k0 + kk;
        float v = 0.0f;
        if (gn < (unsigned)N && gk < (unsigned)K) v = TB ? B[(int64_t)gn * ldb + gk] : B[(int64_t)gk * ldb + gn];
        Bs[kk][nn] = v;
      }
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < kBK; ++kk) {
        float a[TM], b[TN];
#pragma unroll
        for (int i = 0; i < TM; ++i) a[i] = As[kk][ty + 16 * i];
#pragma unroll
        for (int j = 0; j < TN; ++j) b[j] = Bs[kk][tx + 16 * j];
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
          for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
      }
      __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < TM; ++i) {
      const int64_t gm = m0 + ty + 16 * i;
      if (gm >= M) continue;
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        const unsigned gn = n0 + tx + 16 * j;
        if (gn >= (unsigned)N) continue;
        float* c = C + gm * ldc + gn;
        *c = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *c;
      }
    }
  }
}

template <int BM, int BN>
void launch_tiled(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int64_t lda, const float* B,
                  int64_t ldb, float beta, float* C, int64_t ldc) {
  dim3 grid((unsigned)(((int64_t)N + BN - 1) / BN), blocks_for(M, BM, kMaxGridY));  // y: row tiles, capped
  cudaStream_t s = stream();
  if (!ta && !tb) sgemm_tiled<BM, BN, false, false><<<grid, 256, 0, s>>>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else if (!ta && tb) sgemm_tiled<BM, BN, false, true><<<grid, 256, 0, s>>>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else if (ta && !tb) sgemm_tiled<BM, BN, true, false><<<grid, 256, 0, s>>>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else sgemm_tiled<BM, BN, true, true><<<grid, 256, 0, s>>>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  IMIX_CUDA_LAUNCHED("gemm (tiled)");
}

int sm_count() {
  static int n = [] {
    int v = 0;
    if (cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, current_device()) != cudaSuccess) {
      cudaGetLastError();
      v = 80;
    }
    return v;
  }();
  return n;
}

void gemm_tiled(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int64_t lda, const float* B,
                int64_t ldb, float beta, float* C, int64_t ldc) {
  const int64_t big_tiles = (((int64_t)M + 127) / 128) * (((int64_t)N + 127) / 128);
  if (big_tiles >= 2 * sm_count())
    launch_tiled<128, 128>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else
    launch_tiled<64, 64>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// ---- cuBLAS handles ------------------------------------------------------------

std::mutex g_mu;
std::vector<cublas::Handle> g_handles;  // per device; never destroyed (process lifetime)
std::vector<std::string> g_handle_error;
bool g_force_tiled = false;
int g_cublas_version = 0;

// The current device's handle, or nullptr when cuBLAS is unusable there.
cublas::Handle handle() {
  const cublas::Api& api = cublas::api();
  if (!api.loaded) return nullptr;
  const int dev = current_device();
  std::lock_guard<std::mutex> lk(g_mu);
  if ((int)g_handles.size() <= dev) {
    g_handles.resize((size_t)dev + 1, nullptr);
    g_handle_error.resize((size_t)dev + 1);
  }
  if (!g_handles[(size_t)dev] && g_handle_error[(size_t)dev].empty()) {
    cublas::Handle h = nullptr;
    cublas::Status st = api.create(&h);
    if (st == cublas::kAllocFailed) {
      // cuBLAS allocates outside imix's pool, which may be caching what it
      // needs: give the cache back and try once more before falling back to
      // the tiled kernel for good.
      cudaGetLastError();
      empty_cache(dev);
      st = api.create(&h);
    }
    if (st != cublas::kSuccess) {
      g_handle_error[(size_t)dev] = std::string("cublasCreate failed: ") + cublas::status_name(st);
      cudaGetLastError();
      return nullptr;
    }
    const char* tf32 = std::getenv("IMIX_TF32");
    const bool use_tf32 = tf32 && std::strcmp(tf32, "0") != 0 && *tf32;
    api.set_math_mode(h, use_tf32 ? cublas::kTF32TensorOpMath : cublas::kDefaultMath);
    if (api.get_version) api.get_version(h, &g_cublas_version);
    g_handles[(size_t)dev] = h;
  }
  return g_handles[(size_t)dev];
}

}  // namespace

const char* gemm_backend() {
  if (g_force_tiled || status().devices.empty() || !cublas::api().loaded) return "tiled";
  std::lock_guard<std::mutex> lk(g_mu);
  for (const std::string& e : g_handle_error)
    if (!e.empty()) return "tiled";
  return "cublas";
}

std::string gemm_detail() {
  const cublas::Api& api = cublas::api();
  if (g_force_tiled) return "imix tiled sgemm (forced)";
  if (!api.loaded) return "imix tiled sgemm (cuBLAS not loaded: " + api.error + ")";
  std::lock_guard<std::mutex> lk(g_mu);
  for (const std::string& e : g_handle_error)
    if (!e.empty()) return "cuBLAS " + api.library + " loaded but unusable (" + e + "); imix tiled sgemm";
  std::string v = g_cublas_version ? " version " + std::to_string(g_cublas_version) : "";
  return "cuBLAS (" + api.library + v + ")";
}

void force_tiled_gemm(bool on) { g_force_tiled = on; }

void gemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  // K == 0 (C = beta·C) and the tiled path share the kernel: it never reads
  // A or B when K == 0 and does not read C when beta == 0.
  cublas::Handle h = (g_force_tiled || K == 0) ? nullptr : handle();
  if (!h) {
    gemm_tiled(transA, transB, (int)M, (int)N, (int)K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  const cublas::Api& api = cublas::api();
  cublas::Status st = api.set_stream(h, current_stream());
  auto sgemm = [&] {
    return api.sgemm(h, transB ? cublas::kOpT : cublas::kOpN, transA ? cublas::kOpT : cublas::kOpN, (int)N, (int)M,
                     (int)K, &alpha, B, (int)ldb, A, (int)lda, &beta, C, (int)ldc);
  };
  if (st == cublas::kSuccess) st = sgemm();
  if (st == cublas::kAllocFailed) {  // its workspace, outside the pool: free the cache and retry once
    cudaGetLastError();
    empty_cache(current_device());
    st = sgemm();
  }
  if (st != cublas::kSuccess) {
    cudaGetLastError();
    fail(ErrorKind::Backend, std::string("cublasSgemm failed: ") + cublas::status_name(st) + " (M " +
                                 std::to_string(M) + ", N " + std::to_string(N) + ", K " + std::to_string(K) + ")");
  }
  IMIX_CUDA_LAUNCHED("gemm (cuBLAS sgemm)");  // cuBLAS launched its kernels on the stream (IMIX_CUDA_SYNC_LAUNCH waits here)
}

}  // namespace imix::cuda
