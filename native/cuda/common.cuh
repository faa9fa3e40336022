// Shared by the CUDA kernel files: error checks, the current stream, launch
// shapes, warp/block reductions, pooled scratch memory and the one host
// readback the reductions need.
#pragma once
#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "../common/error.h"
#include "runtime.h"

namespace imix::cuda {

// Any CUDA error becomes imix::Error(Backend) with the CUDA error string.
// A non-sticky error is cleared first, so the process (and the device)
// stays usable; a sticky one (illegal address, ...) says the context is lost.
[[noreturn]] void throw_cuda(cudaError_t e, const char* what);
inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw_cuda(e, what);
}
#define IMIX_CUDA_CHECK(expr) ::imix::cuda::check((expr), #expr)
// After a kernel launch: launch-configuration errors are reported at once;
// errors while the kernel runs surface at the next synchronizing call, which
// then names that call, not the kernel. With IMIX_CUDA_SYNC_LAUNCH=1 (a
// debugging mode: device.cu) the stream is also synchronized after every
// launch, so a fault while the kernel runs is reported naming it.
void after_launch(const char* name);
#define IMIX_CUDA_LAUNCHED(name) ::imix::cuda::after_launch(name)

// The current device's stream: every kernel and copy of the backend runs on it.
inline cudaStream_t stream() { return static_cast<cudaStream_t>(current_stream()); }

// Device memory from the current device's caching pool (not zero-filled).
// Freed blocks go back to the pool and may be reused by work issued later
// on the same stream, so scratch needs no synchronization.
void* pool_alloc(size_t bytes);
void pool_free(void* p) noexcept;
class Scratch {
 public:
  explicit Scratch(size_t bytes) : p_(bytes ? pool_alloc(bytes) : nullptr) {}
  ~Scratch() {
    if (p_) pool_free(p_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <class T>
  T* as() const {
    return static_cast<T*>(p_);
  }

 private:
  void* p_;
};

// Host → device copy on the stream through the pinned staging buffer
// (returns once src may be reused).
void upload(void* dst, const void* src, size_t bytes);
// Σ v[0..n) (doubles on the device) in a fixed order, returned to the host:
// the one synchronization of the reductions that return a number.
double sum_to_host(const double* v, int64_t n);

// ---- launch shapes ------------------------------------------------------------
constexpr int kThreads = 256;

// Grid caps: a launch never has more blocks along a dimension than its cap,
// and its kernel loops over what does not fit (grid-stride loops), so a
// block handles several rows, tiles or chunks only when the input is larger
// than cap × (what one block covers), i.e. on real-sized inputs. Every launch
// that caps a grid takes its cap from here.
//
// IMIX_CUDA_TEST_GRID_CAP (tests only: test/cuda/emulate/run.sh and the
// IMIX_CUDA_EMULATE addon build) lowers every cap to that tiny value, so the
// small inputs of the emulation also run several iterations of every
// grid-stride loop — a wrong stride, a missing barrier between iterations or
// a shared buffer reused across them would otherwise show only on a GPU with
// millions of rows. Never set it for a real build.
constexpr int64_t grid_cap(int64_t production) {
#ifdef IMIX_CUDA_TEST_GRID_CAP
  static_assert(IMIX_CUDA_TEST_GRID_CAP >= 1, "IMIX_CUDA_TEST_GRID_CAP: a grid needs a block");
  return IMIX_CUDA_TEST_GRID_CAP < production ? IMIX_CUDA_TEST_GRID_CAP : production;
#else
  return production;
#endif
}
// gridDim.x of a 1-D grid-stride loop (blocks_for's default): enough blocks
// to fill any GPU.
constexpr int64_t kMaxGridX = grid_cap(int64_t{1} << 16);
// gridDim.x of a grid with one block per row (cross entropy).
constexpr int64_t kMaxRowGrid = grid_cap(int64_t{1} << 20);
// gridDim.x of a 2-D grid over (rows, columns): the column blocks of a row.
constexpr int64_t kMaxColumnBlocks = grid_cap(64);
// gridDim.y: the hardware limit.
constexpr int64_t kMaxGridY = grid_cap(65535);
// Blocks of the two-stage sum (elementwise.cu): past it, each block's
// contiguous chunk grows instead (the partials stay few for the final sum).
constexpr int64_t kMaxSumBlocks = grid_cap(1024);

// Blocks for a grid-stride loop over n items, per_block items a block: at
// least 1, at most cap.
inline unsigned blocks_for(int64_t n, int per_block = kThreads, int64_t cap = kMaxGridX) {
  int64_t b = (n + per_block - 1) / per_block;
  if (b < 1) b = 1;
  if (b > cap) b = cap;
  return (unsigned)b;
}

// ---- (row, column) of a grid-stride loop, without division -----------------
// A 1-D grid-stride loop over the R·C elements of a row-major [R, C] array
// whose body needs each element's row or column: a thread divides once, for
// its first element and for the grid's stride as whole rows + columns, then
// follows both by additions. (A 64-bit `/` or `%` is a subroutine of tens of
// instructions on a GPU; nvcc's bypass to a 32-bit one when both operands
// fit still costs about twenty, per element.)
//   for (RowColWalk w(C); w.q < n; w.next()) y[w.q] += b[w.c];
// The other constructor walks any strided loop, e.g. a block's threads over
// a range: RowColWalk w(m0 + threadIdx.x, blockDim.x, C).
struct RowColWalk {
  int64_t q, r, c;       // flat index, its row and column
  int64_t C;             // columns
  int32_t step, dr, dc;  // the loop's stride (< 2^31: every launch here), as dr rows + dc columns
  __device__ RowColWalk(int64_t start, int32_t stride, int64_t cols) : q(start), C(cols), step(stride) {
    r = q / C;
    c = q - r * C;
    dr = (int32_t)(step / C);
    dc = (int32_t)(step - dr * C);
  }
  // The grid-stride loop: start at the thread's global index, step over the grid.
  __device__ explicit RowColWalk(int64_t cols)
      : RowColWalk(blockIdx.x * (int64_t)blockDim.x + threadIdx.x, (int32_t)(gridDim.x * blockDim.x), cols) {}
  // Advances one stride; returns the carry (1 when the column wrapped into one more row).
  __device__ int32_t next() {
    q += step;
    r += dr;
    c += dc;
    if (c >= C) {  // c < 2C: one carry at most
      c -= C;
      ++r;
      return 1;
    }
    return 0;
  }
};

// The channel ch = (q / S) mod C of each element q of an [N, C, S] array (S
// = H·W, or L) in a grid-stride loop, by additions: a RowColWalk over the
// N·C planes of S values (plane w.r, position w.c) whose plane index is also
// followed modulo C. Per stride the channel moves by dch = dr mod C plus the
// walk's carry, < 2C in all: one subtraction wraps it.
//   for (ChannelWalk w(S, C); w.q() < n; w.next()) y[w.q()] += b[w.ch];
struct ChannelWalk {
  RowColWalk w;
  int64_t ch, C;
  int32_t dch;
  __device__ ChannelWalk(int64_t S, int64_t channels) : w(S), C(channels) {
    ch = w.r % C;
    dch = (int32_t)(w.dr % C);
  }
  __device__ int64_t q() const { return w.q; }
  __device__ void next() {
    ch += dch + w.next();
    if (ch >= C) ch -= C;
  }
};

// ---- reductions (deterministic: fixed shuffle trees) -----------------------
template <class T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
// NaN-skipping max (fmaxf returns the other operand when one is NaN).
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
// Sum over a 1-D block (blockDim.x a multiple of 32); every thread gets the
// total. sh: __shared__ T[32], reusable across calls.
template <class T>
__device__ __forceinline__ T block_sum(T v, T* sh) {
  const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // sh may still be being read by a previous call
  if (lane == 0) sh[wid] = v;
  __syncthreads();
  T r = lane < nw ? sh[lane] : T(0);
  return warp_sum(r);  // every warp reduces the same values in the same order
}
__device__ __forceinline__ float block_max(float v, float* sh) {
  const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) sh[wid] = v;
  __syncthreads();
  float r = lane < nw ? sh[lane] : -INFINITY;
  return warp_max(r);
}

}  // namespace imix::cuda
