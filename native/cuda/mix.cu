// i-Mix input mixing on the GPU, out of place (formulas as native/cpu/mix.cpp):
//   mixup   out_i = λ_i·x_i + (1−λ_i)·x_{π(i)}      rows of F floats
//   cutmix  out[i,c,y,x] = x[π(i),c,y,x] inside the box, x[i,c,y,x] outside
// Both are pure streaming kernels on a 2-D grid: blockIdx.y walks rows
// (mixup) or (image, channel) planes (cutmix), x-threads walk the contiguous
// floats of a row/plane, so every load and store is coalesced and the
// permuted source row is read directly (never mixed in place). The box is
// sampled on the host (cpu::cutmix_box, shared by both backends).
#include "common.cuh"
#include "kernels.h"

namespace imix::cuda {
namespace {

__global__ void mixup_kernel(const float* __restrict x, float* __restrict out, int64_t N, int64_t F,
                             const int32_t* __restrict perm, const float* __restrict lam, float lam_scalar) {
  for (int64_t i = blockIdx.y; i < N; i += gridDim.y) {
    const float l = lam ? lam[i] : lam_scalar;
    const float m = 1.0f - l;
    const float* xa = x + i * F;
    const float* xb = x + (int64_t)perm[i] * F;
    float* o = out + i * F;
    for (int64_t f = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; f < F; f += (int64_t)gridDim.x * blockDim.x)
      o[f] = l * xa[f] + m * xb[f];
  }
}

__global__ void cutmix_kernel(const float* __restrict x, float* __restrict out, int64_t N, int64_t C, int64_t H,
                              int64_t W, const int32_t* __restrict perm, Box box) {
  const int64_t HW = H * W, planes = N * C;
  for (int64_t p = blockIdx.y; p < planes; p += gridDim.y) {
    const int64_t i = p / C, c = p - i * C;
    const float* src = x + p * HW;
    const float* alt = x + ((int64_t)perm[i] * C + c) * HW;
    float* dst = out + p * HW;
    for (int64_t q = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; q < HW; q += (int64_t)gridDim.x * blockDim.x) {
      const int64_t yy = q / W, xx = q - yy * W;
      const bool in = yy >= box.y0 && yy < box.y1 && xx >= box.x0 && xx < box.x1;
      dst[q] = in ? alt[q] : src[q];
    }
  }
}

dim3 rows_grid(int64_t rows, int64_t cols) {
  return dim3(blocks_for(cols, kThreads, kMaxColumnBlocks), blocks_for(rows, 1, kMaxGridY));
}

}  // namespace

void mixup(const float* x, float* out, int64_t N, int64_t F, const int32_t* perm, const float* lam, float lam_scalar) {
  if (N <= 0 || F <= 0) return;
  mixup_kernel<<<rows_grid(N, F), kThreads, 0, stream()>>>(x, out, N, F, perm, lam, lam_scalar);
  IMIX_CUDA_LAUNCHED("mixup");
}

void cutmix(const float* x, float* out, int64_t N, int64_t C, int64_t H, int64_t W, const int32_t* perm, Box box) {
  const int64_t planes = N * C, HW = H * W;
  if (planes <= 0 || HW <= 0) return;
  cutmix_kernel<<<rows_grid(planes, HW), kThreads, 0, stream()>>>(x, out, N, C, H, W, perm, box);
  IMIX_CUDA_LAUNCHED("cutmix");
}

}  // namespace imix::cuda
