// Run-time loading of cuBLAS (see cublas_loader.h).
#include "cublas_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace imix::cuda::cublas {
namespace {

Api load() {
  Api a;
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("IMIX_CUBLAS")) {
    if (!std::strcmp(env, "off") || !std::strcmp(env, "0") || !std::strcmp(env, "none")) {
      a.error = "disabled by IMIX_CUBLAS=" + std::string(env);
      return a;
    }
    if (*env) candidates.push_back(env);
  }
  for (const char* n : {"libcublas.so.13", "libcublas.so.12", "libcublas.so"}) candidates.push_back(n);

  std::string errors;
  for (const std::string& name : candidates) {
    void* h = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = dlerror();
      errors += (errors.empty() ? "" : "; ") + std::string(e ? e : name + ": cannot be loaded");
      continue;
    }
    Api t;
    t.create = (CreateFn)dlsym(h, "cublasCreate_v2");
    t.destroy = (DestroyFn)dlsym(h, "cublasDestroy_v2");
    t.set_stream = (SetStreamFn)dlsym(h, "cublasSetStream_v2");
    t.set_math_mode = (SetMathModeFn)dlsym(h, "cublasSetMathMode");
    t.sgemm = (SgemmFn)dlsym(h, "cublasSgemm_v2");
    t.get_version = (GetVersionFn)dlsym(h, "cublasGetVersion_v2");  // optional
    if (!t.create || !t.destroy || !t.set_stream || !t.set_math_mode || !t.sgemm) {
      errors += (errors.empty() ? "" : "; ") + name + ": missing cuBLAS entry points";
      dlclose(h);
      continue;
    }
    t.loaded = true;
    t.library = name;
    return t;  // the library stays loaded for the life of the process
  }
  a.error = errors.empty() ? "no cuBLAS library found" : errors;
  return a;
}

}  // namespace

const Api& api() {
  static Api a = load();
  return a;
}

const char* status_name(Status s) {
  switch (s) {
    case 0: return "CUBLAS_STATUS_SUCCESS";
    case 1: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case 3: return "CUBLAS_STATUS_ALLOC_FAILED";
    case 7: return "CUBLAS_STATUS_INVALID_VALUE";
    case 8: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case 11: return "CUBLAS_STATUS_MAPPING_ERROR";
    case 13: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case 14: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case 15: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case 16: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "CUBLAS_STATUS_UNKNOWN";
  }
}

}  // namespace imix::cuda::cublas
