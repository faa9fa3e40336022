// A CPU emulation of the CUDA execution model, enough to run imix's kernels
// (native/cuda/*.cu) on the host and compare them with the CPU kernels on a
// machine without a GPU (test/cuda/emulate/run.sh; CI runs it).
//
// A launch runs its blocks one after another; a block runs its blockDim
// threads as fibers that switch at every barrier, so __syncthreads is a real
// barrier, warp shuffles are an exchange through a per-block buffer between
// two barriers of the warp's 32 threads, and __shared__ variables are
// function statics (one block at a time). What this checks: indexing, bounds, tiling,
// reductions, block/warp synchronization structure, the host-side launch
// logic. What it cannot: the GPU memory model and real data races (use
// scripts/cuda-sanitize.sh on a GPU), CUDA's own math library (host libm runs
// instead: expf/logf may differ on a GPU), the real runtime and cuBLAS. The
// device layer (device.cu) runs against a fake runtime (cuda_fake.h).
#pragma once
#include <ucontext.h>

#include <cstdio>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct emu_uint3 { unsigned x = 0, y = 0, z = 0; };
inline emu_uint3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(x)
#define __restrict__ __restrict

namespace emu {
inline long launches = 0;
// A block's threads are fibers (ucontext) on the calling OS thread, run
// round-robin by a scheduler: a fiber runs until it waits at a barrier
// (__syncthreads, or a warp shuffle), then the next one runs. Cheap switches,
// no OS threads, deterministic order.
struct Fiber {
  ucontext_t ctx;
  bool done = true;
};
struct Barrier {
  unsigned n = 0, arrived = 0;
  unsigned long gen = 0;
};
inline ucontext_t sched_ctx;
inline std::vector<Fiber> fibers;
inline std::vector<std::unique_ptr<char[]>> stacks;
constexpr size_t kStack = size_t{128} << 10;
inline const std::function<void()>* job = nullptr;
inline unsigned cur = 0;
inline Barrier block_bar;
inline std::vector<Barrier> warp_bars;
inline double xchg[1024];

inline void yield() { swapcontext(&fibers[cur].ctx, &sched_ctx); }
inline void wait(Barrier& b) {
  const unsigned long g = b.gen;
  if (++b.arrived == b.n) {
    b.arrived = 0;
    ++b.gen;
    return;
  }
  for (long spins = 0; b.gen == g; ++spins) {
    if (spins > 100000000L) {
      std::fprintf(stderr, "emu: a barrier never completed (divergent __syncthreads?)\n");
      std::abort();
    }
    yield();
  }
}
inline void entry() {
  (*job)();
  fibers[cur].done = true;  // returns to uc_link (the scheduler)
}
inline void run_block(unsigned nt, unsigned bdx, const std::function<void()>& fn) {
  if (fibers.size() < nt) fibers.resize(nt);
  while (stacks.size() < nt) stacks.emplace_back(new char[kStack]);
  job = &fn;
  block_bar = Barrier{nt};
  warp_bars.assign((nt + 31) / 32, Barrier{32});
  if (nt % 32) warp_bars.back().n = nt % 32;
  for (unsigned i = 0; i < nt; ++i) {
    getcontext(&fibers[i].ctx);
    fibers[i].ctx.uc_stack.ss_sp = stacks[i].get();
    fibers[i].ctx.uc_stack.ss_size = kStack;
    fibers[i].ctx.uc_link = &sched_ctx;
    makecontext(&fibers[i].ctx, entry, 0);
    fibers[i].done = false;
  }
  for (bool any = true; any;) {
    any = false;
    for (unsigned i = 0; i < nt; ++i) {
      if (fibers[i].done) continue;
      any = true;
      cur = i;
      threadIdx.x = i % bdx;
      threadIdx.y = i / bdx;
      swapcontext(&sched_ctx, &fibers[i].ctx);
    }
  }
}
// Where launches go: run at once (kernel tests), or queued on the fake
// runtime's stream (cuda_fake.cpp sets this), so they run in stream order
// with the copies and only when the host synchronizes.
// (A plain pointer: constant-initialized, so setting it from another file's
// static initializer cannot be undone by this one's.)
inline void (*submit)(std::function<void()>&&) = nullptr;
inline void launch(dim3 grid, dim3 block, const std::function<void()>& fn) {
  ++launches;
  std::function<void()> run = [grid, block, fn] {
    gridDim = grid;
    blockDim = block;
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        blockIdx.x = bx;
        blockIdx.y = by;
        run_block(block.x * block.y, block.x, fn);
      }
  };
  if (submit) submit(std::move(run));
  else run();
}
inline dim3 to_dim3(dim3 d) { return d; }
inline dim3 to_dim3(unsigned v) { return dim3(v); }
inline dim3 to_dim3(int v) { return dim3((unsigned)v); }
// kernel<<<grid, block>>>(args...): the arguments are evaluated at the call,
// like a real launch, and the kernel runs on copies of them (maybe later).
template <class G, class B, class K, class... A>
void launch_k(G grid, B block, K kernel, A... args) {
  launch(to_dim3(grid), to_dim3(block), [kernel, args...]() { kernel(args...); });
}
}  // namespace emu

inline void __syncthreads() { emu::wait(emu::block_bar); }
template <class T>
T __shfl_xor_sync(unsigned, T v, int o) {
  const unsigned t = emu::cur;
  emu::Barrier& w = emu::warp_bars[t / 32];
  std::memcpy(&emu::xchg[t], &v, sizeof(T));
  emu::wait(w);
  T r;
  std::memcpy(&r, &emu::xchg[t ^ (unsigned)o], sizeof(T));
  emu::wait(w);
  return r;
}
template <class T> T __ldcs(const T* p) { return *p; }
template <class T> void __stcs(T* p, T v) { *p = v; }
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) double2 { double x, y; };
inline double2 make_double2(double a, double b) { return {a, b}; }
#ifndef EMU_FAKE_RUNTIME
// Runtime API stubs for the kernel files (device_test.cpp uses cuda_fake.h instead).
using cudaStream_t = void*;
using cudaError_t = int;
constexpr int cudaSuccess = 0;
enum cudaMemcpyKind { cudaMemcpyDeviceToDevice, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost };
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount };
inline int cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind, cudaStream_t) { std::memmove(d, s, n); return 0; }
inline int cudaDeviceGetAttribute(int* v, cudaDeviceAttr, int) { *v = 4; return 0; }
inline int cudaGetLastError() { return 0; }
#endif
