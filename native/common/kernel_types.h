// Types shared by the kernel signatures of both backends (kernel_api.h).
#pragma once
#include <cstdint>

namespace imix {

// CutMix box [y0,y1) × [x0,x1), half-open, already clipped to the image.
struct Box {
  int64_t y0, x0, y1, x1;
};

// A resized crop's box: rows [top, top+h) × columns [left, left+w) of an
// H×W image (1 ≤ h ≤ H, 1 ≤ w ≤ W), resampled to H×W and mirrored left–right
// when flip ≠ 0 (augment.cpp / augment.cu; native/common/resized_crop.h).
struct CropBox {
  int64_t top, left, h, w;
  int32_t flip;
};

// The geometry of one 2-d convolution (conv.cpp / conv.cu), NCHW:
// x [N, C, H, W], w [K, C, kh, kw] (PyTorch's layout), y [N, K, Ho, Wo] with
//   Ho = (H + 2·ph − dh·(kh−1) − 1)/sh + 1,  Wo likewise (floor division).
// A 1-d convolution over [N, C, L] is the case H = 1, kh = 1, sh = 1, ph = 0,
// dh = 1. The addon fills Ho/Wo and has checked every field (positive
// strides and dilations, non-negative padding, Ho, Wo ≥ 1).
struct ConvGeom {
  int64_t N, C, H, W;   // input
  int64_t K, kh, kw;    // output channels, kernel size
  int64_t sh, sw;       // stride
  int64_t ph, pw;       // zero padding
  int64_t dh, dw;       // dilation
  int64_t Ho, Wo;       // output size
};

// The geometry of a 2-d max-pool over x [N, C, H, W] → y [N, C, Ho, Wo]:
// window k×k, stride s, padding p (padding is −∞, PyTorch's rule), floor mode,
//   Ho = (H + 2·p − k)/s + 1. The addon checks p ≤ k/2 (as PyTorch does).
struct PoolGeom {
  int64_t N, C, H, W;
  int64_t kh, kw, sh, sw, ph, pw;
  int64_t Ho, Wo;
};

// Optimizer segment flags (see the optimizer section of kernel_api.h).
enum SegFlag : uint8_t { kWeightDecay = 1, kLarsAdapt = 2 };

}  // namespace imix
