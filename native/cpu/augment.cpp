// Geometric image views, out of place, on x[N,C,H,W] (formulas in
// native/common/kernel_api.h, "augment.cpp"): random crop with zero padding
// and horizontal flip, fused; random resized crop (+ flip), and the resized
// crop of one given box.
//
// ---- random_crop_flip ----
//
// Randomness layout (the contract the TS tests reproduce with
// lib/random.ts philoxBlock): image i reads Philox block i of the stream
// (seed, offset), i.e. philox4x32_10(key = seed, counter = {lo(i), hi(i),
// lo(offset), hi(offset)}) → words (w0, w1, w2, w3):
//   w0 → dy_i = ((w0 >> 8)·(2·pad+1)) >> 24     crop row offset    ∈ [0, 2·pad]
//   w1 → dx_i = ((w1 >> 8)·(2·pad+1)) >> 24     crop column offset ∈ [0, 2·pad]
//   w2 → flip_i = u32_to_unit(w2) < flip_p      (top 24 bits · 2^−24, as randUniform)
//   w3 unused.
// The offsets are ⌊u·(2·pad+1)⌋ with u the 24-bit uniform of the word,
// computed exactly in integers (as cutmix_box does). Every channel of an
// image shares its draw; a draw depends only on (seed, offset, i), so the
// result does not depend on the thread count, and the CUDA backend
// (native/cuda/augment.cu) draws the same.
//
// Shape of the implementation: no arithmetic, only data movement. Threads
// split the N·C planes; each plane recomputes its image's Philox block (ten
// rounds, negligible next to H·W copies). The crop shifts a plane by
// (dy−pad, dx−pad): an output row whose source row lies outside the image is
// zeros; otherwise the row is [zeros | a contiguous source segment | zeros],
// or, flipped, the same segment copied in reverse. Rows are short (tens of
// floats), so these are plain vectorizable loops rather than memset/memcpy
// calls (whose per-call cost made the kernel 15–40% slower at 28×28 and
// 32×32). Every output float is written exactly once. One thread moves a
// [256, 3, 32, 32] batch in ≈ 0.19 ms (a plain copy: 0.07 ms).
//
// ---- random_resized_crop / resized_crop ----
// The box draw and the bilinear taps are native/common/resized_crop.h
// (shared with CUDA, bit for bit). Threads split the N·C planes; a thread
// draws the box of each image it meets (≤ 11 Philox blocks and some hundred
// double operations), once for that image's consecutive planes. The taps are separable: a
// column's (x0, x1, λ0, λ1) is the same on every row, a row's on every
// column. So a plane is done in column chunks of kCols: the chunk's column
// taps go into small stack arrays (the flip folded in: output column x reads
// the taps of crop column W−1−x). A crop row resampled along x (two gathers
// and an fmaf per output column) is kept in one of two stack rows while
// output rows still need it — the crop is upsampled, so consecutive output
// rows read the same two crop rows — and each output row is then one
// contiguous fmaf blend of its two crop rows. The values are exactly those of
// the per-pixel formula (t0, t1, then their blend: the CUDA kernel computes
// them per pixel); the caching only removes repeated work. The loops
// vectorize (AVX2/AVX-512 gathers and FMA with -march=native; without
// hardware FMA, fmaf is a libm call and the kernel several times slower, but
// the result the same). No heap memory; every output float is written once.
#include <algorithm>

#include "../common/philox.h"
#include "../common/resized_crop.h"
#include "kernels.h"
#include "parallel.h"

namespace imix::cpu {

void random_crop_flip(const float* __restrict x, float* __restrict out, int64_t N, int64_t C,
                      int64_t H, int64_t W, int64_t pad, float flip_p, uint64_t seed,
                      uint64_t offset) {
  const int64_t HW = H * W, planes = N * C;
  if (planes <= 0 || HW <= 0) return;
  const uint64_t span = 2 * (uint64_t)pad + 1;
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / HW);
  parallel_for(planes, grain, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const int64_t i = p / C;
      const Philox4 r = philox4x32_10(seed, (uint64_t)i, offset);
      const int64_t dy = (int64_t)(((uint64_t)(r.v[0] >> 8) * span) >> 24);
      const int64_t dx = (int64_t)(((uint64_t)(r.v[1] >> 8) * span) >> 24);
      const bool flip = u32_to_unit(r.v[2]) < flip_p;
      const int64_t sy0 = dy - pad, sx0 = dx - pad;  // source = output + (sy0, sx0)
      // Crop columns x with a source inside the image: [xa, xb).
      const int64_t xa = std::max<int64_t>(0, -sx0), xb = std::min<int64_t>(W, W - sx0);
      const float* src = x + p * HW;
      float* dst = out + p * HW;
      for (int64_t y = 0; y < H; ++y) {
        float* __restrict o = dst + y * W;
        const int64_t sy = y + sy0;
        if (sy < 0 || sy >= H || xa >= xb) {
#pragma omp simd
          for (int64_t xx = 0; xx < W; ++xx) o[xx] = 0.0f;
          continue;
        }
        const float* __restrict s = src + sy * W;  // s[x + sx0] is crop column x
        // Non-flipped: out[x] = crop[x], non-zero for x ∈ [xa, xb); flipped:
        // out[x] = crop[W−1−x], non-zero for x ∈ [W−xb, W−xa).
        const int64_t oa = flip ? W - xb : xa, ob = flip ? W - xa : xb;
        for (int64_t xx = 0; xx < oa; ++xx) o[xx] = 0.0f;
        if (!flip) {
          const float* __restrict t = s + (xa + sx0);  // t[x − xa] = crop[x]
#pragma omp simd
          for (int64_t xx = 0; xx < ob - oa; ++xx) o[oa + xx] = t[xx];
        } else {
          const int64_t base = W - 1 + sx0;  // s[base − x] = crop[W−1−x]
#pragma omp simd
          for (int64_t xx = oa; xx < ob; ++xx) o[xx] = s[base - xx];
        }
        for (int64_t xx = ob; xx < W; ++xx) o[xx] = 0.0f;
      }
    }
  });
}

namespace {

constexpr int64_t kCols = 256;  // columns per chunk (4 KiB of taps on the stack)

// out plane (H×W) = the box b of the src plane resampled to H×W (b.flip: mirrored).
void resample_plane(const float* __restrict src, float* __restrict dst, int64_t H, int64_t W, const CropBox& b) {
  alignas(64) int32_t c0[kCols], c1[kCols];
  alignas(64) float l0[kCols], l1[kCols];
  alignas(64) float hrow[2][kCols];  // horizontally resampled source rows (tag: their row)
  for (int64_t xb = 0; xb < W; xb += kCols) {
    const int64_t nc = std::min(kCols, W - xb);
    for (int64_t j = 0; j < nc; ++j) {
      const int64_t xo = xb + j;
      const rrc::Tap t = rrc::tap(b.flip ? W - 1 - xo : xo, b.w, W);
      c0[j] = (int32_t)(b.left + t.i0);  // < W < 2^31
      c1[j] = (int32_t)(b.left + t.i1);
      l0[j] = t.l0;
      l1[j] = t.l1;
    }
    int64_t tag[2] = {-1, -1};
    // The chunk of crop row `row` resampled along x, in a slot other than `keep`.
    auto row_of = [&](int64_t row, int keep) -> const float* {
      for (int s = 0; s < 2; ++s)
        if (tag[s] == row) return hrow[s];
      const int s = keep >= 0 ? 1 - keep : (tag[0] < tag[1] ? 0 : 1);  // rows only increase: drop the older
      const float* __restrict r = src + (b.top + row) * W;
      float* __restrict h = hrow[s];
#pragma omp simd
      for (int64_t j = 0; j < nc; ++j) h[j] = rrc::lerp(r[c0[j]], r[c1[j]], l0[j], l1[j]);
      tag[s] = row;
      return h;
    };
    for (int64_t y = 0; y < H; ++y) {
      const rrc::Tap r = rrc::tap(y, b.h, H);
      const float* t0 = row_of(r.i0, -1);
      const float* t1 = row_of(r.i1, t0 == hrow[0] ? 0 : 1);
      const float ly0 = r.l0, ly1 = r.l1;
      float* __restrict o = dst + y * W + xb;
#pragma omp simd
      for (int64_t j = 0; j < nc; ++j) o[j] = rrc::lerp(t0[j], t1[j], ly0, ly1);
    }
  }
}

// Calls fn(begin, end) for ranges of the N·C planes split over threads.
template <class Fn>
void for_plane_ranges(int64_t planes, int64_t HW, Fn&& fn) {
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / HW);
  parallel_for(planes, grain, fn);
}

}  // namespace

void random_resized_crop(const float* x, float* out, int64_t N, int64_t C, int64_t H, int64_t W,
                         double scale_lo, double scale_hi, double ratio_lo, double ratio_hi, float flip_p,
                         uint64_t seed, uint64_t offset) {
  const int64_t HW = H * W, planes = N * C;
  if (planes <= 0 || HW <= 0) return;
  for_plane_ranges(planes, HW, [&](int64_t pb, int64_t pe) {
    int64_t image = -1;  // the image whose box `b` holds (its planes are consecutive)
    CropBox b{};
    for (int64_t p = pb; p < pe; ++p) {
      if (p / C != image) {
        image = p / C;
        b = rrc::draw_box(image, H, W, scale_lo, scale_hi, ratio_lo, ratio_hi, flip_p, seed, offset);
      }
      resample_plane(x + p * HW, out + p * HW, H, W, b);
    }
  });
}

void resized_crop(const float* x, float* out, int64_t N, int64_t C, int64_t H, int64_t W, CropBox box) {
  const int64_t HW = H * W, planes = N * C;
  if (planes <= 0 || HW <= 0) return;
  for_plane_ranges(planes, HW, [&](int64_t pb, int64_t pe) {
    for (int64_t p = pb; p < pe; ++p) resample_plane(x + p * HW, out + p * HW, H, W, box);
  });
}

}  // namespace imix::cpu
