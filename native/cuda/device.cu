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
// - Two debugging modes, read from the environment once (for
//   compute-sanitizer runs: scripts/device-check.sh):
//   IMIX_CUDA_NO_CACHE=1  no cache: every allocation is a cudaMalloc of
//     exactly the bytes asked for, every free a stream sync and cudaFree, so
//     memcheck sees each tensor and scratch buffer at its true size (an
//     access past its end, or to a freed block, is an error instead of a hit
//     on the slack of a size class or on a block the cache handed out again).
//   IMIX_CUDA_SYNC_LAUNCH=1  the stream is synchronized after every kernel
//     launch (after_launch, IMIX_CUDA_LAUNCHED), so a kernel that faults is
//     the one the error names, not the next synchronizing call.
//   info().cuda.debug lists the modes in effect. Both are slow; never for
//   training.
// - Host synchronizations are counted (SyncStats, cudaStats() in the
//   library): every call after which the host has waited for the device's
//   stream — a stream sync, a download (copy_to_host, the scalar read-back
//   of sum_to_host), an event wait that found its event not yet reached
//   (wait_event). Small uploads go through a ring of pinned slots (an event
//   each) so that a training step's few index/λ uploads never wait for the
//   previous ones; a staged download (stage_download) issues a device→host
//   copy now and is read later, after some other synchronizing call, without
//   waiting (the collapse monitor's embeddings ride on the loss read-back).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <atomic>
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

// ---- debugging modes ------------------------------------------------------------

namespace {
bool env_on(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}
bool no_cache_mode() {
  static const bool on = env_on("IMIX_CUDA_NO_CACHE");
  return on;
}
bool sync_launch_mode() {
  static const bool on = env_on("IMIX_CUDA_SYNC_LAUNCH");
  return on;
}
}  // namespace

std::vector<std::string> debug_modes() {
  std::vector<std::string> m;
  if (no_cache_mode()) m.push_back("IMIX_CUDA_NO_CACHE");
  if (sync_launch_mode()) m.push_back("IMIX_CUDA_SYNC_LAUNCH");
  return m;
}

namespace {
void count_sync_current() noexcept;  // (below: cudaStats counts the debugging syncs too)
}  // namespace

void after_launch(const char* name) {
  check(cudaGetLastError(), name);
  if (!sync_launch_mode()) return;
  count_sync_current();
  // A fault while the kernel ran (illegal address, trap, ...) is reported by
  // the next call that waits for the stream: wait here, and name the kernel.
  const cudaError_t e = cudaStreamSynchronize(stream());
  if (e != cudaSuccess)
    throw_cuda(e, (std::string(name) + " (the kernel failed while running: IMIX_CUDA_SYNC_LAUNCH=1 waits after each launch)").c_str());
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
// Small uploads (≤ kSlotBytes: λ, π, batch indices, targets) each take the
// next of kSlots pinned slots: a slot is reused only kSlots uploads later,
// by which time a training step (a few uploads and one read-back each) has
// long passed it, so the host never waits for the stream to reach it.
constexpr size_t kSlotBytes = size_t{64} << 10;
constexpr int kSlots = 32;

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
  // The small-upload ring (in the same pinned block as the halves).
  char* slot = nullptr;
  cudaEvent_t slot_ev[kSlots] = {};
  int next_slot = 0;
  // The staged download (stage_download): one per device, pinned, grown on demand.
  char* staged = nullptr;
  size_t staged_cap = 0, staged_bytes = 0;
  cudaEvent_t staged_ev = nullptr;
  uint64_t staged_gen = 0;  // 0: none pending
  bool staged_pinned = false;  // the pending one went to `staged` (else staged_host)
  std::vector<char> staged_host;  // without pinned memory: a host copy, made at once (a sync)
  // Host synchronizations and host copies (runtime.h SyncStats).
  std::atomic<uint64_t> syncs{0}, downloads{0}, download_bytes{0}, uploads{0}, upload_bytes{0};
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

// Waits until the stream has passed `ev` (recorded on it, or never
// recorded). Returns whether the host had to wait: an event already reached
// costs nothing and is not a synchronization.
bool wait_event(cudaEvent_t ev) {
  const cudaError_t q = cudaEventQuery(ev);
  if (q == cudaSuccess) return false;
  if (q != cudaErrorNotReady) check(q, "cudaEventQuery");
  // "Not ready" is not an error; make sure no later check reports it.
  if (cudaPeekAtLastError() == cudaErrorNotReady) cudaGetLastError();
  IMIX_CUDA_CHECK(cudaEventSynchronize(ev));
  return true;
}
void count_sync_current() noexcept {
  try {
    if (t_current >= 0) ++state(t_current).syncs;
  } catch (...) {
  }
}
// A stream sync, counted.
void sync_stream(DeviceState& s) {
  ++s.syncs;
  IMIX_CUDA_CHECK(cudaStreamSynchronize(s.stream));
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

// The bytes a block of `n` requested bytes takes: its size class, or exactly
// n (at least 1: cudaMalloc(0) gives no pointer) without the cache.
size_t block_bytes(size_t n) { return no_cache_mode() ? std::max<size_t>(n, 1) : size_class(n); }

std::string mib(uint64_t b) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f MiB", (double)b / 1048576.0);
  return buf;
}

// Returns every cached block of `s` to the driver. Caller holds s.mu and
// has made the device current.
void release_cache_locked(DeviceState& s) {
  if (s.stats.cached == 0) return;
  ++s.syncs;
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
  const size_t cls = block_bytes(bytes);
  std::lock_guard<std::mutex> lk(s.mu);
  auto it = s.free_lists.find(cls);  // (always empty without the cache)
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
  if (no_cache_mode()) {
    // Straight back to the driver, once the work queued so far (which may
    // still read the block) is done. This runs from destructors and
    // finalizers, so it cannot throw: a sticky error (a kernel that faulted)
    // stays for the next checked call to report; a passing one is cleared
    // so that it is not blamed on the next kernel.
    if (t_current != s.index && cudaSetDevice(s.index) == cudaSuccess) t_current = s.index;
    ++s.syncs;
    cudaStreamSynchronize(s.stream);
    cudaFree(p);
    cudaGetLastError();
    ++s.stats.frees;
    return;
  }
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
    // One block: the two halves, the upload slots, the scalar result.
    if (cudaHostAlloc(&p, 2 * kStagingBytes + kSlots * kSlotBytes + 64, cudaHostAllocDefault) == cudaSuccess) {
      s.staging[0] = (char*)p;
      s.staging[1] = (char*)p + kStagingBytes;
      s.slot = (char*)p + 2 * kStagingBytes;
      s.result = (double*)((char*)p + 2 * kStagingBytes + kSlots * kSlotBytes);
      bool events = cudaEventCreateWithFlags(&s.staging_ev[0], cudaEventDisableTiming) == cudaSuccess &&
                    cudaEventCreateWithFlags(&s.staging_ev[1], cudaEventDisableTiming) == cudaSuccess;
      for (int i = 0; i < kSlots && events; ++i)
        events = cudaEventCreateWithFlags(&s.slot_ev[i], cudaEventDisableTiming) == cudaSuccess;
      if (!events) {
        cudaGetLastError();
        s.staging[0] = s.staging[1] = nullptr;
        s.slot = nullptr;
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
  ++s.uploads;
  s.upload_bytes += bytes;
  if (!staging_ready(s)) {
    // Pageable: cudaMemcpyAsync stages it itself; sync so src may be reused.
    IMIX_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s.stream));
    sync_stream(s);
    return;
  }
  if (bytes <= kSlotBytes) {
    const int k = s.next_slot;
    s.next_slot = (k + 1) % kSlots;
    char* slot = s.slot + (size_t)k * kSlotBytes;
    if (wait_event(s.slot_ev[k])) ++s.syncs;  // the slot's copy of kSlots uploads ago is done
    std::memcpy(slot, src, bytes);
    IMIX_CUDA_CHECK(cudaMemcpyAsync(dst, slot, bytes, cudaMemcpyHostToDevice, s.stream));
    IMIX_CUDA_CHECK(cudaEventRecord(s.slot_ev[k], s.stream));
    return;
  }
  bool waited = false;
  size_t off = 0;
  for (int c = 0; off < bytes; ++c) {
    const int h = c & 1;
    const size_t len = std::min(kStagingBytes, bytes - off);
    waited = wait_event(s.staging_ev[h]) || waited;  // the half's previous copy is done
    std::memcpy(s.staging[h], (const char*)src + off, len);
    IMIX_CUDA_CHECK(cudaMemcpyAsync((char*)dst + off, s.staging[h], len, cudaMemcpyHostToDevice, s.stream));
    IMIX_CUDA_CHECK(cudaEventRecord(s.staging_ev[h], s.stream));
    off += len;
  }
  if (waited) ++s.syncs;
}

void download_on(DeviceState& s, void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  std::lock_guard<std::mutex> lk(s.mu);
  // One synchronization, however many chunks: the host waits for the stream.
  ++s.syncs;
  ++s.downloads;
  s.download_bytes += bytes;
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
    cudaError_t e = cudaMemsetAsync(p, 0, block_bytes(bytes), s.stream);
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

  void synchronize() override { sync_stream(cur()); }
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

SyncStats sync_stats(int index, bool reset) {
  DeviceState& s = state(index);
  SyncStats r;
  r.syncs = reset ? s.syncs.exchange(0) : s.syncs.load();
  r.downloads = reset ? s.downloads.exchange(0) : s.downloads.load();
  r.download_bytes = reset ? s.download_bytes.exchange(0) : s.download_bytes.load();
  r.uploads = reset ? s.uploads.exchange(0) : s.uploads.load();
  r.upload_bytes = reset ? s.upload_bytes.exchange(0) : s.upload_bytes.load();
  return r;
}

uint64_t stage_download(const void* src, size_t bytes) {
  DeviceState& s = cur();
  std::lock_guard<std::mutex> lk(s.mu);
  static std::atomic<uint64_t> g_gen{0};
  const uint64_t gen = ++g_gen;
  ++s.downloads;
  s.download_bytes += bytes;
  s.staged_gen = 0;  // the previous one is replaced (a failure below leaves none)
  s.staged_bytes = bytes;
  s.staged_pinned = false;
  if (bytes > 0 && staging_ready(s)) {
    if (!s.staged_ev && cudaEventCreateWithFlags(&s.staged_ev, cudaEventDisableTiming) != cudaSuccess) {
      cudaGetLastError();
      s.staged_ev = nullptr;
    }
    if (s.staged_ev && s.staged_cap < bytes) {
      // Grow. The old block may still be the target of a queued copy, and
      // cudaFreeHost waits for the device anyway: a synchronization (rare:
      // the block only grows).
      if (s.staged) {
        ++s.syncs;
        IMIX_CUDA_CHECK(cudaEventSynchronize(s.staged_ev));
        cudaFreeHost(s.staged);
        s.staged = nullptr;
        s.staged_cap = 0;
      }
      const size_t cap = std::max<size_t>((bytes + 65535) & ~size_t{65535}, size_t{64} << 10);
      void* p = nullptr;
      if (cudaHostAlloc(&p, cap, cudaHostAllocDefault) == cudaSuccess) {
        s.staged = (char*)p;
        s.staged_cap = cap;
      } else {
        cudaGetLastError();
      }
    }
    s.staged_pinned = s.staged_ev && s.staged_cap >= bytes;
  }
  if (s.staged_pinned) {
    IMIX_CUDA_CHECK(cudaMemcpyAsync(s.staged, src, bytes, cudaMemcpyDeviceToHost, s.stream));
    IMIX_CUDA_CHECK(cudaEventRecord(s.staged_ev, s.stream));
  } else if (bytes > 0) {
    // No pinned memory: a plain download, now (it waits).
    s.staged_host.resize(bytes);
    IMIX_CUDA_CHECK(cudaMemcpyAsync(s.staged_host.data(), src, bytes, cudaMemcpyDeviceToHost, s.stream));
    sync_stream(s);
  }
  s.staged_gen = gen;
  return gen;
}

bool finish_staged(int index, uint64_t gen, void* dst, size_t bytes) {
  DeviceState& s = state(index);
  std::lock_guard<std::mutex> lk(s.mu);
  IMIX_CHECK(gen != 0 && s.staged_gen == gen, Value,
             "ticket: cuda:" + std::to_string(index) + " has no staged read-back " + std::to_string(gen) +
                 " (finished already, or replaced by a later one: a device keeps one)");
  IMIX_CHECK(bytes == s.staged_bytes, Shape,
             "target: has " + std::to_string(bytes) + " bytes, the staged read-back " +
                 std::to_string(s.staged_bytes));
  s.staged_gen = 0;
  if (bytes == 0) return false;
  if (!s.staged_pinned) {
    std::memcpy(dst, s.staged_host.data(), bytes);
    return false;
  }
  const bool waited = wait_event(s.staged_ev);
  if (waited) ++s.syncs;
  std::memcpy(dst, s.staged, bytes);
  return waited;
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
  ++s.syncs;  // the one read-back: waits for the stream
  ++s.downloads;
  s.download_bytes += sizeof(double);
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
