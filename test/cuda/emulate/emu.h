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
// logic, and, through the schedule (below), races whose outcome depends on
// the order of threads or warps between barriers or on the order of blocks. What
// it cannot: the GPU memory model (a thread's code between two barriers runs
// as one atomic step here, so races inside such a step, e.g. warp-synchronous
// code without __syncwarp that a GPU runs in lockstep, show up only as far as
// the order changes them; use scripts/cuda-sanitize.sh on a GPU), CUDA's own
// math library (host libm runs instead: expf/logf may differ on a GPU), the
// real runtime and cuBLAS. The device layer (device.cu) runs against a fake
// runtime (cuda_fake.h).
//
// Schedule: a GPU defines neither the order of a block's threads between two
// barriers nor the order of a grid's blocks, so a kernel whose result depends
// on either has a race (a missing __syncthreads/__syncwarp, a shared-memory
// write-after-read, a block reading what another block writes). The order is
// chosen at run time: IMIX_EMU_ORDER=forward (the default: threads 0, 1, 2…,
// blocks in blockIdx order), reverse, or shuffle (a fresh permutation for
// every round of the scheduler, every block's warps and every grid, from
// IMIX_EMU_SEED; the same seed and the same launches give the same
// schedule), and IMIX_EMU_SKEW=1 lets warps run ahead of each other (see
// Schedule::skew). run.sh runs the kernel tests under several schedules; a
// result that changes with the schedule is a bug.
#pragma once
#include <ucontext.h>

#include <cstdio>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <functional>
#include <memory>
#include <utility>
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
#define __launch_bounds__(...)  // (max threads[, min blocks per SM[, max blocks per cluster]])
#define __restrict__ __restrict

namespace emu {
inline long launches = 0;
// A block's threads are fibers (ucontext) on the calling OS thread, run by a
// scheduler: a fiber runs until it waits at a barrier (__syncthreads,
// __syncwarp or a warp shuffle) that other fibers have yet to reach, then
// another one runs, in the schedule's order. Cheap switches, no OS threads,
// deterministic for a given schedule.
enum class Order { Forward, Reverse, Shuffle };
struct Schedule {
  Order order = Order::Forward;
  // Warps run ahead: each warp in turn runs as far as it can (to the next
  // __syncthreads, its own warp barriers included) before the next one runs.
  // Without it every fiber advances by one barrier a round, so no warp gets
  // more than a barrier ahead of another, which hides a race between warps
  // across warp barriers (e.g. a warp refilling a shared buffer another warp
  // is still reading, all before the next __syncthreads). A GPU allows both.
  bool skew = false;
  uint64_t seed = 1;
  uint64_t state = 1;  // the shuffle's generator (splitmix64)
};
inline Schedule schedule_from_env() {
  Schedule s;
  const char* o = std::getenv("IMIX_EMU_ORDER");
  const char* skew = std::getenv("IMIX_EMU_SKEW");
  const char* seed = std::getenv("IMIX_EMU_SEED");
  if (!o || !*o || !std::strcmp(o, "forward")) s.order = Order::Forward;
  else if (!std::strcmp(o, "reverse")) s.order = Order::Reverse;
  else if (!std::strcmp(o, "shuffle")) s.order = Order::Shuffle;
  else {
    // A typo must not quietly test the default order again.
    std::fprintf(stderr, "emu: IMIX_EMU_ORDER=%s: expected forward, reverse or shuffle\n", o);
    std::abort();
  }
  s.skew = skew && *skew && std::strcmp(skew, "0") != 0;
  s.seed = s.state = seed && *seed ? std::strtoull(seed, nullptr, 0) : 1;
  return s;
}
inline Schedule schedule = schedule_from_env();
// For tests that compare schedules in one process (order_test.cpp).
inline void set_schedule(Order o, uint64_t seed = 1, bool skew = false) { schedule = Schedule{o, skew, seed, seed}; }
inline const char* order_name() {
  return schedule.order == Order::Forward ? "forward" : schedule.order == Order::Reverse ? "reverse" : "shuffle";
}
inline uint64_t next_random() {
  uint64_t z = (schedule.state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
// v = the schedule's order of 0..n−1: the one place the fibers of a round,
// the warps of a block and the blocks of a grid are ordered.
inline void order_of(std::vector<unsigned>& v, unsigned n) {
  v.resize(n);
  for (unsigned i = 0; i < n; ++i) v[i] = schedule.order == Order::Reverse ? n - 1 - i : i;
  if (schedule.order == Order::Shuffle)
    for (unsigned i = n; i > 1; --i) std::swap(v[i - 1], v[next_random() % i]);
}
struct Barrier {
  unsigned n = 0, arrived = 0;
  unsigned long gen = 0;
};
struct Fiber {
  ucontext_t ctx;
  bool done = true;
  const Barrier* bar = nullptr;  // the barrier it waits at, arrived in generation gen
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
// The last fiber to arrive completes the barrier and runs on; the others are
// resumed by the scheduler once it has completed.
inline void wait(Barrier& b) {
  const unsigned long g = b.gen;
  if (++b.arrived == b.n) {
    b.arrived = 0;
    ++b.gen;
    return;
  }
  fibers[cur].bar = &b;
  fibers[cur].gen = g;
  yield();
  fibers[cur].bar = nullptr;
}
inline bool runnable(const Fiber& f) { return !f.done && (!f.bar || f.bar->gen != f.gen); }
inline void entry() {
  (*job)();
  fibers[cur].done = true;  // returns to uc_link (the scheduler)
}
// Rounds over the fibers [lo, hi): each round resumes every fiber that can
// run once, in the schedule's order, until none can. Whether any ran.
inline bool rounds(unsigned lo, unsigned hi, unsigned bdx) {
  static std::vector<unsigned> round;
  bool ran = false;
  for (bool any = true; any;) {
    any = false;
    order_of(round, hi - lo);
    for (unsigned k : round) {
      const unsigned i = lo + k;
      if (!runnable(fibers[i])) continue;
      any = ran = true;
      cur = i;
      threadIdx.x = i % bdx;
      threadIdx.y = i / bdx;
      swapcontext(&sched_ctx, &fibers[i].ctx);
    }
  }
  return ran;
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
    fibers[i].bar = nullptr;
  }
  if (!schedule.skew) {
    rounds(0, nt, bdx);
  } else {
    static std::vector<unsigned> warps;
    for (bool any = true; any;) {
      any = false;
      order_of(warps, (nt + 31) / 32);
      for (unsigned w : warps) any |= rounds(32 * w, std::min(nt, 32 * w + 32), bdx);
    }
  }
  for (unsigned i = 0; i < nt; ++i)
    if (!fibers[i].done) {
      std::fprintf(stderr, "emu: a barrier never completed (divergent __syncthreads, or a warp shuffle or "
                           "__syncwarp that not every lane of the warp reaches?)\n");
      std::abort();
    }
}
// Where launches go: run at once (kernel tests), or queued on the fake
// runtime's stream (cuda_fake.cpp sets this), so they run in stream order
// with the copies and only when the host synchronizes.
// (A plain pointer: constant-initialized, so setting it from another file's
// static initializer cannot be undone by this one's.)
inline void (*submit)(std::function<void()>&&) = nullptr;
// What a real launch rejects with cudaErrorInvalidConfiguration (the CUDA
// Programming Guide's limits for sm_80/sm_90): an empty grid or block, more
// than 1024 threads a block (x, y ≤ 1024, z ≤ 64), gridDim.y or .z over
// 65535, gridDim.x over 2^31 − 1. The emulation runs any shape, so it stops
// here instead of letting a launch pass that a GPU would refuse.
inline void check_launch_shape(dim3 grid, dim3 block) {
  const unsigned long long threads = (unsigned long long)block.x * block.y * block.z;
  const char* bad = grid.x == 0 || grid.y == 0 || grid.z == 0 ? "an empty grid"
                    : block.x == 0 || block.y == 0 || block.z == 0 ? "an empty block"
                    : threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64 ? "too many threads a block"
                    : grid.y > 65535 || grid.z > 65535 ? "gridDim.y or gridDim.z over 65535"
                    : grid.x > 2147483647u ? "gridDim.x over 2^31 - 1"
                    : nullptr;
  if (bad) {
    std::fprintf(stderr, "emu: invalid launch configuration (%s): grid (%u, %u, %u), block (%u, %u, %u)\n", bad,
                 grid.x, grid.y, grid.z, block.x, block.y, block.z);
    std::abort();
  }
}
inline void launch(dim3 grid, dim3 block, const std::function<void()>& fn) {
  ++launches;
  check_launch_shape(grid, block);
  std::function<void()> run = [grid, block, fn] {
    gridDim = grid;
    blockDim = block;
    std::vector<unsigned> blocks;  // linear block indices, x fastest
    order_of(blocks, grid.x * grid.y);
    for (unsigned b : blocks) {
      blockIdx.x = b % grid.x;
      blockIdx.y = b / grid.x;
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
// The mask is not checked: every lane of the warp must arrive (as with a full mask).
inline void __syncwarp(unsigned = 0xffffffffu) { emu::wait(emu::warp_bars[emu::cur / 32]); }
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
// The cache-hinted loads and stores (__ldcs: evict-first, __ldcg: cached in
// L2 only, __stcs: streaming store) are plain accesses here. A GPU faults on
// an access not aligned to its size (a float4 off a 16-byte boundary:
// cudaErrorMisalignedAddress); through these the emulation stops there too.
namespace emu {
template <class T>
T* aligned_access(T* p) {
  if ((uintptr_t)p % alignof(T)) {
    std::fprintf(stderr, "emu: misaligned %zu-byte access at %p (a GPU faults: misaligned address)\n", sizeof(T),
                 (const void*)p);
    std::abort();
  }
  return p;
}
}  // namespace emu
template <class T> T __ldcs(const T* p) { return *emu::aligned_access(p); }
template <class T> T __ldcg(const T* p) { return *emu::aligned_access(p); }
template <class T> void __stcs(T* p, T v) { *emu::aligned_access(p) = v; }
struct alignas(16) float4 { float x, y, z, w; };
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
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
