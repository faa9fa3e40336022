// The fake CUDA runtime of cuda_fake.h.
#include "cuda_fake.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>

namespace fake {
// The stream: a FIFO of work that runs only when the host waits for it
// (stream or event synchronize, cudaFree), like a GPU that is always behind.
static std::deque<std::function<void()>> queue;
static void drain() {
  while (!queue.empty()) {
    auto f = std::move(queue.front());
    queue.pop_front();
    f();
  }
}
void enqueue(std::function<void()> f) { queue.push_back(std::move(f)); }
// IMIX_FAKE_FAULT_LAUNCH=N (tests of IMIX_CUDA_SYNC_LAUNCH, test/cuda/debug-modes.test.ts):
// the process's Nth kernel launch faults when the stream runs it, as a kernel
// that makes an illegal access does on a GPU: it does not complete, and the
// context reports cudaErrorIllegalAddress from then on, first to whichever
// call waits for the stream next.
static long launches = 0;
static const long fault_at = [] {
  const char* v = std::getenv("IMIX_FAKE_FAULT_LAUNCH");
  return v ? std::atol(v) : 0L;
}();
static void submit_launch(std::function<void()>&& f) {
  if (++launches == fault_at) {
    enqueue([] { sticky = cudaErrorIllegalAddress; });
    return;
  }
  enqueue(std::move(f));
}
static const bool installed = (emu::submit = submit_launch, true);
struct Event {
  unsigned long recorded = 0, completed = 0;
};
size_t budget = size_t{4} << 30, used = 0;  // device_test sets 64 MiB
long mallocs = 0, frees = 0, memcpys = 0, syncs = 0, host_allocs = 0;
int device_count = 1;
cudaError_t sticky = cudaSuccess;
static std::map<void*, size_t> blocks;
static cudaError_t last = cudaSuccess;
static cudaError_t ret(cudaError_t e) {
  if (sticky) e = sticky;
  if (e) last = e;
  return e;
}
}  // namespace fake
using namespace fake;

cudaError_t cudaGetLastError() {
  cudaError_t e = sticky ? sticky : last;
  last = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return sticky ? sticky : last; }
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    default: return "some CUDA error";
  }
}
const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    default: return "cudaErrorUnknown";
  }
}
cudaError_t cudaRuntimeGetVersion(int* v) { *v = 13000; return cudaSuccess; }
cudaError_t cudaDriverGetVersion(int* v) { *v = 13000; return cudaSuccess; }
cudaError_t cudaGetDeviceCount(int* n) {
  *n = device_count;
  return device_count ? cudaSuccess : ret(cudaErrorNoDevice);
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int i) {
  std::snprintf(p->name, sizeof p->name, "imix CUDA emulation %d (host threads, fake runtime)", i);
  p->totalGlobalMem = budget;
  p->major = 8;
  p->minor = 0;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int i) { return ret(i < device_count ? cudaSuccess : cudaErrorInvalidDevice); }
// The stream handle points at this: fake_cublas.cpp queues its work through it.
struct FakeStream {
  void (*enqueue)(void (*fn)(void*), void* ctx);
};
static void enqueue_c(void (*fn)(void*), void* ctx) { fake::enqueue([fn, ctx] { fn(ctx); }); }
static FakeStream g_stream{enqueue_c};
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = &g_stream;
  return ret(cudaSuccess);
}
cudaError_t cudaStreamSynchronize(cudaStream_t) {
  ++syncs;
  drain();
  return ret(cudaSuccess);
}
cudaError_t cudaMalloc(void** p, size_t n) {
  if (sticky) return ret(sticky);
  if (used + n > budget) return ret(cudaErrorMemoryAllocation);
  *p = std::malloc(n);
  std::memset(*p, 0xAB, n);  // garbage: the backend must zero-fill
  blocks[*p] = n;
  used += n;
  ++mallocs;
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  drain();  // cudaFree synchronizes
  auto it = blocks.find(p);
  if (it == blocks.end()) std::abort();  // double free or foreign pointer
  used -= it->second;
  blocks.erase(it);
  std::free(p);
  ++frees;
  return ret(cudaSuccess);
}
cudaError_t cudaMemGetInfo(size_t* fr, size_t* tot) { *fr = budget - used; *tot = budget; return cudaSuccess; }
cudaError_t cudaHostAlloc(void** p, size_t n, unsigned) { *p = std::malloc(n); ++host_allocs; return ret(cudaSuccess); }
cudaError_t cudaFreeHost(void* p) {
  drain();  // like cudaFree, it waits for the device
  std::free(p);
  return ret(cudaSuccess);
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) {
  *e = new Event();
  return ret(cudaSuccess);
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
  Event* ev = (Event*)e;
  const unsigned long n = ++ev->recorded;
  enqueue([ev, n] { ev->completed = n; });
  return ret(cudaSuccess);
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) {
  Event* ev = (Event*)e;
  while (ev->completed < ev->recorded && !queue.empty()) {
    auto f = std::move(queue.front());
    queue.pop_front();
    f();
  }
  return ret(cudaSuccess);
}
// Not an error: the stream has not reached the event yet (nothing runs).
cudaError_t cudaEventQuery(cudaEvent_t e) {
  if (sticky) return ret(sticky);
  const Event* ev = (const Event*)e;
  return ev->completed < ev->recorded ? cudaErrorNotReady : cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind, cudaStream_t) {
  if (sticky) return ret(sticky);
  ++memcpys;
  enqueue([d, s, n] { std::memcpy(d, s, n); });  // reads s when the stream gets there
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* d, int v, size_t n, cudaStream_t) {
  enqueue([d, v, n] { std::memset(d, v, n); });
  return ret(cudaSuccess);
}
cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr, int) { *v = 4; return cudaSuccess; }
