// The CUDA device layer (native/cuda/runtime.h, native/common/backend.h):
//
// - status(): the first use asks cudart (linked statically) for the devices.
//   No driver (cudaErrorInsufficientDriver), no device (cudaErrorNoDevice)
//   or any other failure is recorded as the reason, never thrown: the addon
//   keeps working on the CPU.
// - One non-blocking stream per device, created on first use. Everything
//   the backend issues on a device goes to that stream, in order, so reusing
//   freed memory and staging buffers needs no synchronization (see
//   backend.h). Nothing uses the legacy default stream.
// - A caching allocator per device: sizes are rounded to a size class
//   (512-byte steps up to 1 MiB, then quarter powers of two: at most 25%
//   slack), freed blocks go to a free list of their class and are handed out
//   again without cudaMalloc/cudaFree, so a training step that frees and
//   allocates the same shapes never reaches the driver. When cudaMalloc
//   fails, the cache is returned to the driver (after a stream sync) and the
//   allocation retried once; then it is a BackendError "out of device
//   memory ...".
// - Host copies go through two pinned staging buffers (cudaHostAlloc),
//   double-buffered with an event each: an upload copies a chunk into a
//   free staging half and issues the async copy (the call returns while the
//   last chunks are in flight); a download pipelines device→pinned copies
//   with the host memcpy out of the other half. If pinned memory cannot be
//   had, plain (pageable) copies plus a stream sync are used instead.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.cuh"

namespace imix::cuda {

// ---- errors ------------------------------------------------------------------

namespace {
bool is_sticky(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorAssert:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorHardwareStackError:
    case cudaErrorLaunchTimeout:
      return true;
    // Also "the process must be terminated and relaunched" (driver_types.h,
    // CUDA 13), but newer than some toolkits imix builds with, so by number:
    case (cudaError_t)226:  // cudaErrorContained: a contained hardware fault or bad NVLink peer access (H100/H200)
    case (cudaError_t)721:  // cudaErrorTensorMemoryLeak
    case (cudaError_t)810:  // cudaErrorMpsClientTerminated
    case (cudaError_t)911:  // cudaErrorExternalDevice
      return true;
    default:
      return false;
  }
}
}  // namespace

void throw_cuda(cudaError_t e, const char* what) {
  cudaGetLastError();  // clear a non-sticky error so the next call starts clean
  std::string msg = std::string("CUDA error: ") + cudaGetErrorString(e) + " (" + cudaGetErrorName(e) + ") in " + what;
  if (is_sticky(e))
    msg += "; the CUDA context is no longer usable, restart the process to use the GPU again";
  fail(ErrorKind::Backend, msg);
}

// ---- status --------------------------------------------------------------------

namespace {
std::string version_str(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

Status query_status() {
  Status st;
  cudaRuntimeGetVersion(&st.runtime_version);
  if (cudaDriverGetVersion(&st.driver_version) != cudaSuccess) st.driver_version = 0;
  cudaGetLastError();
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  const std::string rt = "this addon's CUDA runtime is " + version_str(st.runtime_version);
  if (e == cudaErrorInsufficientDriver) {
    cudaGetLastError();
    st.reason = st.driver_version == 0
                    ? "no CUDA driver is installed (libcuda.so.1 not found; " + rt + ")"
                    : "the CUDA driver supports CUDA " + version_str(st.driver_version) + ", older than " + rt +
                          "; update the driver";
    return st;
  }
  if (e == cudaErrorNoDevice) {
    cudaGetLastError();
    st.reason = "no CUDA device was found (the driver reports none)";
    return st;
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    st.reason = std::string("CUDA initialization failed: ") + cudaGetErrorName(e) + ": " + cudaGetErrorString(e);
    return st;
  }
  if (n <= 0) {
    st.reason = "no CUDA device was found";
    return st;
  }
  bool any = false;
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p;
    DeviceProps d;
    d.index = i;
    if (cudaGetDeviceProperties(&p, i) == cudaSuccess) {
      d.name = p.name;
      d.memory = (uint64_t)p.totalGlobalMem;
      d.major = p.major;
      d.minor = p.minor;
      d.supported = p.major >= 8;
    } else {
      cudaGetLastError();
      d.name = "unknown";
    }
    any = any || d.supported;
    st.devices.push_back(d);
  }
  if (!any)
    st.reason = "no CUDA device has compute capability 8.0 or newer (this build has code for sm_80, sm_90 "
                "and compute_90 PTX)";
  return st;
}
}  // namespace

const Status& status() {
  static Status st = query_status();  // thread-safe, once, on first use
  return st;
}

// ---- per-device state -----------------------------------------------------------

namespace {

constexpr size_t kStagingBytes = size_t{4} << 20;  // per half

struct DeviceState {
  int index = 0;
  cudaStream_t stream = nullptr;
  std::mutex mu;  // pool and staging
  std::unordered_map<size_t, std::vector<void*>> free_lists;
  std::unordered_map<void*, size_t> live;  // block → size class
  PoolStats stats;
  // Pinned staging: two halves, an event per half (its last use on the stream).
  bool staging_tried = false;
  char* staging[2] = {nullptr, nullptr};
  cudaEvent_t staging_ev[2] = {nullptr, nullptr};
  double* result = nullptr;  // pinned slot for scalar readbacks
};

std::mutex g_states_mu;
std::vector<DeviceState*> g_states;  // never freed: the driver may be gone at exit
thread_local int t_current = -1;

DeviceState& state(int index) {
  std::lock_guard<std::mutex> lk(g_states_mu);
  if ((int)g_states.size() <= index) g_states.resize((size_t)index + 1, nullptr);
  if (!g_states[(size_t)index]) {
    auto* s = new DeviceState();
    s->index = index;
    g_states[(size_t)index] = s;
  }
  return *g_states[(size_t)index];
}

void set_device(int index) {
  // Every time, not only when t_current differs: other CUDA code in the
  // process (another addon) may have made a different device current on this
  // thread, and work would then go to the wrong device. It is cheap when the
  // device is current already.
  IMIX_CUDA_CHECK(cudaSetDevice(index));
  t_current = index;
  DeviceState& s = state(index);
  if (!s.stream) IMIX_CUDA_CHECK(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking));
}

DeviceState& cur() {
  if (t_current < 0) fail(ErrorKind::Backend, "internal error: no current CUDA device");
  return state(t_current);
}

// Size classes: 512-byte steps up to 1 MiB, then four classes per power of two.
size_t size_class(size_t n) {
  if (n <= 512) return 512;
  if (n <= (size_t{1} << 20)) return (n + 511) & ~size_t{511};
  size_t p = size_t{1} << (63 - __builtin_clzll((unsigned long long)n));  // largest power of two ≤ n
  if (p == n) return n;
  size_t step = p / 4;
  return (n + step - 1) / step * step;
}

std::string mib(uint64_t b) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f MiB", (double)b / 1048576.0);
  return buf;
}

// Returns every cached block of `s` to the driver. Caller holds s.mu and
// has made the device current.
void release_cache_locked(DeviceState& s) {
  if (s.stats.cached == 0) return;
  cudaStreamSynchronize(s.stream);  // cached blocks may be read by work still queued
  for (auto& kv : s.free_lists)
    for (void* p : kv.second) {
      cudaFree(p);
      ++s.stats.frees;
    }
  s.free_lists.clear();
  s.stats.cached = 0;
  cudaGetLastError();
}

void* pool_alloc_on(DeviceState& s, size_t bytes) {
  const size_t cls = size_class(bytes);
  std::lock_guard<std::mutex> lk(s.mu);
  auto it = s.free_lists.find(cls);
  if (it != s.free_lists.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    s.stats.cached -= cls;
    s.stats.in_use += cls;
    ++s.stats.reuses;
    s.live[p] = cls;
    return p;
  }
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, cls);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    release_cache_locked(s);
    e = cudaMalloc(&p, cls);
  }
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    size_t fr = 0, tot = 0;
    cudaMemGetInfo(&fr, &tot);
    cudaGetLastError();
    fail(ErrorKind::Backend, "out of device memory on cuda:" + std::to_string(s.index) + ": cannot allocate " +
                                 mib(bytes) + " (imix tensors hold " + mib(s.stats.in_use) + "; the device has " +
                                 mib(fr) + " free of " + mib(tot) +
                                 "); dispose tensors you no longer need or use smaller batches");
  }
  check(e, "cudaMalloc");
  ++s.stats.mallocs;
  s.stats.in_use += cls;
  s.live[p] = cls;
  return p;
}

void pool_free_on(DeviceState& s, void* p) noexcept {
  if (!p) return;
  std::lock_guard<std::mutex> lk(s.mu);
  auto it = s.live.find(p);
  if (it == s.live.end()) return;  // not ours: never free twice
  const size_t cls = it->second;
  s.live.erase(it);
  s.stats.in_use -= cls;
  s.stats.cached += cls;
  try {
    s.free_lists[cls].push_back(p);
  } catch (...) {
    s.stats.cached -= cls;  // could not record it: leak rather than crash
  }
}

// Pinned staging buffers of the current device, allocated on first use.
// Returns false when pinned memory is not available (pageable fallback).
bool staging_ready(DeviceState& s) {
  if (!s.staging_tried) {
    s.staging_tried = true;
    void* p = nullptr;
    if (cudaHostAlloc(&p, 2 * kStagingBytes + 64, cudaHostAllocDefault) == cudaSuccess) {
      s.staging[0] = (char*)p;
      s.staging[1] = (char*)p + kStagingBytes;
      s.result = (double*)((char*)p + 2 * kStagingBytes);
      if (cudaEventCreateWithFlags(&s.staging_ev[0], cudaEventDisableTiming) != cudaSuccess ||
          cudaEventCreateWithFlags(&s.staging_ev[1], cudaEventDisableTiming) != cudaSuccess) {
        cudaGetLastError();
        s.staging[0] = s.staging[1] = nullptr;
        s.result = nullptr;  // (the pinned block is kept; it is small)
      }
    } else {
      cudaGetLastError();
    }
  }
  return s.staging[0] != nullptr;
}

void upload_on(DeviceState& s, void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  std::lock_guard<std::mutex> lk(s.mu);
  if (!staging_ready(s)) {
    // Pageable: cudaMemcpyAsync stages it itself; sync so src may be reused.
    IMIX_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s.stream));
    IMIX_CUDA_CHECK(cudaStreamSynchronize(s.stream));
    return;
  }
  size_t off = 0;
  for (int c = 0; off < bytes; ++c) {
    const int h = c & 1;
    const size_t len = std::min(kStagingBytes, bytes - off);
    IMIX_CUDA_CHECK(cudaEventSynchronize(s.staging_ev[h]));  // the half's previous copy is done
    std::memcpy(s.staging[h], (const char*)src + off, len);
    IMIX_CUDA_CHECK(cudaMemcpyAsync((char*)dst + off, s.staging[h], len, cudaMemcpyHostToDevice, s.stream));
    IMIX_CUDA_CHECK(cudaEventRecord(s.staging_ev[h], s.stream));
    off += len;
  }
}

void download_on(DeviceState& s, void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  std::lock_guard<std::mutex> lk(s.mu);
  if (!staging_ready(s)) {
    IMIX_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s.stream));
    IMIX_CUDA_CHECK(cudaStreamSynchronize(s.stream));
    return;
  }
  const size_t nchunks = (bytes + kStagingBytes - 1) / kStagingBytes;
  auto issue = [&](size_t c) {
    const int h = (int)(c & 1);
    const size_t off = c * kStagingBytes, len = std::min(kStagingBytes, bytes - off);
    IMIX_CUDA_CHECK(cudaMemcpyAsync(s.staging[h], (const char*)src + off, len, cudaMemcpyDeviceToHost, s.stream));
    IMIX_CUDA_CHECK(cudaEventRecord(s.staging_ev[h], s.stream));
  };
  issue(0);
  for (size_t c = 0; c < nchunks; ++c) {
    // Half (c+1)&1 was emptied by the host in iteration c−1: refill it now.
    if (c + 1 < nchunks) issue(c + 1);
    const int h = (int)(c & 1);
    const size_t off = c * kStagingBytes, len = std::min(kStagingBytes, bytes - off);
    IMIX_CUDA_CHECK(cudaEventSynchronize(s.staging_ev[h]));
    std::memcpy((char*)dst + off, s.staging[h], len);
  }
}

// ---- fills ------------------------------------------------------------------------

__global__ void fill32_kernel(uint32_t* __restrict p, uint32_t v, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    p[i] = v;
}

struct StridedView {
  int ndim;
  int64_t shape[8];
  int64_t strides[8];
};

__global__ void fill32_strided_kernel(uint32_t* base, uint32_t v, StridedView sv, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t rem = i, off = 0;
    for (int k = sv.ndim - 1; k >= 0; --k) {
      const int64_t q = rem / sv.shape[k];
      off += (rem - q * sv.shape[k]) * sv.strides[k];
      rem = q;
    }
    base[off] = v;  // views with stride 0 write the same value twice: benign
  }
}

__global__ void __launch_bounds__(1024) sum_doubles_kernel(const double* __restrict v, int64_t n, double* __restrict out) {
  __shared__ double sh[32];
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += v[i];
  acc = block_sum(acc, sh);
  if (threadIdx.x == 0) *out = acc;
}

class CudaBackend final : public Backend {
 public:
  Device::Type type() const override { return Device::CUDA; }

  void* allocate(size_t bytes) override {
    DeviceState& s = cur();
    void* p = pool_alloc_on(s, bytes);
    cudaError_t e = cudaMemsetAsync(p, 0, size_class(bytes), s.stream);
    if (e != cudaSuccess) {
      pool_free_on(s, p);
      throw_cuda(e, "cudaMemsetAsync (zero-filling a new tensor)");
    }
    return p;
  }
  void deallocate(void* p, size_t, int index) noexcept override {
    try {
      pool_free_on(state(index), p);  // host bookkeeping only: no CUDA call
    } catch (...) {
    }
  }
  void copy_from_host(void* dst, const void* src, size_t bytes) override { upload_on(cur(), dst, src, bytes); }
  void copy_to_host(void* dst, const void* src, size_t bytes) override { download_on(cur(), dst, src, bytes); }

  void copy(void* dst, const void* src, size_t bytes) override {
    if (bytes == 0 || dst == src) return;
    DeviceState& s = cur();
    const char *d = (const char*)dst, *sp = (const char*)src;
    if (d < sp + bytes && sp < d + bytes) {  // overlapping: go through a temporary
      Scratch tmp(bytes);
      IMIX_CUDA_CHECK(cudaMemcpyAsync(tmp.as<void>(), src, bytes, cudaMemcpyDeviceToDevice, s.stream));
      IMIX_CUDA_CHECK(cudaMemcpyAsync(dst, tmp.as<void>(), bytes, cudaMemcpyDeviceToDevice, s.stream));
      return;
    }
    IMIX_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s.stream));
  }

  void fill32(void* dst, uint32_t bits, int64_t n) override {
    if (n <= 0) return;
    fill32_kernel<<<blocks_for(n), kThreads, 0, cur().stream>>>((uint32_t*)dst, bits, n);
    IMIX_CUDA_LAUNCHED("fill");
  }

  void fill32_strided(void* base, uint32_t bits, const int64_t* shape, const int64_t* strides, int ndim) override {
    if (ndim > 8) fail(ErrorKind::Shape, "fill: at most 8 dimensions are supported");
    StridedView sv{};
    sv.ndim = ndim;
    int64_t n = 1;
    for (int k = 0; k < ndim; ++k) {
      sv.shape[k] = shape[k];
      sv.strides[k] = strides[k];
      n *= shape[k];
    }
    if (n <= 0) return;
    fill32_strided_kernel<<<blocks_for(n), kThreads, 0, cur().stream>>>((uint32_t*)base, bits, sv, n);
    IMIX_CUDA_LAUNCHED("fill (strided)");
  }

  void synchronize() override { IMIX_CUDA_CHECK(cudaStreamSynchronize(cur().stream)); }
};

CudaBackend g_backend;

std::string dev_name(int index) { return "'cuda:" + std::to_string(index) + "'"; }

}  // namespace

// ---- runtime.h -------------------------------------------------------------------

Backend& backend(int index, const char* arg) {
  const Status& st = status();
  const std::string who = std::string(arg) + ": " + dev_name(index) + " is not available: ";
  if (st.devices.empty()) fail(ErrorKind::Device, who + st.reason);
  if (index < 0 || index >= (int)st.devices.size())
    fail(ErrorKind::Device, who + "there " + (st.devices.size() == 1 ? "is 1 CUDA device" :
                                               "are " + std::to_string(st.devices.size()) + " CUDA devices") +
                                " (cuda:0" + (st.devices.size() > 1 ? " to cuda:" + std::to_string(st.devices.size() - 1) : "") + ")");
  const DeviceProps& d = st.devices[(size_t)index];
  if (!d.supported)
    fail(ErrorKind::Device, who + d.name + " has compute capability " + std::to_string(d.major) + "." +
                                std::to_string(d.minor) + "; this build has code for 8.0 and newer");
  set_device(index);
  return g_backend;
}

Backend& backend_no_switch() { return g_backend; }

int current_device() { return t_current; }
void* current_stream() { return cur().stream; }

PoolStats pool_stats(int index) {
  DeviceState& s = state(index);
  std::lock_guard<std::mutex> lk(s.mu);
  return s.stats;
}

void empty_cache(int index) {
  backend(index, "device");
  DeviceState& s = state(index);
  std::lock_guard<std::mutex> lk(s.mu);
  release_cache_locked(s);
}

// ---- common.cuh -----------------------------------------------------------------

void* pool_alloc(size_t bytes) { return pool_alloc_on(cur(), bytes); }
void pool_free(void* p) noexcept {
  if (t_current >= 0) pool_free_on(state(t_current), p);
}

void upload(void* dst, const void* src, size_t bytes) { upload_on(cur(), dst, src, bytes); }

double sum_to_host(const double* v, int64_t n) {
  DeviceState& s = cur();
  Scratch out(sizeof(double));
  sum_doubles_kernel<<<1, 1024, 0, s.stream>>>(v, n, out.as<double>());
  IMIX_CUDA_LAUNCHED("sum (row losses)");
  double r = 0.0;
  std::lock_guard<std::mutex> lk(s.mu);
  if (staging_ready(s) && s.result) {
    IMIX_CUDA_CHECK(cudaMemcpyAsync(s.result, out.as<double>(), sizeof(double), cudaMemcpyDeviceToHost, s.stream));
    IMIX_CUDA_CHECK(cudaStreamSynchronize(s.stream));
    r = *s.result;
  } else {
    IMIX_CUDA_CHECK(cudaMemcpyAsync(&r, out.as<double>(), sizeof(double), cudaMemcpyDeviceToHost, s.stream));
    IMIX_CUDA_CHECK(cudaStreamSynchronize(s.stream));
  }
  return r;
}

}  // namespace imix::cuda
