// Signal views on the GPU, on x[N, C, L] (formulas: native/common/kernel_api.h,
// "signal_views.cpp"): time shift, random time crop with linear resampling,
// amplitude scaling. The draws (Philox block i of the stream (seed, offset)
// for signal i) and the per-sample float expressions are the functions of
// native/common/signal_views.h that the CPU runs, and use no libm call whose
// result differs between the CPU and CUDA (only correctly rounded IEEE
// operations, with __dmul_rn or exact products where nvcc would otherwise
// contract into a different fused multiply-add), so every output is
// bit-identical to the CPU's.
//
// Streaming kernels on a 2-D grid as cutmix (mix.cu): blockIdx.y walks the
// N·C planes, x-threads the L samples of a plane (coalesced loads and
// stores; a crop's gathers stay within a window of the same plane). Each
// thread draws its plane's parameters itself (one Philox block, ten rounds)
// once per plane it visits: no scratch, no second launch, no shared memory
// to synchronize. time_shift and random_time_crop are out of place;
// amplitude_scale may run in place (each thread reads its sample, then
// writes it).
#include "../common/signal_views.h"
#include "common.cuh"
#include "kernels.h"

namespace imix::cuda {
namespace {

__global__ void time_shift_kernel(const float* __restrict x, float* __restrict out, int64_t C, int64_t L,
                                  int64_t planes, int64_t max_shift, uint64_t seed, uint64_t offset) {
  for (int64_t p = blockIdx.y; p < planes; p += gridDim.y) {
    const int64_t s = time_shift_draw(seed, offset, p / C, max_shift);
    const float* src = x + p * L;
    float* o = out + p * L;
    for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < L; t += (int64_t)gridDim.x * blockDim.x) {
      const int64_t q = t - s;
      o[t] = q >= 0 && q < L ? src[q] : 0.0f;
    }
  }
}

__global__ void time_crop_kernel(const float* __restrict x, float* __restrict out, int64_t C, int64_t L,
                                 int64_t planes, double min_scale, double max_scale, uint64_t seed,
                                 uint64_t offset) {
  for (int64_t p = blockIdx.y; p < planes; p += gridDim.y) {
    const TimeCrop c = time_crop_draw(seed, offset, p / C, L, min_scale, max_scale);
    const float* w = x + p * L + c.start;
    float* o = out + p * L;
    const float scale = (float)c.len / (float)L;
    for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < L; t += (int64_t)gridDim.x * blockDim.x)
      o[t] = c.len == L ? w[t] : time_resample_at(w, c.len, scale, t);
  }
}

__global__ void amplitude_kernel(const float* x, float* out, int64_t C, int64_t L, int64_t planes, double lo,
                                 double hi, uint64_t seed, uint64_t offset) {
  for (int64_t p = blockIdx.y; p < planes; p += gridDim.y) {
    const float g = amplitude_draw(seed, offset, p / C, lo, hi);
    const float* src = x + p * L;
    float* o = out + p * L;
    for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < L; t += (int64_t)gridDim.x * blockDim.x)
      o[t] = g * src[t];
  }
}

dim3 planes_grid(int64_t planes, int64_t L) {
  return dim3(blocks_for(L, kThreads, kMaxColumnBlocks), blocks_for(planes, 1, kMaxGridY));
}

}  // namespace

void time_shift(const float* x, float* out, int64_t N, int64_t C, int64_t L, int64_t max_shift, uint64_t seed,
                uint64_t offset) {
  const int64_t planes = N * C;
  if (planes <= 0 || L <= 0) return;
  time_shift_kernel<<<planes_grid(planes, L), kThreads, 0, stream()>>>(x, out, C, L, planes, max_shift, seed, offset);
  IMIX_CUDA_LAUNCHED("time_shift");
}

void random_time_crop(const float* x, float* out, int64_t N, int64_t C, int64_t L, double min_scale,
                      double max_scale, uint64_t seed, uint64_t offset) {
  const int64_t planes = N * C;
  if (planes <= 0 || L <= 0) return;
  time_crop_kernel<<<planes_grid(planes, L), kThreads, 0, stream()>>>(x, out, C, L, planes, min_scale, max_scale,
                                                                      seed, offset);
  IMIX_CUDA_LAUNCHED("random_time_crop");
}

void amplitude_scale(const float* x, float* out, int64_t N, int64_t C, int64_t L, double lo, double hi, uint64_t seed,
                     uint64_t offset) {
  const int64_t planes = N * C;
  if (planes <= 0 || L <= 0) return;
  amplitude_kernel<<<planes_grid(planes, L), kThreads, 0, stream()>>>(x, out, C, L, planes, lo, hi, seed, offset);
  IMIX_CUDA_LAUNCHED("amplitude_scale");
}

}  // namespace imix::cuda
