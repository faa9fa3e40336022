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
  uint64_t in_use = 0;      // bytes handed out (rounded to the size class; exact with IMIX_CUDA_NO_CACHE)
  uint64_t cached = 0;      // bytes held in the free lists
  uint64_t mallocs = 0;     // cudaMalloc calls so far
  uint64_t frees = 0;       // cudaFree calls so far (cache releases)
  uint64_t reuses = 0;      // allocations served from the free lists
};
PoolStats pool_stats(int index);
// Returns the cached blocks of a device to the driver (after a stream sync).
void empty_cache(int index);

// Host synchronizations and host copies of a device (cudaStats() in the
// library). `syncs` counts the calls after which the host had waited for the
// device's stream: stream syncs (cudaSynchronize, the read-back of a loss or
// a sum, the pageable fallbacks), downloads (copyToArray, the value checks'
// HostData when content facts do not settle them), event waits that found
// their event not yet reached (an upload whose staging buffer was still in
// use, a staged read-back finished too early), and the syncs of the
// debugging modes. Uploads that find their staging free, fills, kernels and
// staged downloads do not wait and are not counted as syncs.
struct SyncStats {
  uint64_t syncs = 0;
  uint64_t downloads = 0, download_bytes = 0;  // device→host copies (staged ones included)
  uint64_t uploads = 0, upload_bytes = 0;      // host→device copies
};
// The counters of device `index` since the process started or the last
// reset; reset: zero them after reading.
SyncStats sync_stats(int index, bool reset);

// A staged read-back: issues a device→host copy of `bytes` at `src` (on the
// current device, after everything issued before it) into pinned memory and
// returns at once with a ticket. finish_staged copies it into `dst`: without
// waiting when the stream has passed the copy already — as it has after any
// synchronizing call issued after it, e.g. a training step's loss read-back.
// A device keeps one staged read-back: a later stage_download replaces it.
// Without pinned memory the copy is made at once (a synchronization).
uint64_t stage_download(const void* src, size_t bytes);
// Returns whether the host had to wait. A ValueError when `ticket` is not
// the pending one of device `index`; a ShapeError when `bytes` differs.
bool finish_staged(int index, uint64_t ticket, void* dst, size_t bytes);

// The debugging modes in effect, by their environment variable
// (IMIX_CUDA_NO_CACHE, IMIX_CUDA_SYNC_LAUNCH: device.cu); empty normally.
std::vector<std::string> debug_modes();

// Which gemm the CUDA backend uses: "cublas" (libcublas loaded at run time)
// or "tiled" (imix's own kernel); gemm_detail() says which library or why
// cuBLAS is not used. force_tiled(true) makes gemm use the tiled kernel
// (tests and benchmarks compare the two).
const char* gemm_backend();
std::string gemm_detail();
void force_tiled_gemm(bool on);

}  // namespace imix::cuda
