// Argument helpers shared by the sliding-window bindings (ops_conv.cpp,
// ops_pool.cpp): window hyper-parameters (kernel size, stride, padding,
// dilation) as bounded integers, and sizes printed the way messages show them.
#pragma once
#include <climits>
#include <cstdint>
#include <string>

#include "args.h"

namespace imix {

// Every window hyper-parameter is below 2^31, so kernel·dilation, padded
// sizes and output sizes are far from int64's range.
constexpr int64_t kMaxWindowParam = INT_MAX;

// An integer in [lo, 2^31 − 1] named `name`: 'stride: expected a positive integer, got 0'.
inline int64_t window_param(const Args& a, size_t i, const char* name, int64_t lo) {
  const int64_t v = a.integer(i, name);
  IMIX_CHECK(v >= lo, Value,
             std::string(name) + ": expected a " + (lo > 0 ? "positive" : "non-negative") + " integer, got " +
                 std::to_string(v));
  IMIX_CHECK(v <= kMaxWindowParam, Value,
             std::string(name) + ": " + std::to_string(v) + " is more than 2^31 - 1");
  return v;
}

// "3×5" for 2-d sizes, "5" for 1-d ones (h is then 1 and not shown).
inline std::string size_str(int dims, int64_t h, int64_t w) {
  return dims == 2 ? std::to_string(h) + "×" + std::to_string(w) : std::to_string(w);
}

}  // namespace imix
