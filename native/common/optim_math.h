// Per-element optimizer arithmetic shared by both backends (the formulas are
// in the header of native/cpu/optim.cpp): one definition, so the CPU and the
// GPU run the same float expressions in the same order.
#pragma once
#include <cmath>
#include <cstdint>

#include "hd.h"

namespace imix {

// One momentum update: g' = g + wd·p, gs = t·g', buf = μ·buf + gs,
// p −= lr·(nesterov ? gs + μ·buf : buf).
template <bool Nesterov>
IMIX_HD void momentum_update(float& p, float g, float& buf, float lr, float mu, float wd, float t) {
  const float gs = (g + wd * p) * t;  // t == 1 is exact
  const float nb = mu * buf + gs;
  buf = nb;
  p -= lr * (Nesterov ? gs + mu * nb : nb);
}

// LARS trust ratio of a segment from its Σp² and Σg'²: η·‖p‖/‖g'‖, or 1
// unless both norms are positive.
IMIX_HD float lars_trust_ratio(double pp, double gg, float eta) {
  const double pn = sqrt(pp), gn = sqrt(gg);
  return pn > 0.0 && gn > 0.0 ? (float)((double)eta * pn / gn) : 1.0f;
}

// The constants of one AdamW step, formed on the host in double as PyTorch
// does (1−β and the bias corrections), then rounded to float.
struct AdamwConsts {
  float step_size;  // lr/(1−β1^t)
  float bc2_sqrt;   // sqrt(1−β2^t)
  float b1, b2, a1, a2;  // β1, β2, 1−β1, 1−β2
  float decay_wd;   // 1 − lr·wd: the decoupled decay of a segment with kWeightDecay
};

inline AdamwConsts adamw_consts(float lr, double beta1, double beta2, float weight_decay, int64_t step) {
  const double t = (double)step;
  AdamwConsts k;
  k.step_size = (float)((double)lr / (1.0 - std::pow(beta1, t)));
  k.bc2_sqrt = (float)std::sqrt(1.0 - std::pow(beta2, t));
  k.b1 = (float)beta1;
  k.b2 = (float)beta2;
  k.a1 = (float)(1.0 - beta1);
  k.a2 = (float)(1.0 - beta2);
  k.decay_wd = (float)(1.0 - (double)lr * (double)weight_decay);
  return k;
}

// One AdamW update (decay: k.decay_wd, or 1 without weight decay):
// m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p = p·decay − step_size·m/(sqrt(v)/bc2_sqrt + eps).
IMIX_HD void adamw_update(float& p, float g, float& m, float& v, const AdamwConsts& k, float decay, float eps) {
  const float mi = m * k.b1 + k.a1 * g;
  const float vi = v * k.b2 + k.a2 * (g * g);
  m = mi;
  v = vi;
  const float denom = sqrtf(vi) / k.bc2_sqrt + eps;
  p = p * decay - k.step_size * (mi / denom);
}

}  // namespace imix
