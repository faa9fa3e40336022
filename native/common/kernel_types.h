// Types shared by the kernel signatures of both backends (kernel_api.h).
#pragma once
#include <cstdint>

namespace imix {

// CutMix box [y0,y1) × [x0,x1), half-open, already clipped to the image.
struct Box {
  int64_t y0, x0, y1, x1;
};

// Optimizer segment flags (see the optimizer section of kernel_api.h).
enum SegFlag : uint8_t { kWeightDecay = 1, kLarsAdapt = 2 };

}  // namespace imix
