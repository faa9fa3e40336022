// The device layer under Storage (ggml-style backend interface): what a
// tensor's memory needs from the device it lives on. Two implementations:
//   cpu   native/cpu/backend.cpp    aligned host memory, memcpy/memset
//   cuda  native/cuda/device.cu     a caching pool over cudaMalloc, one
//                                   non-blocking stream per device, pinned
//                                   staging buffers for host copies
// Kernels never call this: they get raw pointers from the bindings and run
// on the current device's current stream (native/cuda/runtime.h).
//
// Ordering contract (what makes the CUDA side correct without syncs): every
// operation on a device — allocation zero-fill, copies, fills, kernels — is
// issued on that device's one stream, so it runs in issue order. A freed
// block can be handed out again at once: whatever used it was issued
// earlier on the same stream. Only copy_to_host (and the reductions that
// return a host number) wait for the stream.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace imix {

struct Device {
  enum Type { CPU, CUDA } type = CPU;
  int index = 0;
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const { return type == CPU ? "cpu" : "cuda:" + std::to_string(index); }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device::Type type() const = 0;
  // `bytes` of zero-filled memory (≥ 64-byte aligned) on the current device.
  // Throws imix::Error(Backend) when the device is out of memory.
  virtual void* allocate(size_t bytes) = 0;
  // Returns a block that allocate gave out on device `index` (same size).
  // Never throws and never changes the current device: it may run from a
  // garbage-collector finalizer in the middle of another device's work.
  virtual void deallocate(void* p, size_t bytes, int index) noexcept = 0;
  // Host → device. src may be reused as soon as this returns (the device
  // copy may still be in flight, from a staging buffer).
  virtual void copy_from_host(void* dst, const void* src, size_t bytes) = 0;
  // Device → host; dst holds the data when this returns (waits for the stream).
  virtual void copy_to_host(void* dst, const void* src, size_t bytes) = 0;
  // Device → same device; the ranges may overlap (memmove semantics).
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  // n consecutive 32-bit words at dst ← bits (a float or an int32 pattern).
  virtual void fill32(void* dst, uint32_t bits, int64_t n) = 0;
  // The 32-bit words of a strided view ← bits: word offsets
  // Σ_k idx_k·strides[k] from base, idx over shape (ndim ≤ 8).
  virtual void fill32_strided(void* base, uint32_t bits, const int64_t* shape, const int64_t* strides,
                              int ndim) = 0;
  // Waits until all work issued on the current device's stream has finished.
  virtual void synchronize() = 0;
};

// Why a build without the CUDA backend has no 'cuda' devices.
inline const char* no_cuda_build_reason() {
  return "this build of imix has no CUDA backend (it was built without nvcc, or with IMIX_CUDA=OFF; "
         "rebuild with the CUDA toolkit installed and IMIX_CUDA=ON)";
}

// The CPU backend (always present).
Backend& cpu_backend();

// The backend of a device type, without selecting a device (for
// deallocate); nullptr for CUDA in a build without it.
Backend* backend_of_type(Device::Type t) noexcept;

// The backend of device d, with d made the current device. Throws
// imix::Error(Device) naming `arg` when d is not available, saying why
// (no CUDA build, no driver, no device, index out of range).
Backend& backend_for(const Device& d, const char* arg = "device");

}  // namespace imix
