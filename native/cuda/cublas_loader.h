// cuBLAS, loaded at run time. No cuBLAS header or library is needed to build
// imix: the few entry points the CUDA gemm uses are declared here with their
// documented signatures and enum values (cuBLAS API reference, cublas_api.h:
// the _v2 entry points that cublas_v2.h maps the plain names to), and
// resolved with dlopen/dlsym from libcublas.so.13, libcublas.so.12 or
// libcublas.so (or the file named by $IMIX_CUBLAS; IMIX_CUBLAS=off skips
// cuBLAS). When none loads, the CUDA gemm uses imix's own tiled kernel.
#pragma once
#include <string>

namespace imix::cuda::cublas {

// Opaque handle (struct cublasContext*) and enums, as in cublas_api.h.
using Handle = void*;
using Status = int;  // cublasStatus_t
constexpr Status kSuccess = 0;  // CUBLAS_STATUS_SUCCESS
constexpr Status kAllocFailed = 3;  // CUBLAS_STATUS_ALLOC_FAILED
// cublasOperation_t
constexpr int kOpN = 0;  // CUBLAS_OP_N
constexpr int kOpT = 1;  // CUBLAS_OP_T
// cublasMath_t
constexpr int kDefaultMath = 0;       // CUBLAS_DEFAULT_MATH (fp32 stays fp32)
constexpr int kPedanticMath = 2;      // CUBLAS_PEDANTIC_MATH
constexpr int kTF32TensorOpMath = 3;  // CUBLAS_TF32_TENSOR_OP_MATH

// cublasStatus_t cublasCreate_v2(cublasHandle_t* handle);
using CreateFn = Status (*)(Handle*);
// cublasStatus_t cublasDestroy_v2(cublasHandle_t handle);
using DestroyFn = Status (*)(Handle);
// cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId);
using SetStreamFn = Status (*)(Handle, void*);
// cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode);
using SetMathModeFn = Status (*)(Handle, int);
// cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
//     cublasOperation_t transb, int m, int n, int k, const float* alpha,
//     const float* A, int lda, const float* B, int ldb, const float* beta,
//     float* C, int ldc);        (column-major; alpha/beta host pointers by default)
using SgemmFn = Status (*)(Handle, int, int, int, int, int, const float*, const float*, int, const float*, int,
                           const float*, float*, int);
// cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int* version);  (optional)
using GetVersionFn = Status (*)(Handle, int*);

struct Api {
  bool loaded = false;
  std::string library;  // the file that was loaded
  std::string error;    // why nothing was loaded
  CreateFn create = nullptr;
  DestroyFn destroy = nullptr;
  SetStreamFn set_stream = nullptr;
  SetMathModeFn set_math_mode = nullptr;
  SgemmFn sgemm = nullptr;
  GetVersionFn get_version = nullptr;
};

// Loads once (thread-safe) and returns the result; never throws.
const Api& api();

// cublasStatus_t as text.
const char* status_name(Status s);

}  // namespace imix::cuda::cublas
