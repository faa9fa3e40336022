// Maxout's per-group arithmetic, shared by both backends: y = max_j g[j] over
// the k values of one group, argmax = the first j attaining it (a later equal
// value does not replace it; a NaN never compares greater).
#pragma once
#include <cstdint>

#include "hd.h"

namespace imix {

IMIX_HD void maxout_group(const float* g, int64_t k, float* y, int32_t* argmax) {
  float m = g[0];
  int32_t am = 0;
  for (int64_t j = 1; j < k; ++j)
    if (g[j] > m) {
      m = g[j];
      am = (int32_t)j;
    }
  *y = m;
  *argmax = am;
}

}  // namespace imix
