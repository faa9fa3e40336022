// Optimizer steps over one flat parameter buffer cut into segments
// (seg_offsets[0..nseg], seg_flags[s]; nseg == 0: one segment, every flag on).
// With g' = g + wd_s·p (wd_s = weight_decay where the segment has kWeightDecay,
// else 0):
//   SGD:   buf = μ·buf + g';                 p −= lr·(nesterov ? g' + μ·buf : buf)
//   LARS:  t_s = η·‖p_s‖/‖g'_s‖ (segment has kLarsAdapt, both norms > 0; else 1)
//          buf = μ·buf + t_s·g';             p −= lr·(nesterov ? t_s·g' + μ·buf : buf)
//   AdamW: p −= lr·wd_s·p; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
//          p −= (lr/(1−β1^t)) · m / (sqrt(v)/sqrt(1−β2^t) + eps)
// (AdamW written in PyTorch's order of operations, with 1−β formed in double,
// so float results track it.)
//
// Shape of the implementation: every step is one fused pass over the buffer
// (read p, g and the state once, write p and the state once). The buffer is
// split into one contiguous element range per thread, independently of the
// segment layout; inside its range a thread walks the segments it overlaps
// (binary search for the first) and runs a plain vectorized loop per piece with
// that segment's constants. LARS needs per-segment norms first: a first pass of
// the same shape accumulates Σp² and Σg'² per (thread range, segment) in double,
// the partials are summed in range order, and the trust ratios are fixed before
// the update pass.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../common/optim_math.h"
#include "kernels.h"
#include "parallel.h"

namespace imix::cpu {
namespace {

constexpr int64_t kGrain = 1 << 15;  // elements per thread range worth a fork

struct Segments {
  const int64_t* off;
  const uint8_t* flags;
  int64_t nseg;
  int64_t n;
  int64_t count() const { return nseg > 0 ? nseg : 1; }
  int64_t end(int64_t s) const { return nseg > 0 ? off[s + 1] : n; }
  uint8_t flag(int64_t s) const { return nseg > 0 ? flags[s] : (uint8_t)0xff; }
  // The segment holding element i (0 ≤ i < n); empty segments are skipped.
  int64_t find(int64_t i) const {
    if (nseg <= 0) return 0;
    return (int64_t)(std::upper_bound(off, off + nseg + 1, i) - off) - 1;
  }
};

int64_t ranges_for(int64_t n) {
  int64_t r = (n + kGrain - 1) / kGrain;
  r = std::min<int64_t>(r, machine_threads());  // not num_threads(): the sums must not depend on it
  return r < 1 ? 1 : r;
}

// Splits [0, n) into `nr` ranges run in parallel; calls fn(range, s, b, e) for
// each non-empty piece [b, e) of segment s inside a range.
template <class F>
void for_each_piece(const Segments& sg, int64_t nr, F&& fn) {
  const int64_t n = sg.n;
  parallel_for(nr, 1, [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      int64_t b = n * r / nr, e = n * (r + 1) / nr;
      if (b >= e) continue;
      for (int64_t s = sg.find(b); b < e; ++s) {
        int64_t se = std::min(e, sg.end(s));
        if (se > b) fn(r, s, b, se);
        b = std::max(b, se);
      }
    }
  });
}

// momentum_update (native/common/optim_math.h) over [b, e).
template <bool Nesterov>
inline void momentum_piece(float* __restrict p, const float* __restrict g, float* __restrict buf,
                           int64_t b, int64_t e, float lr, float mu, float wd, float t) {
#pragma omp simd
  for (int64_t i = b; i < e; ++i) momentum_update<Nesterov>(p[i], g[i], buf[i], lr, mu, wd, t);
}

}  // namespace

void sgd_step(float* param, const float* grad, float* buf, int64_t n, float lr, float momentum,
              float weight_decay, bool nesterov, const int64_t* seg_offsets,
              const uint8_t* seg_flags, int64_t nseg) {
  if (n <= 0) return;
  const Segments sg{seg_offsets, seg_flags, nseg, n};
  for_each_piece(sg, ranges_for(n), [&](int64_t, int64_t s, int64_t b, int64_t e) {
    const float wd = (sg.flag(s) & kWeightDecay) ? weight_decay : 0.0f;
    if (buf == nullptr) {  // momentum == 0: p −= lr·g'
      float* __restrict p = param;
      const float* __restrict g = grad;
#pragma omp simd
      for (int64_t i = b; i < e; ++i) p[i] -= lr * (g[i] + wd * p[i]);
    } else if (nesterov) {
      momentum_piece<true>(param, grad, buf, b, e, lr, momentum, wd, 1.0f);
    } else {
      momentum_piece<false>(param, grad, buf, b, e, lr, momentum, wd, 1.0f);
    }
  });
}

void lars_step(float* param, const float* grad, float* buf, int64_t n, float lr, float momentum,
               float weight_decay, float eta, bool nesterov, const int64_t* seg_offsets,
               const uint8_t* seg_flags, int64_t nseg) {
  if (n <= 0) return;
  const Segments sg{seg_offsets, seg_flags, nseg, n};
  const int64_t S = sg.count(), nr = ranges_for(n);
  // Pass 1: per (range, segment) Σp² and Σg'² for the adapting segments.
  std::vector<double> part((size_t)(nr * S * 2), 0.0);
  for_each_piece(sg, nr, [&](int64_t r, int64_t s, int64_t b, int64_t e) {
    const uint8_t f = sg.flag(s);
    if (!(f & kLarsAdapt)) return;
    const float wd = (f & kWeightDecay) ? weight_decay : 0.0f;
    const float* __restrict p = param;
    const float* __restrict g = grad;
    double pp = 0.0, gg = 0.0;
#pragma omp simd reduction(+ : pp, gg)
    for (int64_t i = b; i < e; ++i) {
      double pv = p[i];
      double gv = g[i] + wd * p[i];
      pp += pv * pv;
      gg += gv * gv;
    }
    part[(size_t)((r * S + s) * 2)] += pp;
    part[(size_t)((r * S + s) * 2 + 1)] += gg;
  });
  std::vector<float> trust((size_t)S, 1.0f);
  for (int64_t s = 0; s < S; ++s) {
    if (!(sg.flag(s) & kLarsAdapt)) continue;
    double pp = 0.0, gg = 0.0;
    for (int64_t r = 0; r < nr; ++r) {
      pp += part[(size_t)((r * S + s) * 2)];
      gg += part[(size_t)((r * S + s) * 2 + 1)];
    }
    trust[(size_t)s] = lars_trust_ratio(pp, gg, eta);
  }
  // Pass 2: the fused momentum update with each segment's trust ratio.
  for_each_piece(sg, nr, [&](int64_t, int64_t s, int64_t b, int64_t e) {
    const float wd = (sg.flag(s) & kWeightDecay) ? weight_decay : 0.0f;
    const float t = trust[(size_t)s];
    if (nesterov)
      momentum_piece<true>(param, grad, buf, b, e, lr, momentum, wd, t);
    else
      momentum_piece<false>(param, grad, buf, b, e, lr, momentum, wd, t);
  });
}

void adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, float lr,
                double beta1, double beta2, float eps, float weight_decay, int64_t step,
                const int64_t* seg_offsets, const uint8_t* seg_flags, int64_t nseg) {
  if (n <= 0) return;
  const Segments sg{seg_offsets, seg_flags, nseg, n};
  const AdamwConsts k = adamw_consts(lr, beta1, beta2, weight_decay, step);
  for_each_piece(sg, ranges_for(n), [&](int64_t, int64_t s, int64_t b, int64_t e) {
    const float decay = (sg.flag(s) & kWeightDecay) ? k.decay_wd : 1.0f;
    float* __restrict p = param;
    const float* __restrict g = grad;
    float* __restrict mp = m;
    float* __restrict vp = v;
#pragma omp simd
    for (int64_t i = b; i < e; ++i) adamw_update(p[i], g[i], mp[i], vp[i], k, decay, eps);
  });
}

}  // namespace imix::cpu
