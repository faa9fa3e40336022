// A CPU emulation of the CUDA execution model, enough to run imix's kernels
// (native/cuda/*.cu) on the host and compare them with the CPU kernels on a
// machine without a GPU (test/cuda/emulate/run.sh; CI runs it).
//
// A launch runs its blocks one after another; a block runs blockDim real
// threads (std::thread), so __syncthreads is a real barrier (std::barrier),
// warp shuffles are an exchange through a per-block buffer between two
// barriers of the warp's 32 threads, and __shared__ variables are function
// statics (one block at a time). What this checks: indexing, bounds, tiling,
// reductions, block/warp synchronization structure, the host-side launch
// logic. What it cannot: the GPU memory model and real data races (use
// scripts/cuda-sanitize.sh on a GPU), CUDA's own math library (host libm runs
// instead: expf/logf may differ on a GPU), the real runtime and cuBLAS. The
// device layer (device.cu) runs against a fake runtime (cuda_fake.h).
#pragma once
#include <barrier>
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
inline thread_local emu_uint3 threadIdx;
inline emu_uint3 blockIdx;
inline dim3 blockDim, gridDim;
inline std::barrier<>* emu_block_bar;
inline std::vector<std::unique_ptr<std::barrier<>>> emu_warp_bars;
inline double emu_xchg[1024];
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(x)
#define __restrict__ __restrict
inline void __syncthreads() { emu_block_bar->arrive_and_wait(); }
inline int emu_tid() { return (int)(threadIdx.x + threadIdx.y * blockDim.x); }
template <class T>
T __shfl_xor_sync(unsigned, T v, int o) {
  const int t = emu_tid(), w = t / 32;
  std::memcpy(&emu_xchg[t], &v, sizeof(T));
  emu_warp_bars[(size_t)w]->arrive_and_wait();
  T r;
  std::memcpy(&r, &emu_xchg[t ^ o], sizeof(T));
  emu_warp_bars[(size_t)w]->arrive_and_wait();
  return r;
}
template <class T> T __ldcs(const T* p) { return *p; }
template <class T> void __stcs(T* p, T v) { *p = v; }
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) double2 { double x, y; };
inline double2 make_double2(double a, double b) { return {a, b}; }
namespace emu {
inline long launches = 0;
inline void launch(dim3 grid, dim3 block, const std::function<void()>& fn) {
  ++launches;
  gridDim = grid;
  blockDim = block;
  const unsigned nt = block.x * block.y;
  for (unsigned by = 0; by < grid.y; ++by)
    for (unsigned bx = 0; bx < grid.x; ++bx) {
      blockIdx.x = bx; blockIdx.y = by;
      std::barrier<> bar((std::ptrdiff_t)nt);
      emu_block_bar = &bar;
      emu_warp_bars.clear();
      for (unsigned w = 0; w < (nt + 31) / 32; ++w) emu_warp_bars.emplace_back(new std::barrier<>(32));
      std::vector<std::thread> th;
      th.reserve(nt);
      for (unsigned t = 0; t < nt; ++t)
        th.emplace_back([&, t] { threadIdx.x = t % block.x; threadIdx.y = t / block.x; fn(); });
      for (auto& x : th) x.join();
    }
}
inline void launch(unsigned grid, dim3 block, const std::function<void()>& fn) { launch(dim3(grid), block, fn); }
inline void launch(dim3 grid, int block, const std::function<void()>& fn) { launch(grid, dim3((unsigned)block), fn); }
inline void launch(unsigned grid, int block, const std::function<void()>& fn) { launch(dim3(grid), dim3((unsigned)block), fn); }
}  // namespace emu
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
