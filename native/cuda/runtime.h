// The CUDA backend's device layer as the addon sees it: plain C++ (no CUDA
// headers), so the bindings compile with the host compiler. Implemented in
// native/cuda/device.cu (+ gemm.cu for the gemm backend).
//
// Nothing here runs at addon load: the first call to status() (info(), or
// the first 'cuda' device a caller names) asks the CUDA runtime how many
// devices there are. A missing or old driver, or no device, is not an
// error at that point: status() says why and every 'cuda' device is a
// DeviceError with that reason.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../common/backend.h"

namespace imix::cuda {

struct DeviceProps {
  int index = 0;
  std::string name;
  uint64_t memory = 0;  // bytes of global memory
  int major = 0, minor = 0;
  bool supported = false;  // compute capability ≥ 8.0 (what this build has code for)
};

struct Status {
  int runtime_version = 0;  // e.g. 13000 (the statically linked cudart)
  int driver_version = 0;   // 0 when there is no driver
  std::vector<DeviceProps> devices;
  std::string reason;  // why no device is usable; empty when one is
};

// Queried once (lazily, thread-safe); never throws.
const Status& status();

// The CUDA backend for device `index`, made current. Throws
// imix::Error(Device) naming `arg` when the device is not usable.
Backend& backend(int index, const char* arg);

// The CUDA backend object without selecting a device (Backend::deallocate
// takes the device index and does not need one to be current).
Backend& backend_no_switch();

// The device the calling thread runs CUDA work on, and its stream
// (a cudaStream_t, created on first use, non-blocking).
int current_device();
void* current_stream();

// Caching allocator statistics for a device (bytes and counts).
struct PoolStats {
  uint64_t in_use = 0;      // bytes handed out (rounded to the size class)
  uint64_t cached = 0;      // bytes held in the free lists
  uint64_t mallocs = 0;     // cudaMalloc calls so far
  uint64_t frees = 0;       // cudaFree calls so far (cache releases)
  uint64_t reuses = 0;      // allocations served from the free lists
};
PoolStats pool_stats(int index);
// Returns the cached blocks of a device to the driver (after a stream sync).
void empty_cache(int index);

// Which gemm the CUDA backend uses: "cublas" (libcublas loaded at run time)
// or "tiled" (imix's own kernel); gemm_detail() says which library or why
// cuBLAS is not used. force_tiled(true) makes gemm use the tiled kernel
// (tests and benchmarks compare the two).
const char* gemm_backend();
std::string gemm_detail();
void force_tiled_gemm(bool on);

}  // namespace imix::cuda
