// 2-d convolution on the CPU (conv1d is its H = 1 case; formulas in
// native/common/kernel_api.h, geometry in kernel_types.h ConvGeom).
//
// With P = Ho·Wo output positions per plane and R = C·kh·kw the taps
// (c, u, v), r = (c·kh + u)·kw + v, a convolution is a matrix product per
// sample, y[n] [K, P] = W [K, R] · col [R, P] with the unrolled input
//   col[r, i·Wo + j] = x̃[n, c, i·sh−ph+u·dh, j·sw−pw+v·dw]      (x̃: x zero-padded)
// and its gradients are the two other products, dcol = Wᵀ·dy[n] (then
// added back to the inputs it was read from: dx) and dW (+)= dy[n]·colᵀ.
// Every path below computes exactly these sums (in another order); which
// one runs is chosen per direction by plan_of from the geometry:
//
// Paths 1 and 2 first copy each sample into zero-padded planes, Hp = H + 2·ph,
// Wp = W + 2·pw, xp[c·Hp·Wp + yy·Wp + xx], so no kernel loop tests a bound:
// tap (c, u, v) of output (i, j) reads xp[c·Hp·Wp + (i·sh + u·dh)·Wp + j·sw + v·dw].
//
// 1. Spatial (stride 1, K < 2 vectors, e.g. a ResNet's 16-channel stage):
//    outputs indexed on the padded grid q = i·Wp + j (j < Wp, not only
//    j < Wo), so tap r of output q reads xp[off(r) + q], off(r) = c·Hp·Wp +
//    u·dh·Wp + v·dw: a vector of consecutive q's is one unaligned load, and
//    col is never materialized.
//      forward      y[k, q] = b[k] + Σ_r W[k, r] · xp[off(r) + q]
//                   (register tile: MR channels × NV vectors of q; W packed
//                   [K/MR][R][MR] so the MR weights of a tap are adjacent;
//                   with AVX-512 and rows of ≤ 2 vectors, row_conv: a tile
//                   is one output row, stored straight into y)
//      bwd weight   dW[k, r] (+)= Σ_q dyg[k, q] · xp[off(r) + q] with dyg = dy
//                   on the grid (0 off the valid positions), over chunks of
//                   samples laid side by side; a tile of WMR channels × WNR
//                   taps accumulated along q in vectors, summed across lanes
//                   once per chunk. The dropped positions' x is masked to 0
//                   (0·∞ would be a NaN the true sum never computes). With
//                   AVX-512, a 3×3 stem of ≤ 16 output channels instead
//                   takes dy transposed, one vector of channels per
//                   position (stem_wgrad).
//      bwd data     the forward of dy padded by p' = dh·(kh−1) − ph (likewise
//                   along W) with the flipped, transposed weights
//                   W'[c, k, u, v] = W[k, c, kh−1−u, kw−1−v]: exactly H×W outputs.
//    The positions at j ≥ Wo (and those rounding the last tile up) are
//    computed and dropped: worth it while at least half the grid is kept
//    (dense_enough); their reads stay in the buffer (a zeroed slack follows
//    the last plane). Every kept output reads only its own window.
// 2. Channel (K ≥ 2 vectors, any stride): a tile holds NVK vectors of
//    consecutive output channels for ACC/NVK output positions (consecutive,
//    across rows and samples of a chunk); per tap, NVK loads of packed
//    weights, one broadcast input per position, NVK fused multiply-adds per
//    position; nothing is computed in vain. The tile is transposed into the
//    NCHW planes. Weights are used in L2-sized blocks of input channels.
//      forward      as described, W packed [K/KB][C][kh][kw][KB]
//      bwd weight   dW tile of NVK channel vectors × ACC/NVK taps, dy
//                   transposed to [position][K], accumulated over a chunk
//      bwd data     stride 1: the forward of padded dy with W' as in 1;
//    Transposed     strides: dx[c, y, x] = Σ W[k, c, u, v] · dy[k, (y + ph −
//                   u·dh)/sh, (x + pw − v·dw)/sw] over the taps that divide
//                   exactly; those depend on y mod sh and x mod sw only, so a
//                   tile is positions x0, x0 + sw, ... of one row (shared taps,
//                   consecutive dy columns); dy sits inside zero margins.
//    Blocked (AVX-512, 3×3, dilation 1, stride 1 or 2, ≥ 16 channels in and
//    out): the inputs (x, or dy for the input gradient) are first copied as
//    blocks of 16 interleaved channels, xb[cb][s][yy][xx][ci], so that every
//    tap of a tile sits at a compile-time offset from one pointer, and tiles
//    are positions of one output row: forward and stride-1 input gradient
//    (blk_conv: 1, 2 or 4 vectors of output channels × up to 16, 8 or 4
//    positions; the weights block by block over a chunk's rows once they
//    outgrow L2),
//    weight gradient (blk_wgrad: a kernel row's 3 taps × 8 output channels,
//    vectors over 16 input channels), stride-2 input gradient (blk_tconv: the
//    positions of one phase of a dx row, which share their ≤ 2×2 taps; dy
//    of a chunk of samples blocked at once).
//    They compute the sums of the NCHW kernels above on the same terms,
//    measured 1.2–2.2× faster on ResNet-20's layers (bench/README.md).
// 3. Direct: a 1×1, stride-1, unpadded convolution with a large plane
//    (P ≥ kMinCols): x[n] is [C, P] = col already, so each product is one
//    gemm on x/dy/dx directly (the project's gemm: OpenBLAS or the built-in
//    kernel).
// 4. Unrolled (what is left: strided or sparse-grid convolutions with few
//    channels): im2col + gemm. Small planes (P < kMinCols) make thin
//    products, so B = ⌈kMinCols/P⌉ samples are unrolled side by side, col
//    [R, B·P], one gemm per chunk into a [K, B·P] buffer permuted into NCHW.
// 5. Subsampled (a strided, unpadded 1×1: a ResNet shortcut): only every
//    sh-th row and sw-th column of x is read, so those are copied into Ho×Wo
//    planes and a stride-1 1×1 convolution runs on them; the input gradient
//    is the same on dy, spread back into dx with zeros. The forward and input
//    gradient take a chunk's planes as one row of Bc·P outputs (flat_planes:
//    full tiles on small planes) with path 1's tile, the input channels in
//    blocks of 64 (flat_conv), writing y in place; with AVX-512 the weight
//    gradient runs on the planes in channel blocks (sub_wgrad: whole vectors
//    of dW's rows, no sums across lanes).
//
// Threads split the batch: S = min(max_slices(), N) slices of consecutive
// samples (max_slices() is the machine's thread count: with fewer threads a
// thread runs several slices in turn), each with its own part of the
// workspace; inside a slice everything runs
// single-threaded (parallel_for runs nested loops inline; gemm.cpp's
// OpenBLAS path makes one single-threaded call), so there is one thread pool
// and no oversubscription. With one slice (N = 1, or a one-core machine) the loops
// run outside a parallel region, and the tile loops, the copies and the gemm
// split the work over the threads themselves. dW: slice 0 accumulates into
// dw itself, slices 1..S−1 into their own [K, R] partials, added into dw in
// slice order (deterministic, and the same at any thread count). db is a separate
// pass over channels, in double.
//
// The workspace (conv2d_workspace_floats; one size for the three kernels):
//   [shared: W packed for the forward or the bwd data, the larger]
//   [S_max slices, each the largest per-slice need of the three directions:
//    the padded planes of a chunk of samples, dy's grid or transpose, or
//    col and the chunk buffer]
//   [(S_max − 1) dW partials of K·R]
// with S_max = min(max_slices(), N). max_slices() is the machine's thread
// count fixed at first use, not the current num_threads(), so a
// setNumThreads between the caller's workspace query and the call can never
// make the workspace too small. Every kernel writes the workspace before it
// reads it (its content on entry does not matter).
#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "kernels.h"
#include "parallel.h"

#if defined(__AVX512F__) || defined(__FMA__)
#include <immintrin.h>
#endif

namespace imix::cpu {
namespace {

// ---- vectors (GCC vector extensions, as gemm.cpp) --------------------------
#if defined(__AVX512F__)
constexpr int VL = 16;
constexpr int MR = 8, NV = 3;    // forward tile: 8 channels × 3 vectors (24 accumulators of 32 registers)
constexpr int WMR = 4, WNR = 6;  // weight-gradient tile: 4 channels × 6 taps
#elif defined(__AVX__)
constexpr int VL = 8;
constexpr int MR = 4, NV = 3;    // 12 accumulators of 16 registers
constexpr int WMR = 3, WNR = 4;
#else
constexpr int VL = 4;
constexpr int MR = 4, NV = 3;
constexpr int WMR = 3, WNR = 4;
#endif
constexpr int TQ = NV * VL;  // outputs per forward tile
// Channel-vectorized tiles (path 2): NVK vectors of output channels × ACC/NVK
// positions (or taps) in registers.
#if defined(__AVX512F__)
constexpr int ACC = 24;
#else
constexpr int ACC = 12;
#endif

typedef float vf __attribute__((vector_size(VL * 4)));
typedef float vfu __attribute__((vector_size(VL * 4), aligned(4)));  // unaligned access
typedef int32_t vi __attribute__((vector_size(VL * 4)));
typedef int32_t viu __attribute__((vector_size(VL * 4), aligned(4), may_alias));  // a mask stored in ws

inline vf loadu(const float* p) { return *(const vfu*)p; }
inline void storeu(float* p, vf v) { *(vfu*)p = v; }
inline vf splat(float x) { return x - vf{}; }  // x − (+0) == x: folds to a broadcast
inline vf fmadd(vf a, vf b, vf c) {
#if defined(__AVX512F__)
  return _mm512_fmadd_ps(a, b, c);
#elif defined(__FMA__)
  return _mm256_fmadd_ps(a, b, c);
#else
  return a * b + c;
#endif
}
inline vf mask_and(vf x, vi m) { return (vf)((vi)x & m); }  // x where m is all ones, +0 where m is 0
inline float hsum(vf v) {
#if defined(__AVX512F__)
  // Halving tree with vector-extension shuffles (the AVX-512 shuffle
  // intrinsics trip GCC 12's -Wmaybe-uninitialized on their undefined operand).
  typedef float v8 __attribute__((vector_size(32)));
  typedef float v4 __attribute__((vector_size(16)));
  const v8 a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
               __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const v4 b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
  return (b[0] + b[2]) + (b[1] + b[3]);
#else
  float s = 0.0f;
  for (int i = 0; i < VL; ++i) s += v[i];
  return s;
#endif
}

// ---- plan -------------------------------------------------------------------
// Gemm columns per chunk below which path 3 unrolls samples side by side
// (and below which a 1×1 convolution takes path 1 instead of 2).
constexpr int64_t kMinCols = 256;
// Grid positions the weight gradient's path 1 lays side by side (samples of
// one chunk) before it sums a tile's vector accumulators across lanes.
constexpr int64_t kWgradCols = 2048;
// Elements of work per parallel_for chunk below which a loop is not worth a fork.
constexpr int64_t kGrain = 1 << 14;
// Path 2's forward weights are used in blocks of at most this many floats
// (2 MB; smaller blocks measured slower on ResNet layers: each block after
// the first re-reads and re-writes the outputs).
constexpr int64_t kWeightBlock = 1 << 19;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// The most slices a convolution splits its batch into: the machine's thread
// count, fixed once per process (see the workspace note above).
int64_t max_slices() { return machine_threads(); }

enum class Path { Spatial, Channel, Transposed, Direct, Unrolled, Subsampled };

// A stride-1 convolution on padded planes (path 1): input planes of Ci
// channels padded to Hp×Wp, outputs Ho×Wo on the grid of width Wp.
struct Padded {
  int64_t Ci, H, W, ph, pw, Hp, Wp, L, Ho, Wo, Q, Qpad, slack;
};
Padded padded(int64_t Ci, int64_t H, int64_t W, int64_t ph, int64_t pw, const ConvGeom& g, int64_t Ho, int64_t Wo) {
  Padded p;
  p.Ci = Ci;
  p.H = H;
  p.W = W;
  p.ph = ph;
  p.pw = pw;
  p.Hp = H + 2 * ph;
  p.Wp = W + 2 * pw;
  p.L = p.Hp * p.Wp;
  p.Ho = Ho;
  p.Wo = Wo;
  p.Q = Ho * p.Wp;
  p.Qpad = round_up(p.Q, TQ);
  p.slack = TQ + g.dw * (g.kw - 1);
  return p;
}
int64_t padded_floats(const Padded& p) { return p.Ci * p.L + p.slack; }
// Path 1 computes every position of the padded grid and keeps Ho·Wo of its
// Hp·Wp: worth it while at least half are kept (not on a 4×4 plane: 16 of 36).
bool dense_enough(const Padded& p) { return 2 * p.Ho * p.Wo >= p.L; }

// The weight gradient's chunk of up to B samples side by side (path 1):
//   xpc[c·Bc·L + s·L + yy·Wp + xx]       the padded planes, channel-major
//   dyg[k·Qv + s·L + i·Wp + j]           dy on the grid, 0 off the valid positions
//   mask[q]                              all ones at the valid positions s·L + i·Wp + j
//                                        (i < Ho, j < Wo), 0 elsewhere
// with Qv = ⌈Bc·L⌉ to VL. Tap r of grid position q reads xpc[c·Bc·L + u·dh·Wp
// + v·dw + q]; the slack (dh·(kh−1)·Wp + dw·(kw−1) + VL) covers the last
// vector's reads past the last plane.
int64_t wgrad_slack(const Padded& p, const ConvGeom& g) { return g.dh * (g.kh - 1) * p.Wp + g.dw * (g.kw - 1) + VL; }
int64_t wgrad_floats(const Padded& p, int64_t K, int64_t B, const ConvGeom& g) {
  const int64_t Qv = round_up(B * p.L, VL);
  return p.Ci * B * p.L + wgrad_slack(p, g) + round_up(K, WMR) * Qv + Qv;
}

// Bwd data with strides on path 2 reads dy[k, i, j] at i = (y + ph − u·dh)/sh,
// j = (x + pw − v·dw)/sw where those divide exactly; i and j may fall off
// the plane by up to these margins, which are zeros.
struct Margins {
  int64_t top, bottom, left, right, Hd, Wd, L;
};
Margins margins_of(const ConvGeom& g) {
  Margins m;
  m.top = std::max<int64_t>(0, ceil_div(g.dh * (g.kh - 1) - g.ph, g.sh));
  m.left = std::max<int64_t>(0, ceil_div(g.dw * (g.kw - 1) - g.pw, g.sw));
  m.bottom = std::max<int64_t>(0, (g.H - 1 + g.ph) / g.sh - (g.Ho - 1));
  m.right = std::max<int64_t>(0, (g.W - 1 + g.pw) / g.sw - (g.Wo - 1));
  m.Hd = g.Ho + m.top + m.bottom;
  m.Wd = g.Wo + m.left + m.right;
  m.L = (double)m.Hd * (double)m.Wd <= 16777216.0 ? m.Hd * m.Wd : 0;  // used only where planes_fit
  return m;
}

// Path 2's vectors of output channels per tile for Ko output channels (2..4).
int nvk_for(int64_t Ko) { return (int)std::min<int64_t>(4, std::max<int64_t>(2, ceil_div(Ko, VL))); }
// Path 2 pays off from two full vectors of output channels.
bool channels_enough(int64_t Ko) { return Ko >= 2 * VL; }

// Path 2's blocked variant (blk_conv below): a tile of BW vectors of output
// channels × up to 16/BW positions of a row, so 16 accumulators: BW = 1 for
// up to one vector of output channels, 4 where there are at least four and
// rows too short for 2 × 7 (a 4×4 plane: 4 × 4 instead of 2 × 4), else 2.
int64_t blocked_tw(int bw) { return 16 / bw; }
// A row of Wo outputs is cut into ⌈Wo / (16/BW)⌉ tiles of this width (the last narrower).
int64_t blocked_tile_width(int64_t Wo, int bw) { return ceil_div(Wo, ceil_div(Wo, blocked_tw(bw))); }
int blocked_bw(int64_t Ko, int64_t Wrow) {
  if (Ko <= VL) return 1;
  return Ko >= 4 * VL && 2 * blocked_tile_width(Wrow, 2) < 14 ? 4 : 2;
}
// Accumulators of a full tile for Ko output channels on rows of Wrow.
int64_t blocked_accs(int64_t Ko, int64_t Wrow) {
  const int bw = blocked_bw(Ko, Wrow);
  return bw * blocked_tile_width(Wrow, bw);
}

// The blocked kernel runs where it was measured: AVX-512 (32 registers hold
// the 16 accumulators, the weight vectors and a broadcast), a 3×3 kernel,
// dilation 1, equal strides 1 or 2, at least one full vector of input and of
// output channels (with fewer, most lanes would idle), and rows of outputs
// (width Wo) wide enough for tiles of at least 14 accumulators: 4×4 planes
// take 4 vectors × 4 positions (measured 1.7× cv_conv, whose tiles span rows,
// on ResNet-18's 512-channel layer), or cv_conv with fewer than 64 channels.
bool blocked_fits(const ConvGeom& g, int64_t Ci, int64_t Ko, int64_t sh, int64_t sw, int64_t Wo) {
  return VL == 16 && g.kh == 3 && g.kw == 3 && g.dh == 1 && g.dw == 1 && sh == sw && (sh == 1 || sh == 2) &&
         Ci >= VL && Ko >= VL && blocked_accs(Ko, Wo) >= 14;
}
int64_t blocked_channels(int64_t Ci) { return round_up(Ci, VL); }
// The positions of one phase of a dx row (blk_tconv's rows).
int64_t tconv_row(const ConvGeom& g) { return ceil_div(g.W, 2); }
// The blocked transposed convolution runs for 3×3, stride 2, dilation 1,
// at least a vector of channels on both sides, rows of dx wide enough for
// tiles of 14 accumulators (each phase of a row holds ⌈W/2⌉ positions).
bool blocked_t_fits(const ConvGeom& g) {
  return VL == 16 && g.kh == 3 && g.kw == 3 && g.dh == 1 && g.dw == 1 && g.sh == 2 && g.sw == 2 && g.K >= VL &&
         g.C >= VL && blocked_accs(g.C, tconv_row(g)) >= 14;
}

// Packed weights (floats) beyond which blk_conv and blk_tconv take the
// weights block by block (half of a 2 MB L2: the inputs need the rest).
constexpr int64_t kBlockedWeightsL2 = 1 << 17;

// The blocked weight gradient's tile: the 3 taps of a kernel row × WTK
// output channels, vectors over a block of input channels (blk_wgrad).
constexpr int64_t WTK = 8;
// Its chunk: kWgradCols positions, as long as the chunk's blocked planes and
// dyT stay within kWgradChunk floats (a tile streams them once per input
// block, kernel row and WTK output channels: they must stay in L2, 1 MB of
// it; with half that, ResNet-18's 7×7 and 8×8 stage fit 2–3 samples, too few
// positions, and ran the Channel path's wgrad, 1.2× slower than this one).
// Where that leaves fewer than kMinCols positions (wide layers on small
// planes), each tile's final sums would cost as much as its positions: the
// Channel path's wgrad runs instead.
constexpr int64_t kWgradChunk = 1 << 18;
// Floats per sample of such a chunk: its blocked planes x and its dyT
// (also path 5's sub_wgrad, with x its Ho×Wo subsampled planes).
int64_t blocked_wgrad_per_sample(const ConvGeom& g, const Padded& x) {
  return blocked_channels(g.C) * x.L + g.Ho * g.Wo * round_up(g.K, WTK);
}
// budget: kWgradChunk, or for path 5's sub_wgrad on more than 64 input
// channels half of it (ResNet-18's shortcuts ran their weight gradient 8%
// slower on chunks twice as long, where ResNet-20's, of 32 channels, ran
// 1.6× faster: fewer chunks, fewer final sums).
int64_t blocked_wgrad_samples(const ConvGeom& g, const Padded& x, int64_t budget = kWgradChunk) {
  return std::max<int64_t>(1, std::min(ceil_div(kWgradCols, g.Ho * g.Wo),
                                       budget / std::max<int64_t>(1, blocked_wgrad_per_sample(g, x))));
}

struct Plan {
  int64_t P, R;
  Path fwd, data, weight;
  Padded xin;   // forward / bwd weight: x padded by (ph, pw), outputs Ho×Wo
  Padded dyin;  // bwd data (paths 1, 2): dy padded by (p'h, p'w), outputs H×W
  Padded xsub;  // path 5's weight gradient: x subsampled to Ho×Wo planes
  int64_t B;    // path 3: samples per chunk
  int64_t Bw;   // weight gradient on paths 1, 2, 5: samples per chunk
  int64_t Bf, Bd;  // forward / bwd data on path 2: samples per chunk
  int64_t Bs;      // forward / bwd data on path 5: samples per chunk (flat_planes)
  int64_t Bt;      // bwd data on the blocked transposed path: samples per chunk
  int nvk_fwd, nvk_data, nvk_weight;  // path 2: vectors of output channels per tile
  bool blk_fwd, blk_data;  // path 2 with channel-blocked inputs (blk_conv)
  bool blk_weight;         // the weight gradient from channel-blocked inputs (blk_wgrad)
  bool blk_t;              // the transposed path from channel-blocked dy (blk_tconv)
  bool blk_sub_w;          // path 5's weight gradient from channel-blocked planes (sub_wgrad)
  bool stem_w;             // path 1's weight gradient of a stem (stem_wgrad)
  int bw_fwd, bw_data;     // the blocked kernels' vectors of output channels per tile (blocked_bw)
  Margins dym;  // bwd data on path 2 with strides: dy's zero margins
  int64_t slice;   // floats per slice
  int64_t shared;  // floats before the slices (packed weights)
};

// Paths 1 and 2 copy planes padded to Hp×Wp (or dy inside its margins): only
// while such a plane and a slice of them stay modest. A huge padding with a
// huge stride (legal, and cheap for im2col: few outputs) would make them
// astronomically large, so those geometries take path 4. In double: the
// areas of hostile geometries do not fit int64.
bool planes_fit(double Hp, double Wp, const ConvGeom& g) {
  const double L = Hp * Wp;
  return L <= 16777216.0 && ((double)g.C + (double)g.K + 64.0) * (L + 4096.0) <= 17179869184.0;  // 2^24, 2^34
}

// Path 5's forward and input gradient run on the Bc samples of a chunk at
// once: their subsampled planes (or dy's) channel-major, [Ci][Bc·P], are one
// row of Bc·P outputs for path 1's kernel, whose tiles of TQ positions then
// run full (per sample they would cover 49 of 96 on a 7×7 plane, 16 of 48
// on 4×4); the [Ko][Bc·P] result is permuted into NCHW.
constexpr int64_t kSubsampledCols = 1024;
Padded flat_planes(int64_t Ci, int64_t cols, const ConvGeom& g) { return padded(Ci, 1, cols, 0, 0, g, 1, cols); }
// Samples per flat chunk: about kSubsampledCols positions, but not within 32
// floats of a multiple of 1 KB floats: path 1's tile reads the same columns
// of every channel row, and rows 4 KB apart all fall into the same L1 sets
// (measured 1.5–2× slower on 4×4 and 8×8 planes, where 1024 = 64·16 = 16·64).
int64_t flat_samples(int64_t P) {
  int64_t b = std::max<int64_t>(1, ceil_div(kSubsampledCols, P));
  const auto aliased = [&](int64_t n) { const int64_t r = n * P % 256; return r < 32 || r > 224; };
  for (int64_t c = b; c > 1 && c * 2 > b; --c)
    if (!aliased(c)) return c;
  return b;
}

Plan plan_of(const ConvGeom& g) {
  Plan p{};
  p.P = g.Ho * g.Wo;
  p.R = g.C * g.kh * g.kw;
  const bool s1 = g.sh == 1 && g.sw == 1;
  const bool direct = g.kh == 1 && g.kw == 1 && s1 && g.ph == 0 && g.pw == 0 && p.P >= kMinCols;
  const int64_t pdh = g.dh * (g.kh - 1) - g.ph, pdw = g.dw * (g.kw - 1) - g.pw;
  const bool x_fits = planes_fit((double)g.H + 2.0 * (double)g.ph, (double)g.W + 2.0 * (double)g.pw, g);
  const bool data_s1 = s1 && pdh >= 0 && pdw >= 0 &&  // bwd data is a stride-1 convolution of dy
                       planes_fit((double)g.Ho + 2.0 * (double)pdh, (double)g.Wo + 2.0 * (double)pdw, g);
  if (x_fits) p.xin = padded(g.C, g.H, g.W, g.ph, g.pw, g, g.Ho, g.Wo);
  if (data_s1) p.dyin = padded(g.K, g.Ho, g.Wo, pdh, pdw, g, g.H, g.W);
  const Margins mg = margins_of(g);
  const bool t_fits = planes_fit((double)mg.Hd, (double)mg.Wd, g);
  p.nvk_fwd = p.nvk_weight = nvk_for(g.K);
  p.nvk_data = nvk_for(g.C);
  // A strided, unpadded 1×1 convolution (a ResNet shortcut) reads only every
  // sh-th row and sw-th column of x: copy those (path 5) rather than pad all of x.
  const bool sub = g.kh == 1 && g.kw == 1 && !s1 && g.ph == 0 && g.pw == 0;
  if (sub) {
    p.xsub = padded(g.C, g.Ho, g.Wo, 0, 0, g, g.Ho, g.Wo);
  }
  p.fwd = sub                                   ? Path::Subsampled
          : direct                              ? Path::Direct
          : x_fits && channels_enough(g.K)      ? Path::Channel
          : x_fits && s1 && dense_enough(p.xin) ? Path::Spatial
                                                : Path::Unrolled;
  p.blk_fwd = x_fits && p.fwd != Path::Direct && blocked_fits(g, g.C, g.K, g.sh, g.sw, g.Wo);
  p.blk_weight = p.blk_fwd && blocked_wgrad_samples(g, p.xin) * p.P >= kMinCols;
  p.weight = p.blk_weight ? Path::Channel : p.fwd;
  if (p.blk_fwd) p.fwd = Path::Channel;
  p.blk_data = !direct && data_s1 && blocked_fits(g, g.K, g.C, 1, 1, g.W);
  p.data = sub                                   ? Path::Subsampled
           : direct                              ? Path::Direct
           : p.blk_data || (data_s1 && channels_enough(g.C)) ? Path::Channel
           : t_fits && (channels_enough(g.C) || (!data_s1 && g.C >= VL)) ? Path::Transposed
           : data_s1 && dense_enough(p.dyin)     ? Path::Spatial
                                                 : Path::Unrolled;
  // (Transposed from one vector of input channels when Spatial cannot run:
  // half the lanes idle still beats im2col + col2im on a strided layer.)
  if (p.data == Path::Transposed) p.dym = mg;
  p.blk_t = p.data == Path::Transposed && blocked_t_fits(g);
  // Samples per blk_tconv chunk: as many as keep their blocked dy within
  // kBlockedWeightsL2 floats (where the weights are taken block by block,
  // each block then serves every sample of the chunk).
  p.Bt = g.N <= 0 ? 0 : !p.blk_t ? 1
       : std::min<int64_t>(g.N, std::max<int64_t>(1, kBlockedWeightsL2 / std::max<int64_t>(1, blocked_channels(g.K) * mg.L)));
  p.bw_fwd = blocked_bw(g.K, g.Wo);
  p.bw_data = blocked_bw(g.C, p.blk_t ? tconv_row(g) : g.W);
  p.B = g.N <= 0 ? 0 : std::min<int64_t>(g.N, std::max<int64_t>(1, ceil_div(kMinCols, p.P)));
  p.blk_sub_w = sub && VL == 16;
  p.stem_w = VL == 16 && p.weight == Path::Spatial && g.K <= VL && g.kh == 3 && g.kw == 3 && g.dh == 1 && g.dw == 1;
  const int64_t wcols = p.weight == Path::Spatial      ? ceil_div(kWgradCols, p.xin.L)
                        : p.blk_sub_w                  ? blocked_wgrad_samples(g, p.xsub, g.C > 64 ? kWgradChunk / 2 : kWgradChunk)
                        : p.weight == Path::Subsampled ? ceil_div(kWgradCols, p.P)
                        : p.blk_weight            ? blocked_wgrad_samples(g, p.xin)
                                                  : ceil_div(kMinCols, p.P);
  p.Bw = g.N <= 0 ? 0 : std::min<int64_t>(g.N, std::max<int64_t>(1, wcols));
  p.Bf = g.N <= 0 ? 0 : std::min<int64_t>(g.N, std::max<int64_t>(1, ceil_div(kMinCols, p.P)));
  p.Bd = g.N <= 0 ? 0 : std::min<int64_t>(g.N, std::max<int64_t>(1, ceil_div(kMinCols, g.H * g.W)));
  p.Bs = g.N <= 0 ? 0 : std::min<int64_t>(g.N, flat_samples(p.P));

  const int64_t unrolled = p.R * p.B * p.P + (p.B > 1 ? g.K * p.B * p.P : 0);
  int64_t slice = 0, shared = 0;
  switch (p.fwd) {
    case Path::Spatial:
      slice = std::max(slice, padded_floats(p.xin));
      shared = std::max(shared, round_up(g.K, MR) * p.R);
      break;
    case Path::Channel:
      slice = std::max(slice, p.Bf * (p.blk_fwd ? blocked_channels(g.C) : g.C) * p.xin.L);
      shared = std::max(shared, p.blk_fwd ? round_up(g.K, p.bw_fwd * VL) * blocked_channels(g.C) * 9
                                          : round_up(g.K, p.nvk_fwd * VL) * p.R);
      break;
    case Path::Unrolled: slice = std::max(slice, unrolled); break;
    case Path::Subsampled:  // x's subsampled planes, then flat_conv's partial sums (y written in place)
      slice = std::max(slice, padded_floats(flat_planes(g.C, p.Bs * p.P, g)) + round_up(g.K, MR) * TQ);
      shared = std::max(shared, round_up(g.K, MR) * p.R);
      break;
    case Path::Transposed:  // (bwd data only)
    case Path::Direct: break;
  }
  switch (p.data) {
    case Path::Spatial:
      slice = std::max(slice, padded_floats(p.dyin));
      shared = std::max(shared, round_up(g.C, MR) * g.K * g.kh * g.kw);
      break;
    case Path::Channel:
      slice = std::max(slice, p.Bd * (p.blk_data ? blocked_channels(g.K) : g.K) * p.dyin.L);
      shared = std::max(shared, p.blk_data ? round_up(g.C, p.bw_data * VL) * blocked_channels(g.K) * 9
                                           : round_up(g.C, p.nvk_data * VL) * g.K * g.kh * g.kw);
      break;
    case Path::Transposed:
      slice = std::max(slice, (p.blk_t ? p.Bt * blocked_channels(g.K) : g.K) * p.dym.L);
      shared = std::max(shared, p.blk_t ? round_up(g.C, p.bw_data * VL) * blocked_channels(g.K) * 9
                                        : round_up(g.C, p.nvk_data * VL) * g.K * g.kh * g.kw);
      break;
    case Path::Unrolled: slice = std::max(slice, unrolled); break;
    case Path::Subsampled:  // dy's planes, dx's subsampled planes, flat_conv's partial sums
      slice = std::max(slice, padded_floats(flat_planes(g.K, p.Bs * p.P, g)) + g.C * p.Bs * p.P + round_up(g.C, MR) * TQ);
      shared = std::max(shared, round_up(g.C, MR) * g.K);
      break;
    case Path::Direct: break;
  }
  switch (p.weight) {  // its own path: a blocked forward takes the Channel path for a Spatial or Unrolled one
    case Path::Spatial:
      slice = std::max(slice, p.stem_w ? g.C * p.Bw * p.xin.L + wgrad_slack(p.xin, g) + p.Bw * p.P * VL
                                       : wgrad_floats(p.xin, g.K, p.Bw, g));
      break;
    case Path::Channel:
      slice = std::max(slice, p.blk_weight ? p.Bw * blocked_wgrad_per_sample(g, p.xin)
                                           : p.Bw * (g.C * p.xin.L + p.P * round_up(g.K, p.nvk_weight * VL)));
      break;
    case Path::Unrolled: slice = std::max(slice, unrolled); break;
    case Path::Subsampled:
      slice = std::max(slice, p.blk_sub_w ? p.Bw * blocked_wgrad_per_sample(g, p.xsub) + g.C * p.P : wgrad_floats(p.xsub, g.K, p.Bw, g));
      break;
    case Path::Transposed:  // (bwd data only)
    case Path::Direct: break;
  }
  p.slice = slice;
  p.shared = shared;
  return p;
}

// Slices a kernel call uses: min(max_slices(), N), what ws was sized for, and
// not fewer with fewer threads (a thread then runs several slices in turn), so
// dW's per-slice partials, and with them the result, do not depend on the
// thread count (parallel.h machine_threads).
int64_t slices_now(int64_t N) { return std::min<int64_t>(max_slices(), std::max<int64_t>(N, 0)); }

// fn(s) for each slice s in [0, S), one per thread. An exception inside a
// slice (gemm's packing buffers are allocated on first use) must not leave
// the OpenMP region: the first one is kept and rethrown after it.
template <class F>
void for_slices(int64_t S, F&& fn) {
  if (S <= 0) return;
  if (S == 1) {
    fn((int64_t)0);
    return;
  }
  std::exception_ptr err;
  std::mutex mu;
  parallel_for(S, 1, [&](int64_t b, int64_t e) {
    for (int64_t s = b; s < e; ++s) {
      try {
        fn(s);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!err) err = std::current_exception();
      }
    }
  });
  if (err) std::rethrow_exception(err);
}

// Calls fn(n0, count) for the chunks of at most B samples of slice s of S.
template <class F>
void for_chunks(int64_t N, int64_t S, int64_t s, int64_t B, F&& fn) {
  const int64_t n0 = N * s / S, n1 = N * (s + 1) / S;
  for (int64_t n = n0; n < n1; n += B) fn(n, std::min(B, n1 - n));
}

// The chunks [k·B, min((k + 1)·B, N)) handed out to whichever slice asks
// next (the forward and the input gradient, which sum nothing across
// samples): a slice slowed by another process on its core takes fewer
// chunks instead of keeping the others waiting at the end. Each chunk is
// computed the same whichever slice takes it, so results do not change.
// last_first hands them out from the last: the input gradient runs after
// the weight gradient, whose slices end on the last samples (still in L2),
// and then ends on sample 0, where BatchNorm's backward starts.
class ChunkQueue {
 public:
  ChunkQueue(int64_t N, int64_t B, bool last_first = false)
      : N_(N), B_(std::max<int64_t>(1, B)), K_(N > 0 ? ceil_div(N, B_) : 0), last_first_(last_first) {}
  template <class F>
  void drain(F&& fn) {
    for (int64_t k; (k = next_.fetch_add(1, std::memory_order_relaxed)) < K_;) {
      const int64_t n = (last_first_ ? K_ - 1 - k : k) * B_;
      fn(n, std::min(B_, N_ - n));
    }
  }

 private:
  int64_t N_, B_, K_;
  bool last_first_;
  std::atomic<int64_t> next_{0};
};

// ---- path 1: stride 1 on padded planes --------------------------------------

// Short runs of floats, inline: the padded planes are made of rows of a few
// floats (7 to 34 on a CIFAR ResNet) between zero runs of 2·pw, where a libc
// memcpy/memset call per run cost more than the copy (~20% of a 7×7 layer's
// forward). Vector chunks, then a masked (AVX-512) or scalar tail; the
// attribute keeps GCC from turning the tails back into library calls.
#define IMIX_NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
IMIX_NO_LIBCALLS inline void copy_run(float* __restrict d, const float* __restrict s, int64_t n) {
  int64_t i = 0;
  for (; i + VL <= n; i += VL) storeu(d + i, loadu(s + i));
#if defined(__AVX512F__)
  if (i < n) {
    const __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(d + i, m, _mm512_maskz_loadu_ps(m, s + i));
  }
#else
  for (; i < n; ++i) d[i] = s[i];
#endif
}
IMIX_NO_LIBCALLS inline void zero_run(float* d, int64_t n) {
  int64_t i = 0;
  for (; i + VL <= n; i += VL) storeu(d + i, vf{});
#if defined(__AVX512F__)
  if (i < n) _mm512_mask_storeu_ps(d + i, (__mmask16)((1u << (n - i)) - 1u), _mm512_setzero_ps());
#else
  for (; i < n; ++i) d[i] = 0.0f;
#endif
}

#if defined(__AVX512F__)
// (GCC 12 flags the undefined pass-through operand inside the shuffle
// intrinsics as maybe-uninitialized; every lane of every result is defined.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// dst[j·dstride + ci] = src[ci·stride + j] for j < n ≤ 16 and ci < lanes ≤ 16
// (0 for ci ≥ cn): 16 masked row loads, a 16×16 transpose in registers
// (within 128-bit lanes by unpack + shuffle, then across lanes by two rounds
// of shuffle_f32x4), n masked stores. About a quarter of a cycle per float;
// the scalar scatter it replaces cost as much as the 3×3 stride-2 kernel
// after it.
inline void transpose16(const float* src, int64_t stride, int n, int cn, float* dst, int64_t dstride = 16,
                        int lanes = 16) {
  const __mmask16 m = (__mmask16)((1u << n) - 1u), dm = (__mmask16)((1u << lanes) - 1u);
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = i < cn ? _mm512_maskz_loadu_ps(m, src + i * stride) : _mm512_setzero_ps();
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);      // per lane: a0 b0 a1 b1
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);  //           a2 b2 a3 b3
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));      // a0 b0 c0 d0
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));  // a1 b1 c1 d1
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  // r[4g + k] holds column k + 4·lane of rows 4g..4g+3 in each 128-bit lane.
  for (int k = 0; k < 4; ++k) {
    t[k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x88);      // columns k, k+8 of rows 0–7
    t[4 + k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xdd);  // columns k+4, k+12
    t[8 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x88);
    t[12 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xdd);
  }
  for (int k = 0; k < 8; ++k) {  // t[k] holds columns k, k+8 of rows 0–7; t[8 + k] of rows 8–15
    const __m512 lo = _mm512_shuffle_f32x4(t[k], t[8 + k], 0x88);  // column k
    const __m512 hi = _mm512_shuffle_f32x4(t[k], t[8 + k], 0xdd);  // column k + 8
    if (k < n) _mm512_mask_storeu_ps(dst + k * dstride, dm, lo);
    if (k + 8 < n) _mm512_mask_storeu_ps(dst + (k + 8) * dstride, dm, hi);
  }
}
#pragma GCC diagnostic pop
#endif

// dst ← the Ci planes of Bc consecutive samples src [Bc, Ci, H, W], each
// zero-padded to Hp×Wp, channel-major (plane (c, s) at dst + (c·Bc + s)·L),
// and `slack` floats after the last plane zeroed. A padded plane is written
// front to back as zero runs and rows: the top rows with the first left pad,
// then each row followed by its right pad and the next row's left pad, the
// last one by the bottom rows.
void pad_planes(const float* src, const Padded& p, int64_t Bc, int64_t slack, float* dst) {
  parallel_for(p.Ci * Bc, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, p.L)), [&](int64_t a, int64_t b) {
    for (int64_t cs = a; cs < b; ++cs) {
      const int64_t c = cs / Bc, smp = cs - c * Bc;
      float* d = dst + cs * p.L;
      const float* s = src + (smp * p.Ci + c) * p.H * p.W;
      zero_run(d, p.ph * p.Wp + p.pw);
      d += p.ph * p.Wp + p.pw;
      for (int64_t y = 0; y < p.H; ++y, d += p.Wp, s += p.W) {
        copy_run(d, s, p.W);
        zero_run(d + p.W, y + 1 < p.H ? 2 * p.pw : p.pw + p.ph * p.Wp);
      }
    }
  });
  zero_run(dst + p.Ci * Bc * p.L, slack);
}

// ---- path 5: strided 1×1 on subsampled planes --------------------------------
// y[n, k, i, j] = b[k] + Σ_c W[k, c] · x[n, c, i·sh, j·sw] is a stride-1 1×1
// convolution of the subsampled planes xs[c, i, j] = x[c, i·sh, j·sw]; so are
// its weight gradient (dW = Σ dy·xsᵀ) and its input gradient on those
// positions (dxs = Wᵀ·dy; dx is 0 at every other position). Path 1's kernels
// run them on Ho×Wo planes, with no padding.

#if defined(__AVX512F__)
// d[j] = r[2j] for j < n, reading only r[0, W) (2n − 1 ≤ W): two masked
// loads of 16 and one two-source permute per 16 outputs.
inline void every_other(const float* r, int64_t W, int64_t n, float* d) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (int64_t j = 0; j < n; j += 16, r += 32, W -= 32) {
    const int64_t lo = std::min<int64_t>(16, std::max<int64_t>(0, W)), hi = std::min<int64_t>(16, std::max<int64_t>(0, W - 16));
    const __m512 a = _mm512_maskz_loadu_ps((__mmask16)((1u << lo) - 1u), r);
    const __m512 b = _mm512_maskz_loadu_ps((__mmask16)((1u << hi) - 1u), r + 16);
    _mm512_mask_storeu_ps(d + j, (__mmask16)((1u << std::min<int64_t>(16, n - j)) - 1u), _mm512_permutex2var_ps(a, even, b));
  }
}
// The row r [W] ← s[j] at 2j (j < n), 0 at the odd positions: all of r[0, W)
// when 2n ≥ W.
inline void spread_every_other(const float* s, int64_t n, int64_t W, float* r) {
  const __m512i lo_idx = _mm512_setr_epi32(0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16);
  const __m512i hi_idx = _mm512_setr_epi32(8, 16, 9, 16, 10, 16, 11, 16, 12, 16, 13, 16, 14, 16, 15, 16);
  const __m512 z = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += 16, r += 32, W -= 32) {
    const __m512 v = _mm512_maskz_loadu_ps((__mmask16)((1u << std::min<int64_t>(16, n - j)) - 1u), s + j);
    const int64_t lo = std::min<int64_t>(16, std::max<int64_t>(0, W)), hi = std::min<int64_t>(16, std::max<int64_t>(0, W - 16));
    _mm512_mask_storeu_ps(r, (__mmask16)((1u << lo) - 1u), _mm512_permutex2var_ps(v, lo_idx, z));
    _mm512_mask_storeu_ps(r + 16, (__mmask16)((1u << hi) - 1u), _mm512_permutex2var_ps(v, hi_idx, z));
  }
}
#endif

// dst[(c·Bc + s)·P + i·Wo + j] = src[s, c, i·sh, j·sw] for the Bc samples of
// src [Bc, C, H, W], then `slack` zeros.
void subsample_planes(const float* src, const ConvGeom& g, int64_t Bc, int64_t slack, float* dst) {
  const int64_t P = g.Ho * g.Wo, plane = g.H * g.W;
  parallel_for(g.C * Bc, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, P)), [&](int64_t a, int64_t b) {
    for (int64_t cs = a; cs < b; ++cs) {
      const int64_t c = cs / Bc, smp = cs - c * Bc;
      const float* sp = src + (smp * g.C + c) * plane;
      float* d = dst + cs * P;
      for (int64_t i = 0; i < g.Ho; ++i, d += g.Wo) {
        const float* sr = sp + i * g.sh * g.W;
#if defined(__AVX512F__)
        if (g.sw == 2) {
          every_other(sr, g.W, g.Wo, d);
          continue;
        }
#endif
        for (int64_t j = 0; j < g.Wo; ++j) d[j] = sr[j * g.sw];
      }
    }
  });
  zero_run(dst + g.C * Bc * P, slack);
}

// dxn [C, H, W] ← dxs [C, Ho·Wo] (channel c at dxs + c·cstride) at the
// positions (i·sh, j·sw), 0 elsewhere.
void upsample_planes(const float* dxs, int64_t cstride, const ConvGeom& g, float* dxn) {
  const int64_t plane = g.H * g.W;
  parallel_for(g.C, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, plane)), [&](int64_t a, int64_t b) {
    for (int64_t c = a; c < b; ++c) {
      float* d = dxn + c * plane;
      const float* sp = dxs + c * cstride;
#if defined(__AVX512F__)
      if (g.sw == 2) {  // each row written once: spread rows whole (zeros between), the rest zeroed
        for (int64_t r = 0; r < g.H; ++r) {
          const int64_t i = r / g.sh;
          if (i * g.sh == r && i < g.Ho)
            spread_every_other(sp + i * g.Wo, g.Wo, g.W, d + r * g.W);
          else
            zero_run(d + r * g.W, g.W);
        }
        continue;
      }
#endif
      zero_run(d, plane);
      for (int64_t i = 0; i < g.Ho; ++i) {
        float* dr = d + i * g.sh * g.W;
        for (int64_t j = 0; j < g.Wo; ++j) dr[j * g.sw] = sp[i * g.Wo + j];
      }
    }
  });
}

// Path 1's register tile over its taps: MR output channels × N vectors of
// consecutive positions, acc[m][n] += Σ_{c,u,v} w[((c·kh + u)·kw + v)·MR + m] ·
// x[c·L + u·uo + v·dw + n·VL]: row_conv's, and flat_conv's with kh = kw = 1
// over a block of channels. (implicit_conv keeps the same loop written out:
// through this helper it measured 4–10% slower on the stems' input gradient.)
template <int N>
inline void tile_taps(vf (&acc)[MR][N], const float* x, int64_t L, int64_t uo, int64_t Ci, int64_t kh, int64_t kw,
                      int64_t dw, const float* __restrict w) {
  for (int64_t c = 0; c < Ci; ++c)
    for (int64_t u = 0; u < kh; ++u) {
      const float* xu = x + c * L + u * uo;
      for (int64_t v = 0; v < kw; ++v, w += MR) {
        vf b[N];
        for (int n = 0; n < N; ++n) b[n] = loadu(xu + v * dw + n * VL);
        for (int m = 0; m < MR; ++m) {
          const vf a = splat(w[m]);
          for (int n = 0; n < N; ++n) acc[m][n] = fmadd(a, b[n], acc[m][n]);
        }
      }
    }
}

// out [Ko, Ho, Wo] = bias + the stride-1 convolution of the padded planes xp
// with the packed weights wpk [⌈Ko/MR⌉][Ci][kh][kw][MR] (zero past Ko).
// Split over tiles of TQ grid positions; each tile runs every channel tile
// over the same window of xp (hot in L1), then writes its valid positions.
void implicit_conv(const float* xp, const float* wpk, const float* bias, float* out, const Padded& p, int64_t Ko,
                   const ConvGeom& g) {
  const int64_t kt_n = ceil_div(Ko, MR), nq = p.Qpad / TQ, taps = p.Ci * g.kh * g.kw;
  const int64_t plane = p.Ho * p.Wo, uo = g.dh * p.Wp;
  const int64_t grain = std::max<int64_t>(1, (kGrain * 16) / std::max<int64_t>(1, kt_n * MR * taps * TQ));
  parallel_for(nq, grain, [&](int64_t t0, int64_t t1) {
    alignas(64) float tile[MR][TQ];
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t q0 = t * TQ;
      const float* xq = xp + q0;
      for (int64_t kt = 0; kt < kt_n; ++kt) {
        vf acc[MR][NV];
        for (int m = 0; m < MR; ++m)
          for (int v = 0; v < NV; ++v) acc[m][v] = vf{};
        const float* __restrict w = wpk + kt * taps * MR;
        for (int64_t c = 0; c < p.Ci; ++c) {
          const float* xc = xq + c * p.L;
          for (int64_t u = 0; u < g.kh; ++u) {
            const float* xu = xc + u * uo;
            for (int64_t v = 0; v < g.kw; ++v, w += MR) {
              const float* xv = xu + v * g.dw;
              vf b[NV];
              for (int n = 0; n < NV; ++n) b[n] = loadu(xv + n * VL);
              for (int m = 0; m < MR; ++m) {
                const vf a = splat(w[m]);
                for (int n = 0; n < NV; ++n) acc[m][n] = fmadd(a, b[n], acc[m][n]);
              }
            }
          }
        }
        // The tile's valid outputs: row segments i, j ∈ [j0, min(j0 + len, Wo)).
        const int mr = (int)std::min<int64_t>(MR, Ko - kt * MR);
        for (int m = 0; m < mr; ++m)
          for (int n = 0; n < NV; ++n) storeu(&tile[m][n * VL], acc[m][n]);
        const int64_t qe = std::min(q0 + TQ, p.Q);
        for (int64_t q = q0; q < qe;) {
          const int64_t i = q / p.Wp, j = q - i * p.Wp, row_end = std::min(qe, (i + 1) * p.Wp);
          const int64_t je = std::min(p.Wo, j + (row_end - q));
          if (j < je) {
            for (int m = 0; m < mr; ++m) {
              const int64_t k = kt * MR + m;
              const float bk = bias ? bias[k] : 0.0f;
              const float* __restrict src = &tile[m][q - q0];
              float* __restrict dst = out + k * plane + i * p.Wo;
#pragma omp simd
              for (int64_t jj = j; jj < je; ++jj) dst[jj] = src[jj - j] + bk;
            }
          }
          q = row_end;
        }
      }
    }
  });
}

#if defined(__AVX512F__)
// implicit_conv for output rows of at most NR vectors (the stems: rows of 28
// or 32 outputs from 1–3 input channels), one output row per tile, so the
// accumulators go straight into y's row (a masked store for its tail). Tiles
// of TQ grid positions straddle rows (a 28-wide row's grid is 30 wide) and
// pass through a tile buffer: on a stem, whose work is mostly writing y,
// that copy cost as much as the arithmetic.
template <int NR>
void row_conv(const float* xp, const float* wpk, const float* bias, float* out, const Padded& p, int64_t Ko,
              const ConvGeom& g) {
  const int64_t kt_n = ceil_div(Ko, MR), taps = p.Ci * g.kh * g.kw;
  const int64_t plane = p.Ho * p.Wo, uo = g.dh * p.Wp;
  const __mmask16 tail = (__mmask16)((1u << (p.Wo - (NR - 1) * VL)) - 1u);
  const int64_t grain = std::max<int64_t>(1, (kGrain * 16) / std::max<int64_t>(1, kt_n * MR * taps * NR * VL));
  parallel_for(p.Ho, grain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t kt = 0; kt < kt_n; ++kt) {
        vf acc[MR][NR];
        for (int m = 0; m < MR; ++m)
          for (int n = 0; n < NR; ++n) acc[m][n] = vf{};
        tile_taps<NR>(acc, xp + i * p.Wp, p.L, uo, p.Ci, g.kh, g.kw, g.dw, wpk + kt * taps * MR);
        const int mr = (int)std::min<int64_t>(MR, Ko - kt * MR);
        for (int m = 0; m < mr; ++m) {
          const int64_t k = kt * MR + m;
          const vf bk = splat(bias ? bias[k] : 0.0f);
          float* dst = out + k * plane + i * p.Wo;
          for (int n = 0; n + 1 < NR; ++n) storeu(dst + n * VL, acc[m][n] + bk);
          _mm512_mask_storeu_ps(dst + (NR - 1) * VL, tail, (__m512)(acc[m][NR - 1] + bk));
        }
      }
  });
}
#endif

// Path 1's forward or input gradient on one sample's padded planes.
void spatial_conv(const float* xp, const float* wpk, const float* bias, float* out, const Padded& p, int64_t Ko,
                  const ConvGeom& g) {
#if defined(__AVX512F__)
  if (p.Wo <= VL) return row_conv<1>(xp, wpk, bias, out, p, Ko, g);
  if (p.Wo <= 2 * VL) return row_conv<2>(xp, wpk, bias, out, p, Ko, g);
#endif
  implicit_conv(xp, wpk, bias, out, p, Ko, g);
}

// Path 5's 1×1 convolution of a flat chunk xf [Ci][L] (positions q < cols):
// out[s][k][p] = bias[k] + Σ_c W[k, c] · xf[c][s·P + p], q = s·P + p, so out
// is NCHW [Bc][Ko][P] (with P = cols, the channel-major [Ko][cols]); wpk as
// pack_weights packs a 1×1 forward, [⌈Ko/MR⌉][Ci][MR]. Tiles of TQ positions;
// the channels in blocks of kFlatChannels, so that a block's window of xf
// (12 KB) stays in L1 while every output channel tile runs over it (a whole
// window of 256 channels would be 48 KB: L1's size); partial sums wait in
// part [⌈Ko/MR⌉·MR][TQ] (L2) between blocks.
constexpr int64_t kFlatChannels = 64;
void flat_conv(const float* xf, int64_t L, int64_t Ci, const float* wpk, const float* bias, int64_t Ko, int64_t cols,
               int64_t P, float* out, float* part) {
  const int64_t kt_n = ceil_div(Ko, MR);
  for (int64_t q0 = 0; q0 < cols; q0 += TQ) {
    for (int64_t c0 = 0; c0 < Ci; c0 += kFlatChannels) {
      const int64_t c1 = std::min(Ci, c0 + kFlatChannels);
      const float* xq = xf + c0 * L + q0;
      for (int64_t kt = 0; kt < kt_n; ++kt) {
        float* pt = part + kt * MR * TQ;
        vf acc[MR][NV];
        for (int m = 0; m < MR; ++m)
          for (int n = 0; n < NV; ++n) acc[m][n] = c0 == 0 ? vf{} : loadu(pt + m * TQ + n * VL);
        tile_taps<NV>(acc, xq, L, 0, c1 - c0, 1, 1, 1, wpk + (kt * Ci + c0) * MR);
        for (int m = 0; m < MR; ++m)
          for (int n = 0; n < NV; ++n) storeu(pt + m * TQ + n * VL, acc[m][n]);
      }
    }
    // The tile's Ko rows into out, split where the positions cross into the next sample.
    const int64_t qe = std::min(q0 + TQ, cols);
    for (int64_t a = q0; a < qe;) {
      const int64_t smp = a / P, pos = a - smp * P, n = std::min(qe - a, P - pos);
      for (int64_t k = 0; k < Ko; ++k) {
        const float bk = bias ? bias[k] : 0.0f;
        const float* __restrict src = part + k * TQ + (a - q0);
        float* __restrict dst = out + (smp * Ko + k) * P + pos;
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) dst[j] = src[j] + bk;
      }
      a += n;
    }
  }
}

// Packs W [K, C, kh, kw] for implicit_conv: forward wpk[kt][c][u][v][m] =
// W[kt·MR+m, c, u, v]; bwd data (flip) wpk[ct][k][u][v][m] =
// W[k, ct·MR+m, kh−1−u, kw−1−v]. Rows past the output channels are zero.
void pack_weights(const float* w, const ConvGeom& g, bool flip, float* wpk) {
  const int64_t Ko = flip ? g.C : g.K, Ci = flip ? g.K : g.C, khw = g.kh * g.kw;
  const int64_t kt_n = ceil_div(Ko, MR), taps = Ci * khw;
  parallel_for(kt_n, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, taps * MR)), [&](int64_t a, int64_t b) {
    for (int64_t kt = a; kt < b; ++kt)
      for (int64_t ci = 0; ci < Ci; ++ci)
        for (int64_t t = 0; t < khw; ++t) {
          float* d = wpk + ((kt * Ci + ci) * khw + t) * MR;
          for (int m = 0; m < MR; ++m) {
            const int64_t ko = kt * MR + m;
            float v = 0.0f;
            if (ko < Ko) v = flip ? w[(ci * g.C + ko) * khw + (khw - 1 - t)] : w[(ko * g.C + ci) * khw + t];
            d[m] = v;
          }
        }
  });
}

// The weight gradient's grid and mask (layout above) for the Bc samples of
// dy [Bc, K, Ho, Wo].
void grid_dy(const float* dy, const Padded& p, int64_t K, int64_t Bc, int64_t Qv, float* dyg, float* mask) {
  const int64_t rows = round_up(K, WMR);
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, Qv)), [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) {
      float* d = dyg + k * Qv;
      std::memset(d, 0, sizeof(float) * (size_t)Qv);
      if (k >= K) continue;
      for (int64_t smp = 0; smp < Bc; ++smp) {
        const float* src = dy + (smp * K + k) * p.Ho * p.Wo;
        float* row = d + smp * p.L;
        for (int64_t i = 0; i < p.Ho; ++i) std::memcpy(row + i * p.Wp, src + i * p.Wo, sizeof(float) * (size_t)p.Wo);
      }
    }
  });
  int32_t* m = reinterpret_cast<int32_t*>(mask);
  std::memset(m, 0, sizeof(int32_t) * (size_t)Qv);
  for (int64_t smp = 0; smp < Bc; ++smp)
    for (int64_t i = 0; i < p.Ho; ++i) std::fill(m + smp * p.L + i * p.Wp, m + smp * p.L + i * p.Wp + p.Wo, -1);
}

// target [K, R] += Σ_q dyg[k, q] · (mask[q] ? xpc[off(r) + q] : 0) over one
// chunk: the mask keeps the grid's dropped positions out (0·x would turn an
// infinite x into a NaN where the true sum never reads that x). Split over
// tiles of WNR taps (each writes its own columns of target).
void implicit_wgrad(const float* xpc, const float* dyg, const float* mask, float* target, const Padded& p,
                    int64_t Bc, int64_t Qv, const ConvGeom& g) {
  const int64_t R = g.C * g.kh * g.kw, khw = g.kh * g.kw, rt_n = ceil_div(R, WNR), kt_n = ceil_div(g.K, WMR);
  const int64_t chs = Bc * p.L;
  const int64_t grain = std::max<int64_t>(1, (kGrain * 16) / std::max<int64_t>(1, kt_n * WMR * WNR * Qv));
  const int32_t* mk = reinterpret_cast<const int32_t*>(mask);
  parallel_for(rt_n, grain, [&](int64_t a, int64_t b) {
    for (int64_t rt = a; rt < b; ++rt) {
      const float* xr[WNR];
      for (int n = 0; n < WNR; ++n) {
        const int64_t r = std::min(rt * WNR + n, R - 1);  // past R: a repeat, dropped below
        const int64_t c = r / khw, t = r - c * khw, u = t / g.kw, v = t - u * g.kw;
        xr[n] = xpc + c * chs + u * g.dh * p.Wp + v * g.dw;
      }
      const int nr = (int)std::min<int64_t>(WNR, R - rt * WNR);
      for (int64_t kt = 0; kt < kt_n; ++kt) {
        vf acc[WMR][WNR];
        for (int m = 0; m < WMR; ++m)
          for (int n = 0; n < WNR; ++n) acc[m][n] = vf{};
        const float* dk = dyg + kt * WMR * Qv;
        for (int64_t q = 0; q < Qv; q += VL) {
          const vi keep = *(const viu*)(mk + q);
          vf d[WMR];
          for (int m = 0; m < WMR; ++m) d[m] = loadu(dk + m * Qv + q);
          for (int n = 0; n < WNR; ++n) {
            const vf x = mask_and(loadu(xr[n] + q), keep);
            for (int m = 0; m < WMR; ++m) acc[m][n] = fmadd(d[m], x, acc[m][n]);
          }
        }
        const int mr = (int)std::min<int64_t>(WMR, g.K - kt * WMR);
        for (int m = 0; m < mr; ++m) {
          float* row = target + (kt * WMR + m) * R + rt * WNR;
          for (int n = 0; n < nr; ++n) row[n] += hsum(acc[m][n]);
        }
      }
    }
  });
}

// ---- path 2: vectors of output channels --------------------------------------
// For Ko ≥ 2 vectors of output channels, any stride: a tile holds NVK
// vectors of KB = NVK·VL consecutive output channels for TP = ACC/NVK output
// positions p = i·Wo + j (consecutive, across rows), so no position is
// computed in vain and the strides only change where the inputs are read:
//   out[k, p] = bias[k] + Σ_{c,u,v} Wp[kb][c][u][v][k mod KB] · xp[c·L + (i·sh + u·dh)·Wp + j·sw + v·dw]
// per tap: NVK vector loads of packed weights, TP broadcasts of inputs,
// TP·NVK fused multiply-adds. The tile is then transposed into the output
// planes (k-major, p contiguous).

// Packs W [K, C, kh, kw] for cv_conv: forward wpk[kb][c][u][v][KB] =
// W[kb·KB + m, c, u, v]; bwd data (flip) wpk[cb][k][u][v][KB] =
// W[k, cb·KB + m, kh−1−u, kw−1−v]. Lanes past the output channels are zero.
void pack_weights_cv(const float* w, const ConvGeom& g, bool flip, int64_t KB, float* wpk) {
  const int64_t Ko = flip ? g.C : g.K, Ci = flip ? g.K : g.C, khw = g.kh * g.kw;
  const int64_t kb_n = ceil_div(Ko, KB), taps = Ci * khw;
  parallel_for(kb_n * Ci, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, khw * KB)), [&](int64_t a, int64_t b) {
    for (int64_t idx = a; idx < b; ++idx) {
      const int64_t kb = idx / Ci, ci = idx - kb * Ci;
      for (int64_t t = 0; t < khw; ++t) {
        float* d = wpk + (kb * taps + ci * khw + t) * KB;
        for (int64_t m = 0; m < KB; ++m) {
          const int64_t ko = kb * KB + m;
          float v = 0.0f;
          if (ko < Ko) v = flip ? w[(ci * g.C + ko) * khw + (khw - 1 - t)] : w[(ko * g.C + ci) * khw + t];
          d[m] = v;
        }
      }
    }
  });
}

// out [Bc][Ko][Ho·Wo] = bias + the convolution (strides sh, sw) of a chunk of
// Bc samples' padded planes xpc (channel-major as pad_planes lays them out:
// plane (c, s) at (c·Bc + s)·L) with wpk packed by pack_weights_cv. The
// positions run over the whole chunk, so a block of weights is reused by
// every sample's positions; the input channels are split in blocks whose
// weights stay in L2 (the first block writes out + bias, the next ones add).
template <int NVK>
void cv_conv(const float* xpc, const Padded& p, int64_t Bc, const float* wpk, const float* bias, float* out,
             int64_t Ko, int64_t sh, int64_t sw, const ConvGeom& g) {
  constexpr int KB = NVK * VL, TP = ACC / NVK;
  const int64_t P = p.Ho * p.Wo, BP = Bc * P, nt = ceil_div(BP, TP), kb_n = ceil_div(Ko, KB);
  const int64_t khw = g.kh * g.kw, taps = p.Ci * khw, uo = g.dh * p.Wp, chs = Bc * p.L;
  const int64_t cblk = std::max<int64_t>(1, kWeightBlock / (khw * KB));
  for (int64_t c0 = 0; c0 < p.Ci; c0 += cblk) {
    const int64_t c1 = std::min(p.Ci, c0 + cblk);
    const bool first = c0 == 0;
    const int64_t grain = std::max<int64_t>(1, (kGrain * 16) / std::max<int64_t>(1, (c1 - c0) * khw * KB * TP));
    parallel_for(nt * kb_n, grain, [&](int64_t a, int64_t b) {
      alignas(64) float tile[TP][KB];
      for (int64_t idx = a; idx < b; ++idx) {
        const int64_t t = idx / kb_n, kb = idx - t * kb_n;  // channel blocks inner: the inputs stay hot
        const int64_t p0 = t * TP;
        const int np = (int)std::min<int64_t>(TP, BP - p0);
        const float* xb[TP];
        for (int m = 0; m < TP; ++m) {
          const int64_t pos = p0 + std::min(m, np - 1);  // past the chunk: a repeat, dropped
          const int64_t smp = pos / P, q = pos - smp * P, i = q / p.Wo, j = q - i * p.Wo;
          xb[m] = xpc + smp * p.L + i * sh * p.Wp + j * sw;
        }
        vf acc[TP][NVK];
        for (int m = 0; m < TP; ++m)
          for (int n = 0; n < NVK; ++n) acc[m][n] = vf{};
        const float* __restrict w = wpk + (kb * taps + c0 * khw) * KB;
        for (int64_t c = c0; c < c1; ++c)
          for (int64_t u = 0; u < g.kh; ++u) {
            const int64_t ou = c * chs + u * uo;
            for (int64_t v = 0; v < g.kw; ++v, w += KB) {
              const int64_t off = ou + v * g.dw;
              vf wv[NVK];
              for (int n = 0; n < NVK; ++n) wv[n] = loadu(w + n * VL);
              for (int m = 0; m < TP; ++m) {
                const vf xv = splat(xb[m][off]);
                for (int n = 0; n < NVK; ++n) acc[m][n] = fmadd(xv, wv[n], acc[m][n]);
              }
            }
          }
        for (int m = 0; m < TP; ++m)
          for (int n = 0; n < NVK; ++n) storeu(&tile[m][n * VL], acc[m][n]);
        const int64_t kn = std::min<int64_t>(KB, Ko - kb * KB);
        for (int m = 0; m < np;) {  // runs of positions within one sample
          const int64_t pos = p0 + m, smp = pos / P, q = pos - smp * P;
          const int run = (int)std::min<int64_t>(np - m, P - q);
          float* o = out + smp * Ko * P + q;
          for (int64_t kk = 0; kk < kn; ++kk) {
            const int64_t k = kb * KB + kk;
            float* dst = o + k * P;
            if (first) {
              const float bk = bias ? bias[k] : 0.0f;
              for (int e = 0; e < run; ++e) dst[e] = tile[m + e][kk] + bk;
            } else {
              for (int e = 0; e < run; ++e) dst[e] += tile[m + e][kk];
            }
          }
          m += run;
        }
      }
    });
  }
}

void cv_conv_any(int nvk, const float* xpc, const Padded& p, int64_t Bc, const float* wpk, const float* bias,
                 float* out, int64_t Ko, int64_t sh, int64_t sw, const ConvGeom& g) {
  switch (nvk) {
    case 2: cv_conv<2>(xpc, p, Bc, wpk, bias, out, Ko, sh, sw, g); break;
    case 3: cv_conv<3>(xpc, p, Bc, wpk, bias, out, Ko, sh, sw, g); break;
    default: cv_conv<4>(xpc, p, Bc, wpk, bias, out, Ko, sh, sw, g); break;
  }
}

// dyT [Bc][P][Kp] ← dy [Bc, K, P] transposed, 0 for K ≤ k < Kp.
void transpose_dy(const float* dy, int64_t Bc, int64_t K, int64_t P, int64_t Kp, float* dyT) {
#if defined(__AVX512F__)
  // In 16×16 blocks: (sample, 16 positions) × every 16 channels of Kp.
  const int64_t pb_n = ceil_div(P, 16), kb_n = ceil_div(Kp, 16);
  parallel_for(Bc * pb_n, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, 16 * Kp)), [&](int64_t a, int64_t b) {
    for (int64_t idx = a; idx < b; ++idx) {
      const int64_t smp = idx / pb_n, p0 = (idx - smp * pb_n) * 16;
      for (int64_t kb = 0; kb < kb_n; ++kb) {
        const int64_t k0 = kb * 16, cn = std::max<int64_t>(0, std::min<int64_t>(16, K - k0));
        transpose16(dy + (smp * K + std::min(k0, K - 1)) * P + p0, P, (int)std::min<int64_t>(16, P - p0), (int)cn,
                    dyT + (smp * P + p0) * Kp + k0, Kp, (int)std::min<int64_t>(16, Kp - k0));
      }
    }
  });
#else
  parallel_for(Bc * P, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, Kp)), [&](int64_t a, int64_t b) {
    for (int64_t sp = a; sp < b; ++sp) {
      const int64_t smp = sp / P, q = sp - smp * P;
      const float* src = dy + smp * K * P + q;
      float* d = dyT + sp * Kp;
      for (int64_t k = 0; k < K; ++k) d[k] = src[k * P];
      for (int64_t k = K; k < Kp; ++k) d[k] = 0.0f;
    }
  });
#endif
}

#if defined(__AVX512F__)
// The weight gradient of a stem (3×3, stride 1, dilation 1, at most 16
// output channels: ResNet-20's 1 → 16 and 3 → 16). One vector holds every
// output channel, so with dy transposed to dyT [s][p][16] each output
// position adds one dy vector times a broadcast input into the 9
// accumulators of an input channel's taps, which sit at u·Wp + v from one
// pointer (a pass per input channel). Path 1's tiles would sum along the
// positions, with 2 of every 9 accumulators' slots past R = 9 or 27 and a
// copy of dy onto the padded grid.
//   target[k, (c, u, v)] += Σ_{s,i,j} dyT[s][i·Wo + j][k] · xpc[(c·Bc + s)·L + (i + u)·Wp + j + v]
void stem_wgrad(const float* xpc, const float* dyT, float* target, const Padded& p, int64_t Bc, const ConvGeom& g) {
  const int64_t P = p.Ho * p.Wo, R = g.C * 9, Wp = p.Wp;
  parallel_for(g.C, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      __m512 acc[9];
      for (int t = 0; t < 9; ++t) acc[t] = _mm512_setzero_ps();
      for (int64_t smp = 0; smp < Bc; ++smp)
        for (int64_t i = 0; i < p.Ho; ++i) {
          const float* x0 = xpc + (c * Bc + smp) * p.L + i * Wp;
          const float* d = dyT + (smp * P + i * p.Wo) * VL;
          for (int64_t j = 0; j < p.Wo; ++j, d += VL) {
            const __m512 dv = _mm512_loadu_ps(d);
#pragma GCC unroll 3
            for (int u = 0; u < 3; ++u)
#pragma GCC unroll 3
              for (int v = 0; v < 3; ++v)
                acc[u * 3 + v] = _mm512_fmadd_ps(dv, _mm512_set1_ps(x0[u * Wp + j + v]), acc[u * 3 + v]);
          }
        }
      alignas(64) float sums[9][VL];
      for (int t = 0; t < 9; ++t) _mm512_store_ps(sums[t], acc[t]);
      for (int64_t k = 0; k < g.K; ++k)
        for (int t = 0; t < 9; ++t) target[k * R + c * 9 + t] += sums[t][k];
    }
  });
}
#endif

// target [K, R] += Σ_{s<Bc, p} dyT[s][p][k] · xpc[c·Bc·L + s·L + (i·sh + u·dh)·Wp + j·sw + v·dw]
// for one chunk (xpc as pad_planes lays it out, channel-major). A tile is
// NVK vectors of channels × ACC/NVK taps, accumulated in registers over the
// whole chunk, then added (transposed) into target.
template <int NVK>
void cv_wgrad(const float* xpc, const float* dyT, float* target, const Padded& p, int64_t Bc, const ConvGeom& g) {
  constexpr int KB = NVK * VL, TR = ACC / NVK;
  const int64_t K = g.K, R = g.C * g.kh * g.kw, khw = g.kh * g.kw, P = p.Ho * p.Wo;
  const int64_t Kp = round_up(K, KB), kb_n = Kp / KB, rt_n = ceil_div(R, TR), chs = Bc * p.L;
  const int64_t grain = std::max<int64_t>(1, (kGrain * 16) / std::max<int64_t>(1, Bc * P * KB * TR));
  parallel_for(rt_n * kb_n, grain, [&](int64_t a, int64_t b) {
    alignas(64) float tile[TR][KB];
    for (int64_t idx = a; idx < b; ++idx) {
      const int64_t rt = idx / kb_n, kb = idx - rt * kb_n;
      int64_t off[TR];
      for (int m = 0; m < TR; ++m) {
        const int64_t r = std::min(rt * TR + m, R - 1);  // past R: a repeat, dropped below
        const int64_t c = r / khw, t = r - c * khw, u = t / g.kw, v = t - u * g.kw;
        off[m] = c * chs + u * g.dh * p.Wp + v * g.dw;
      }
      vf acc[TR][NVK];
      for (int m = 0; m < TR; ++m)
        for (int n = 0; n < NVK; ++n) acc[m][n] = vf{};
      for (int64_t smp = 0; smp < Bc; ++smp) {
        const float* xs = xpc + smp * p.L;
        const float* ds = dyT + smp * P * Kp + kb * KB;
        for (int64_t i = 0; i < p.Ho; ++i) {
          const float* xi = xs + i * g.sh * p.Wp;
          for (int64_t j = 0; j < p.Wo; ++j, ds += Kp) {
            const float* xq = xi + j * g.sw;
            vf d[NVK];
            for (int n = 0; n < NVK; ++n) d[n] = loadu(ds + n * VL);
            for (int m = 0; m < TR; ++m) {
              const vf xv = splat(xq[off[m]]);
              for (int n = 0; n < NVK; ++n) acc[m][n] = fmadd(xv, d[n], acc[m][n]);
            }
          }
        }
      }
      for (int m = 0; m < TR; ++m)
        for (int n = 0; n < NVK; ++n) storeu(&tile[m][n * VL], acc[m][n]);
      const int64_t kn = std::min<int64_t>(KB, K - kb * KB);
      const int nr = (int)std::min<int64_t>(TR, R - rt * TR);
      for (int64_t kk = 0; kk < kn; ++kk) {
        float* row = target + (kb * KB + kk) * R + rt * TR;
        for (int m = 0; m < nr; ++m) row[m] += tile[m][kk];
      }
    }
  });
}

void cv_wgrad_any(int nvk, const float* xpc, const float* dyT, float* target, const Padded& p, int64_t Bc,
                  const ConvGeom& g) {
  switch (nvk) {
    case 2: cv_wgrad<2>(xpc, dyT, target, p, Bc, g); break;
    case 3: cv_wgrad<3>(xpc, dyT, target, p, Bc, g); break;
    default: cv_wgrad<4>(xpc, dyT, target, p, Bc, g); break;
  }
}

// ---- path 2 on AVX-512, 3×3: channel-blocked inputs ------------------------
// The same sums as cv_conv for 3×3 taps, dilation 1, stride 1 or 2, from
// inputs copied into blocks of VL channels interleaved (as oneDNN's
// nChw16c):
//   xb[((cb·Bc + s)·L + yy·Wp + xx)·VL + ci] = x̃[s, cb·VL + ci, yy − ph, xx − pw]
// (zero past Ci and in the padding), weights
//   wb[kb][cb][u][v][ci][KB] = W[kb·KB + m, cb·VL + ci, u, v],
// and a tile of BW vectors of output channels (KB = BW·VL) × TW positions of
// one output row. Then every input a tile reads sits at a compile-time
// offset from one pointer per input-channel block: channel ci at +ci, tap
// (u, v) of position m at +((u·Wp) + m·SW + v)·VL with u·Wp·VL the one
// run-time term, so the nine taps unroll into straight-line loads and
// fused multiply-adds with no address arithmetic (NCHW planes need a pointer
// per position). Measured on an Emerald Rapids core: 80–93% of its FMA peak
// in L1 against 60–75% for cv_conv on the same layers.

// dst ← the Bc samples' planes of src [Bc, Ci, H, W] inside zero margins
// (top, left; planes of Hd×Wd, Ld = Hd·Wd) as blocks of VL interleaved
// channels: dst[((cb·Bc + s)·Ld + (y + top)·Wd + x + left)·VL + ci].
void pad_blocked(const float* src, int64_t Ci, int64_t H, int64_t W, int64_t top, int64_t left, int64_t Hd,
                 int64_t Wd, int64_t Bc, float* dst) {
  const int64_t cb_n = ceil_div(Ci, VL), plane = H * W, Ld = Hd * Wd, right = Wd - W - left;
  parallel_for(cb_n * Bc, 1, [&](int64_t a, int64_t b) {
    for (int64_t idx = a; idx < b; ++idx) {
      const int64_t cb = idx / Bc, smp = idx - cb * Bc, cn = std::min<int64_t>(VL, Ci - cb * VL);
      float* d = dst + idx * Ld * VL;
      const float* sc = src + (smp * Ci + cb * VL) * plane;
      zero_run(d, (top * Wd + left) * VL);
      for (int64_t y = 0; y < H; ++y) {
        float* dr = d + ((y + top) * Wd + left) * VL;
#if defined(__AVX512F__)
        for (int64_t x0 = 0; x0 < W; x0 += 16)
          transpose16(sc + y * W + x0, plane, (int)std::min<int64_t>(16, W - x0), (int)cn, dr + x0 * VL);
#else
        for (int64_t x = 0; x < W; ++x)
          for (int64_t ci = 0; ci < VL; ++ci) dr[x * VL + ci] = ci < cn ? sc[ci * plane + y * W + x] : 0.0f;
#endif
        zero_run(dr + W * VL, (y + 1 < H ? right + left : right + (Hd - H - top) * Wd) * VL);
      }
    }
  });
}
void pad_blocked(const float* src, const Padded& p, int64_t Bc, float* dst) {
  pad_blocked(src, p.Ci, p.H, p.W, p.ph, p.pw, p.Hp, p.Wp, Bc, dst);
}

// Packs W [K, C, 3, 3] for the blocked kernels as wb[ob][ib][u][v][i][KB] =
// W'[ob·KB + m, ib·VL + i, u, v], KB = bw·VL (blocked_bw), zero past the
// channels, where W' [outputs, inputs, 3, 3] is
//   W                                       blk_conv's forward (outputs K)
//   W'[c, k, u, v] = W[k, c, 2 − u, 2 − v]  blk_conv's stride-1 input gradient (flip)
//   W'[c, k, u, v] = W[k, c, u, v]          blk_tconv's stride-2 input gradient
void pack_weights_blk(const float* w, const ConvGeom& g, bool to_input, bool flip, int bw, float* wb) {
  const int64_t Ko = to_input ? g.C : g.K, Ci = to_input ? g.K : g.C, KB = bw * VL;
  const int64_t ib_n = ceil_div(Ci, VL), ob_n = ceil_div(Ko, KB);
  parallel_for(ob_n * ib_n, 1, [&](int64_t a, int64_t b) {
    for (int64_t idx = a; idx < b; ++idx) {
      const int64_t ob = idx / ib_n, ib = idx - ob * ib_n;
      float* d = wb + idx * 9 * VL * KB;
      for (int64_t t = 0; t < 9; ++t)
        for (int64_t i = 0; i < VL; ++i)
          for (int64_t m = 0; m < KB; ++m) {
            const int64_t o = ob * KB + m, c = ib * VL + i;
            float v = 0.0f;
            if (o < Ko && c < Ci) v = to_input ? w[(c * g.C + o) * 9 + (flip ? 8 - t : t)] : w[(o * g.C + c) * 9 + t];
            d[(t * VL + i) * KB + m] = v;
          }
    }
  });
}

// o[k·P + m] = tile[m·ld + k] for m < n positions and k < kn channels: a
// tile of positions × channels transposed into NCHW output rows, in 16×16
// register blocks on AVX-512 (scalar stores cost ~20% of a 16-channel
// layer's forward).
void store_tile(const float* tile, int64_t ld, int n, int64_t kn, float* o, int64_t P) {
#if defined(__AVX512F__)
  for (int64_t k0 = 0; k0 < kn; k0 += 16)
    transpose16(tile + k0, ld, (int)std::min<int64_t>(16, kn - k0), n, o + k0 * P, P, n);
#else
  for (int64_t kk = 0; kk < kn; ++kk)
    for (int m = 0; m < n; ++m) o[kk * P + m] = tile[m * ld + kk];
#endif
}

// One tile: out[s, k, i, j0 + m] (+)= Σ over the input channels and taps,
// k ∈ [kb·KB, kb·KB + kn), m < TW, KB = BW·VL. x0 points at input block 0
// of the tile's window (row i·SW, column j0·SW of sample s's padded plane).
template <int BW, int TW, int SW>
void blk_tile(const float* x0, int64_t cstride, int64_t rstride, const float* __restrict w, int64_t cb_n,
              float* o, int64_t P, int64_t kn, const float* bias) {
  constexpr int KBB = BW * VL;
  vf acc[TW][BW];
  for (int m = 0; m < TW; ++m)
    for (int n = 0; n < BW; ++n) acc[m][n] = vf{};
  for (int64_t cb = 0; cb < cb_n; ++cb, x0 += cstride, w += 9 * VL * KBB) {
    for (int ci = 0; ci < VL; ++ci) {
#pragma GCC unroll 3
      for (int u = 0; u < 3; ++u) {
        const float* xr = x0 + u * rstride + ci;
#pragma GCC unroll 3
        for (int v = 0; v < 3; ++v) {
          const float* wt = w + ((u * 3 + v) * VL + ci) * KBB;
          vf wv[BW];
          for (int n = 0; n < BW; ++n) wv[n] = loadu(wt + n * VL);
#pragma GCC unroll 16
          for (int m = 0; m < TW; ++m) {
            const vf xv = splat(xr[(m * SW + v) * VL]);
            for (int n = 0; n < BW; ++n) acc[m][n] = fmadd(xv, wv[n], acc[m][n]);
          }
        }
      }
    }
  }
  alignas(64) float tile[TW][KBB];
  alignas(64) float bv[KBB] = {};
  if (bias)
    for (int64_t kk = 0; kk < kn; ++kk) bv[kk] = bias[kk];
  for (int m = 0; m < TW; ++m)
    for (int n = 0; n < BW; ++n) storeu(&tile[m][n * VL], acc[m][n] + loadu(bv + n * VL));
  store_tile(&tile[0][0], KBB, TW, kn, o, P);
}

// blk_tile<BW, TW, SW> for a run-time width 1 ≤ tw ≤ 16/BW: a table of the
// instances, built at compile time.
using BlkTileFn = void (*)(const float*, int64_t, int64_t, const float*, int64_t, float*, int64_t, int64_t,
                           const float*);
template <int BW, int SW, int... T>
constexpr std::array<BlkTileFn, sizeof...(T)> blk_tiles(std::integer_sequence<int, T...>) {
  return {&blk_tile<BW, T + 1, SW>...};
}
template <int BW, int SW>
BlkTileFn blk_tile_for(int64_t tw) {
  static constexpr auto table = blk_tiles<BW, SW>(std::make_integer_sequence<int, 16 / BW>{});
  return table[tw - 1];
}
BlkTileFn blk_tile_fn(int bw, int64_t s, int64_t tw) {
  if (bw == 1) return s == 1 ? blk_tile_for<1, 1>(tw) : blk_tile_for<1, 2>(tw);
  if (bw == 4) return s == 1 ? blk_tile_for<4, 1>(tw) : blk_tile_for<4, 2>(tw);
  return s == 1 ? blk_tile_for<2, 1>(tw) : blk_tile_for<2, 2>(tw);
}

// out [Bc][Ko][Ho·Wo] = bias + the 3×3 convolution (stride s) of a chunk's
// blocked planes xb with wb (pack_weights_blk). A row of Wo outputs is cut
// into tiles of near-equal width (at most 16/BW: 28 → 4 × 7, not 3 × 8 + 4);
// output-channel blocks innermost, so a tile's inputs stay in L1.
void blk_conv(const float* xb, const Padded& p, int64_t Bc, const float* wb, const float* bias, float* out,
              int64_t Ko, int64_t s, int bw) {
  const int64_t KBB = bw * VL, P = p.Ho * p.Wo, cb_n = ceil_div(p.Ci, VL), kb_n = ceil_div(Ko, KBB);
  const int64_t tw = blocked_tile_width(p.Wo, bw), nj = ceil_div(p.Wo, tw);
  const BlkTileFn full = blk_tile_fn(bw, s, tw), last = blk_tile_fn(bw, s, p.Wo - (nj - 1) * tw);
  const int64_t cstride = Bc * p.L * VL, rstride = p.Wp * VL;
  const int64_t rows = Bc * p.Ho * nj, tiles = rows * kb_n;
  // Output-channel blocks innermost keeps a tile's inputs in L1 while all
  // the weights pass; once the weights outgrow L2 (wide layers) they would
  // come from L3 for every row of tiles, so then each block of weights
  // serves every row of the chunk in turn.
  const bool kb_outer = kb_n * cb_n * 9 * VL * KBB > kBlockedWeightsL2;
  const int64_t grain = std::max<int64_t>(1, (kGrain * 16) / std::max<int64_t>(1, cb_n * 9 * VL * KBB * tw));
  parallel_for(tiles, grain, [&](int64_t a, int64_t b) {
    for (int64_t idx = a; idx < b; ++idx) {
      int64_t r = kb_outer ? idx % rows : idx / kb_n;
      const int64_t kb = kb_outer ? idx / rows : idx % kb_n;
      const int64_t jt = r % nj;
      r /= nj;
      const int64_t i = r % p.Ho, smp = r / p.Ho;
      const int64_t j0 = jt * tw, kn = std::min<int64_t>(KBB, Ko - kb * KBB);
      const float* x0 = xb + (smp * p.L + i * s * p.Wp + j0 * s) * VL;
      const float* w = wb + kb * cb_n * 9 * VL * KBB;
      float* o = out + (smp * Ko + kb * KBB) * P + i * p.Wo + j0;
      const float* bk = bias ? bias + kb * KBB : nullptr;
      (jt + 1 < nj ? full : last)(x0, cstride, rstride, w, cb_n, o, P, kn, bk);
    }
  });
}

// target [K, C·9] += the weight gradient of one chunk from its blocked planes
// xb (pad_blocked) and dyT [Bc][P][Kp] (transpose_dy, Kp = ⌈K⌉ to WTK):
//   dW[k, cb·VL + ci, u, v] += Σ_{s,i,j} dyT[s][i·Wo + j][k] · xb[cb][s][i·S + u][j·S + v][ci]
// A tile is one input block cb, one kernel row u and WTK output channels:
// 3 × WTK accumulators, each a vector over the VL input channels, so per
// position three aligned vector loads of x (taps v = 0, 1, 2, adjacent in
// the blocked layout), WTK broadcasts of dy and 3·WTK fused multiply-adds,
// all at compile-time offsets. The tile sums over the whole chunk, then adds
// its 3·WTK·VL sums into target.
template <int SW>
void blk_wgrad_tile(const float* xb, const float* dyT, float* target, const Padded& p, int64_t Bc, int64_t C,
                    int64_t K, int64_t Kp, int64_t cb, int64_t u, int64_t kg) {
  vf acc[3][WTK];
  for (int v = 0; v < 3; ++v)
    for (int kk = 0; kk < WTK; ++kk) acc[v][kk] = vf{};
  const int64_t P = p.Ho * p.Wo;
  for (int64_t smp = 0; smp < Bc; ++smp)
    for (int64_t i = 0; i < p.Ho; ++i) {
      const float* xr = xb + ((cb * Bc + smp) * p.L + (i * SW + u) * p.Wp) * VL;
      const float* dr = dyT + (smp * P + i * p.Wo) * Kp + kg * WTK;
      for (int64_t j = 0; j < p.Wo; ++j, xr += SW * VL, dr += Kp) {
        const vf x0 = loadu(xr), x1 = loadu(xr + VL), x2 = loadu(xr + 2 * VL);
#pragma GCC unroll 8
        for (int kk = 0; kk < WTK; ++kk) {
          const vf d = splat(dr[kk]);
          acc[0][kk] = fmadd(x0, d, acc[0][kk]);
          acc[1][kk] = fmadd(x1, d, acc[1][kk]);
          acc[2][kk] = fmadd(x2, d, acc[2][kk]);
        }
      }
    }
  alignas(64) float sums[VL];
  const int64_t cn = std::min<int64_t>(VL, C - cb * VL), kn = std::min<int64_t>(WTK, K - kg * WTK);
  for (int64_t kk = 0; kk < kn; ++kk)
    for (int v = 0; v < 3; ++v) {
      storeu(sums, acc[v][kk]);
      float* t = target + ((kg * WTK + kk) * C + cb * VL) * 9 + u * 3 + v;
      for (int64_t ci = 0; ci < cn; ++ci) t[ci * 9] += sums[ci];
    }
}

void blk_wgrad(const float* xb, const float* dyT, float* target, const Padded& p, int64_t Bc, const ConvGeom& g) {
  const int64_t cb_n = ceil_div(g.C, VL), kg_n = ceil_div(g.K, WTK), Kp = round_up(g.K, WTK);
  // Tiles write disjoint entries of target: split freely.
  parallel_for(cb_n * 3 * kg_n, 1, [&](int64_t a, int64_t b) {
    for (int64_t idx = a; idx < b; ++idx) {
      const int64_t kg = idx % kg_n, u = (idx / kg_n) % 3, cb = idx / (3 * kg_n);
      if (g.sh == 1)
        blk_wgrad_tile<1>(xb, dyT, target, p, Bc, g.C, g.K, Kp, cb, u, kg);
      else
        blk_wgrad_tile<2>(xb, dyT, target, p, Bc, g.C, g.K, Kp, cb, u, kg);
    }
  });
}

#if defined(__AVX512F__)
// ---- path 5's weight gradient from channel-blocked planes (AVX-512) --------
//   dW[k, c] += Σ_q dyT[q][k] · xs[c][q]   over a chunk's Q = Bc·P positions
// with the subsampled planes blocked, xb[cb][q][ci] (subsample_blocked), and
// dyT [Q][Kp] (transpose_dy). A tile is NB input blocks × WTK output
// channels: NB·WTK accumulators, each a vector over 16 input channels, so
// per position NB aligned loads of x, WTK broadcasts of dy and NB·WTK fused
// multiply-adds, and the sums are whole vectors of dW's rows (no sum across
// lanes; path 1's tiles accumulate along positions and stream the chunk's
// rows per tile, measured 1.3–1.7× slower on ResNet-18's shortcuts).

// xb[((cb·Bc + s)·P + p)·VL + ci] = x[s, cb·VL + ci, i·sh, j·sw] (0 past C),
// through tmp [C, P]: one sample's subsampled planes.
void subsample_blocked(const float* src, const ConvGeom& g, int64_t Bc, float* tmp, float* dst) {
  const int64_t P = g.Ho * g.Wo, cb_n = ceil_div(g.C, VL);
  for (int64_t s = 0; s < Bc; ++s) {
    subsample_planes(src + s * g.C * g.H * g.W, g, 1, 0, tmp);
    parallel_for(cb_n, 1, [&](int64_t a, int64_t b) {
      for (int64_t cb = a; cb < b; ++cb) {
        const int cn = (int)std::min<int64_t>(VL, g.C - cb * VL);
        float* d = dst + (cb * Bc + s) * P * VL;
        for (int64_t p0 = 0; p0 < P; p0 += 16)
          transpose16(tmp + cb * VL * P + p0, P, (int)std::min<int64_t>(16, P - p0), cn, d + p0 * VL);
      }
    });
  }
}

template <int NB>
void sub_wgrad_tile(const float* xb, const float* dyT, float* target, int64_t Q, int64_t C, int64_t K, int64_t Kp,
                    int64_t cb0, int64_t kg) {
  vf acc[NB][WTK];
  for (int b = 0; b < NB; ++b)
    for (int kk = 0; kk < WTK; ++kk) acc[b][kk] = vf{};
  const float* xr = xb + cb0 * Q * VL;
  const float* dr = dyT + kg * WTK;
  for (int64_t q = 0; q < Q; ++q, xr += VL, dr += Kp) {
    vf xv[NB];
    for (int b = 0; b < NB; ++b) xv[b] = loadu(xr + b * Q * VL);
#pragma GCC unroll 8
    for (int kk = 0; kk < WTK; ++kk) {
      const vf d = splat(dr[kk]);
      for (int b = 0; b < NB; ++b) acc[b][kk] = fmadd(xv[b], d, acc[b][kk]);
    }
  }
  const int64_t kn = std::min<int64_t>(WTK, K - kg * WTK);
  for (int64_t kk = 0; kk < kn; ++kk)
    for (int b = 0; b < NB; ++b) {
      const int64_t c0 = (cb0 + b) * VL, cn = std::min<int64_t>(VL, C - c0);
      float* t = target + (kg * WTK + kk) * C + c0;
      if (cn == VL) {
        storeu(t, loadu(t) + acc[b][kk]);
      } else {
        alignas(64) float sums[VL];
        storeu(sums, acc[b][kk]);
        for (int64_t ci = 0; ci < cn; ++ci) t[ci] += sums[ci];
      }
    }
}

// target [K, C] += the chunk's dW; tiles write disjoint entries.
void sub_wgrad(const float* xb, const float* dyT, float* target, int64_t Q, const ConvGeom& g) {
  constexpr int64_t NB = 3;
  const int64_t cb_n = ceil_div(g.C, VL), cg_n = ceil_div(cb_n, NB), kg_n = ceil_div(g.K, WTK), Kp = round_up(g.K, WTK);
  parallel_for(cg_n * kg_n, 1, [&](int64_t a, int64_t b) {
    for (int64_t idx = a; idx < b; ++idx) {
      const int64_t kg = idx % kg_n, cb0 = idx / kg_n * NB, nb = std::min(NB, cb_n - cb0);
      if (nb == 3)
        sub_wgrad_tile<3>(xb, dyT, target, Q, g.C, g.K, Kp, cb0, kg);
      else if (nb == 2)
        sub_wgrad_tile<2>(xb, dyT, target, Q, g.C, g.K, Kp, cb0, kg);
      else
        sub_wgrad_tile<1>(xb, dyT, target, Q, g.C, g.K, Kp, cb0, kg);
    }
  });
}
#endif

// ---- path 2, bwd data with strides: the transposed convolution -------------
// dx[c, y, x] = Σ_k Σ_{u, v} W[k, c, u, v] · dy[k, (y + ph − u·dh)/sh, (x + pw − v·dw)/sw]
// over the taps whose divisions are exact. The taps that reach (y, x)
// depend on y mod sh and x mod sw only, so a tile holds TP positions of one
// row spaced by sw (x = x0 + m·sw): they share their taps, and read dy at
// consecutive columns j0 + m. Channel-vectorized as cv_conv (NVK vectors of
// KB input-gradient channels), dy zero-padded by the margins; every dx
// position belongs to exactly one tile (0 where no tap reaches it).

// The same transposed convolution from dy in channel blocks (AVX-512, 3×3,
// dilation 1, stride 2 on both axes, C and K ≥ VL): dy inside its margins as
// pad_blocked lays it out, dyb[kb][Hd][Wd][VL] (one sample), weights
//   wbt[cb][kb][u][v][k][KB] = W[kb·VL + k, cb·KB + m, u, v]   (KB = BW·VL;
//   pack_weights_blk, to_input without flip)
// and a tile of TW positions x = xf + 2·(m0 + m) of one dx row y: they share
// their taps (at most 2 × 2), and tap (u, v) reads dy row (y + ph − u)/2,
// columns (xf + pw − v)/2 + m0 + m: per tap one pointer, every position and
// dy channel at a compile-time offset from it, as in blk_tile.

// One tile: dx[c, y, xf + 2·(m0 + m)] for c ∈ [cb·KB, cb·KB + cn), m < TW,
// from the taps whose dy pointers (kb = 0) and weight offsets are given.
template <int BW, int TW>
void blk_ttile(const float* const* xt, const int64_t* wt, int nt, int64_t kstride, const float* __restrict w,
               int64_t kb_n, float* o, int64_t plane, int64_t cn) {
  constexpr int KB = BW * VL;
  vf acc[TW][BW];
  for (int m = 0; m < TW; ++m)
    for (int n = 0; n < BW; ++n) acc[m][n] = vf{};
  for (int64_t kb = 0; kb < kb_n; ++kb, w += 9 * VL * KB)
    for (int t = 0; t < nt; ++t) {
      const float* xr = xt[t] + kb * kstride;
      const float* wk = w + wt[t] * VL * KB;
      for (int k = 0; k < VL; ++k, wk += KB) {
        vf wv[BW];
        for (int n = 0; n < BW; ++n) wv[n] = loadu(wk + n * VL);
#pragma GCC unroll 16
        for (int m = 0; m < TW; ++m) {
          const vf xv = splat(xr[m * VL + k]);
          for (int n = 0; n < BW; ++n) acc[m][n] = fmadd(xv, wv[n], acc[m][n]);
        }
      }
    }
  alignas(64) float tile[TW][KB];
  for (int m = 0; m < TW; ++m)
    for (int n = 0; n < BW; ++n) storeu(&tile[m][n * VL], acc[m][n]);
  for (int64_t cc = 0; cc < cn; ++cc) {
    float* dst = o + cc * plane;
    for (int m = 0; m < TW; ++m) dst[2 * m] = tile[m][cc];
  }
}

using BlkTTileFn = void (*)(const float* const*, const int64_t*, int, int64_t, const float*, int64_t, float*, int64_t,
                            int64_t);
template <int BW, int... T>
constexpr std::array<BlkTTileFn, sizeof...(T)> blk_ttiles(std::integer_sequence<int, T...>) {
  return {&blk_ttile<BW, T + 1>...};
}
BlkTTileFn blk_ttile_fn(int bw, int64_t tw) {
  static constexpr auto one = blk_ttiles<1>(std::make_integer_sequence<int, 16>{});
  static constexpr auto two = blk_ttiles<2>(std::make_integer_sequence<int, 8>{});
  static constexpr auto four = blk_ttiles<4>(std::make_integer_sequence<int, 4>{});
  return bw == 1 ? one[tw - 1] : bw == 4 ? four[tw - 1] : two[tw - 1];
}

// dx [Bc, C, H, W] of a chunk from its blocked dy (dyb, pad_blocked inside margins mg).
void blk_tconv(const float* dyb, const Margins& mg, int64_t Bc, const float* wbt, float* dx, const ConvGeom& g, int bw) {
  const int64_t KB = bw * VL, cb_n = ceil_div(g.C, KB), kb_n = ceil_div(g.K, VL), plane = g.H * g.W;
  const int64_t kstride = Bc * mg.L * VL;
  // Per sample, row y, phase xf ∈ {0, 1} and tile of the phase's ⌈(W − xf)/2⌉ positions.
  const int64_t tw = blocked_tile_width(tconv_row(g), bw), nj = ceil_div(tconv_row(g), tw);
  const int64_t rows = Bc * g.H * 2 * nj;
  const bool cb_outer = cb_n * kb_n * 9 * VL * KB > kBlockedWeightsL2;  // as in blk_conv
  parallel_for(rows * cb_n, 1, [&](int64_t a, int64_t b) {
    for (int64_t idx = a; idx < b; ++idx) {
      int64_t r = cb_outer ? idx % rows : idx / cb_n;
      const int64_t cb = cb_outer ? idx / rows : idx % cb_n;
      const int64_t jt = r % nj;
      r /= nj;
      const int64_t xf = r % 2, y = (r / 2) % g.H, smp = r / (2 * g.H);
      const float* dys = dyb + smp * mg.L * VL;
      const int64_t npos = ceil_div(g.W - xf, 2), m0 = jt * tw;
      if (m0 >= npos) continue;  // (xf = 1 of an odd W has one position fewer)
      const int64_t n = std::min(tw, npos - m0);
      const float* xt[4];
      int64_t wt[4];
      int nt = 0;
      for (int64_t u = 0; u < 3; ++u) {
        const int64_t ty = y + g.ph - u;
        if (ty % 2 != 0) continue;
        for (int64_t v = 0; v < 3; ++v) {
          const int64_t tx = xf + g.pw - v;
          if (tx % 2 != 0) continue;
          xt[nt] = dys + ((ty / 2 + mg.top) * mg.Wd + tx / 2 + mg.left + m0) * VL;
          wt[nt++] = u * 3 + v;
        }
      }
      const int64_t cn = std::min<int64_t>(KB, g.C - cb * KB);
      blk_ttile_fn(bw, n)(xt, wt, nt, kstride, wbt + cb * kb_n * 9 * VL * KB, kb_n,
                          dx + (smp * g.C + cb * KB) * plane + y * g.W + xf + 2 * m0, plane, cn);
    }
  });
}

// wpt[cb][u][v][k][KB] = W[k, cb·KB + m, u, v] (zero past C).
void pack_weights_t(const float* w, const ConvGeom& g, int64_t KB, float* wpt) {
  const int64_t khw = g.kh * g.kw, cb_n = ceil_div(g.C, KB);
  parallel_for(cb_n * khw, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, g.K * KB)), [&](int64_t a, int64_t b) {
    for (int64_t idx = a; idx < b; ++idx) {
      const int64_t cb = idx / khw, t = idx - cb * khw;
      float* d = wpt + idx * g.K * KB;
      for (int64_t k = 0; k < g.K; ++k)
        for (int64_t m = 0; m < KB; ++m) {
          const int64_t c = cb * KB + m;
          d[k * KB + m] = c < g.C ? w[(k * g.C + c) * khw + t] : 0.0f;
        }
    }
  });
}

// dst [K, Hd, Wd] ← one sample's dy [K, Ho, Wo] inside its zero margins.
void pad_margins(const float* dy, const ConvGeom& g, const Margins& mg, float* dst) {
  parallel_for(g.K, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, mg.L)), [&](int64_t a, int64_t b) {
    for (int64_t k = a; k < b; ++k) {
      float* d = dst + k * mg.L;
      std::memset(d, 0, sizeof(float) * (size_t)mg.L);
      const float* s = dy + k * g.Ho * g.Wo;
      for (int64_t i = 0; i < g.Ho; ++i)
        std::memcpy(d + (i + mg.top) * mg.Wd + mg.left, s + i * g.Wo, sizeof(float) * (size_t)g.Wo);
    }
  });
}

// One row's tiles: (x0's residue class start xf, first index m0) pairs.
struct RowTile {
  int64_t xf, m0;
};

template <int NVK>
void cv_tconv(const float* dyp, const Margins& mg, const float* wpt, float* dxn, const ConvGeom& g,
              const RowTile* rts, int64_t nrt) {
  constexpr int KB = NVK * VL, TP = ACC / NVK;
  const int64_t cb_n = ceil_div(g.C, KB), plane = g.H * g.W;
  const int64_t grain = std::max<int64_t>(1, (kGrain * 16) / std::max<int64_t>(1, g.K * g.kh * g.kw * KB * TP));
  parallel_for(g.H * nrt * cb_n, grain, [&](int64_t a, int64_t b) {
    alignas(64) float tile[TP][KB];
    for (int64_t idx = a; idx < b; ++idx) {
      const int64_t cb = idx % cb_n, rest = idx / cb_n, y = rest / nrt, t = rest - y * nrt;
      const int64_t xf = rts[t].xf, m0 = rts[t].m0, x0 = xf + m0 * g.sw;
      const int np = (int)std::min<int64_t>(TP, ceil_div(g.W - xf, g.sw) - m0);
      int64_t mo[TP];
      for (int m = 0; m < TP; ++m) mo[m] = std::min(m, np - 1);  // past the row: a repeat, dropped
      vf acc[TP][NVK];
      for (int m = 0; m < TP; ++m)
        for (int n = 0; n < NVK; ++n) acc[m][n] = vf{};
      for (int64_t u = 0; u < g.kh; ++u) {
        const int64_t ty = y + g.ph - u * g.dh;
        if (ty % g.sh != 0) continue;
        const int64_t row = (ty / g.sh + mg.top) * mg.Wd;
        for (int64_t v = 0; v < g.kw; ++v) {
          const int64_t tx = x0 + g.pw - v * g.dw;
          if (tx % g.sw != 0) continue;
          const float* src = dyp + row + tx / g.sw + mg.left;
          const float* __restrict w = wpt + ((cb * g.kh + u) * g.kw + v) * g.K * KB;
          for (int64_t k = 0; k < g.K; ++k, w += KB, src += mg.L) {
            vf wv[NVK];
            for (int n = 0; n < NVK; ++n) wv[n] = loadu(w + n * VL);
            for (int m = 0; m < TP; ++m) {
              const vf dv = splat(src[mo[m]]);
              for (int n = 0; n < NVK; ++n) acc[m][n] = fmadd(dv, wv[n], acc[m][n]);
            }
          }
        }
      }
      for (int m = 0; m < TP; ++m)
        for (int n = 0; n < NVK; ++n) storeu(&tile[m][n * VL], acc[m][n]);
      const int64_t cn = std::min<int64_t>(KB, g.C - cb * KB);
      for (int64_t cc = 0; cc < cn; ++cc) {
        float* dst = dxn + (cb * KB + cc) * plane + y * g.W + x0;
        for (int m = 0; m < np; ++m) dst[m * g.sw] = tile[m][cc];
      }
    }
  });
}

void cv_tconv_any(int nvk, const float* dyp, const Margins& mg, const float* wpt, float* dxn, const ConvGeom& g,
                  const RowTile* rts, int64_t nrt) {
  switch (nvk) {
    case 2: cv_tconv<2>(dyp, mg, wpt, dxn, g, rts, nrt); break;
    case 3: cv_tconv<3>(dyp, mg, wpt, dxn, g, rts, nrt); break;
    default: cv_tconv<4>(dyp, mg, wpt, dxn, g, rts, nrt); break;
  }
}

// ---- path 3: im2col + gemm ----------------------------------------------------

// The valid output columns [j0, j1) of a kernel tap whose input column is
// j·s + o: 0 ≤ j·s + o < W.
inline void valid_range(int64_t o, int64_t s, int64_t W, int64_t n_out, int64_t* j0, int64_t* j1) {
  const int64_t lo = o >= 0 ? 0 : (-o + s - 1) / s;          // ⌈−o/s⌉
  const int64_t hi = W - o <= 0 ? 0 : (W - o + s - 1) / s;  // ⌈(W−o)/s⌉
  *j0 = std::min(lo, n_out);
  *j1 = std::max(*j0, std::min(hi, n_out));
}

// col[r·ld + p] for r < R, p < P, from one sample xn [C, H, W].
void im2col(const float* xn, const ConvGeom& g, float* col, int64_t ld) {
  const int64_t R = g.C * g.kh * g.kw, Wo = g.Wo, Ho = g.Ho;
  const int64_t grain = std::max<int64_t>(1, kGrain / (Ho * Wo));
  parallel_for(R, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t v = r % g.kw, u = (r / g.kw) % g.kh, c = r / (g.kw * g.kh);
      const int64_t oh = u * g.dh - g.ph, ow = v * g.dw - g.pw;
      int64_t j0, j1;
      valid_range(ow, g.sw, g.W, Wo, &j0, &j1);
      const float* xc = xn + c * g.H * g.W;
      float* dst = col + r * ld;
      for (int64_t i = 0; i < Ho; ++i, dst += Wo) {
        const int64_t yy = i * g.sh + oh;
        if (yy < 0 || yy >= g.H) {
          std::memset(dst, 0, sizeof(float) * (size_t)Wo);
          continue;
        }
        const float* src = xc + yy * g.W + ow;  // src[j·sw] = x̃[c, yy, j·sw + ow]
        for (int64_t j = 0; j < j0; ++j) dst[j] = 0.0f;
        if (g.sw == 1) {
          std::memcpy(dst + j0, src + j0, sizeof(float) * (size_t)(j1 - j0));
        } else {
          const int64_t sw = g.sw;
          for (int64_t j = j0; j < j1; ++j) dst[j] = src[j * sw];
        }
        for (int64_t j = j1; j < Wo; ++j) dst[j] = 0.0f;
      }
    }
  });
}

// dxn [C, H, W] = col2im(col): zeroed, then each col entry added to the
// input element it was read from, taps (u, v) in ascending order. Split over
// channels (each owns its plane).
void col2im(const float* col, int64_t ld, const ConvGeom& g, float* dxn) {
  const int64_t Wo = g.Wo, Ho = g.Ho, plane = g.H * g.W;
  const int64_t grain = std::max<int64_t>(1, kGrain / (g.kh * g.kw * Ho * Wo + plane));
  parallel_for(g.C, grain, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      float* dc = dxn + c * plane;
      std::memset(dc, 0, sizeof(float) * (size_t)plane);
      for (int64_t u = 0; u < g.kh; ++u)
        for (int64_t v = 0; v < g.kw; ++v) {
          const int64_t oh = u * g.dh - g.ph, ow = v * g.dw - g.pw;
          int64_t j0, j1;
          valid_range(ow, g.sw, g.W, Wo, &j0, &j1);
          const float* src = col + ((c * g.kh + u) * g.kw + v) * ld;
          for (int64_t i = 0; i < Ho; ++i) {
            const int64_t yy = i * g.sh + oh;
            if (yy < 0 || yy >= g.H) continue;
            float* d = dc + yy * g.W + ow;
            const float* s = src + i * Wo;
            if (g.sw == 1) {
#pragma omp simd
              for (int64_t j = j0; j < j1; ++j) d[j] += s[j];
            } else {
              const int64_t sw = g.sw;
              for (int64_t j = j0; j < j1; ++j) d[j * sw] += s[j];
            }
          }
        }
    }
  });
}

// y[s, k, p] = out[k, s·P + p] (+ b[k]) for the Bc samples of a chunk.
void chunk_to_nchw(const float* out, const float* b, float* y, int64_t Bc, int64_t K, int64_t P) {
  for (int64_t s = 0; s < Bc; ++s)
    for (int64_t k = 0; k < K; ++k) {
      const float* __restrict src = out + k * Bc * P + s * P;
      float* __restrict dst = y + (s * K + k) * P;
      const float bk = b ? b[k] : 0.0f;
      if (b) {
#pragma omp simd
        for (int64_t p = 0; p < P; ++p) dst[p] = src[p] + bk;
      } else {
        std::memcpy(dst, src, sizeof(float) * (size_t)P);
      }
    }
}

// out[k, s·P + p] = dy[s, k, p] for the Bc samples of a chunk.
void nchw_to_chunk(const float* dy, float* out, int64_t Bc, int64_t K, int64_t P) {
  for (int64_t s = 0; s < Bc; ++s)
    for (int64_t k = 0; k < K; ++k)
      std::memcpy(out + k * Bc * P + s * P, dy + (s * K + k) * P, sizeof(float) * (size_t)P);
}

// Samples per chunk of the forward or input-gradient path (ChunkQueue): path
// 2's chunk, path 4's unrolled samples, path 5's flat chunk, blk_tconv's
// chunk (1 on the NCHW transposed path), else one sample.
int64_t chunk_samples(const Plan& pl, bool data) {
  switch (data ? pl.data : pl.fwd) {
    case Path::Channel: return data ? pl.Bd : pl.Bf;
    case Path::Unrolled: return pl.B;
    case Path::Subsampled: return pl.Bs;
    case Path::Transposed: return pl.Bt;
    default: return 1;
  }
}

}  // namespace


int64_t conv2d_workspace_floats(const ConvGeom& g) {
  if (g.N <= 0 || g.K <= 0) return 0;
  const Plan p = plan_of(g);
  const int64_t S = std::min<int64_t>(max_slices(), g.N);
  return p.shared + S * p.slice + (S - 1) * g.K * p.R;
}

void conv2d_forward(const float* x, const float* w, const float* b, float* y, const ConvGeom& g, float* ws) {
  if (g.N <= 0 || g.K <= 0) return;
  const Plan pl = plan_of(g);
  const int64_t P = pl.P, R = pl.R, K = g.K, xs = g.C * g.H * g.W, ys = K * P;
  const int64_t S = slices_now(g.N);
  if (pl.fwd == Path::Spatial || pl.fwd == Path::Subsampled) pack_weights(w, g, false, ws);
  if (pl.fwd == Path::Channel) {
    if (pl.blk_fwd)
      pack_weights_blk(w, g, false, false, pl.bw_fwd, ws);
    else
      pack_weights_cv(w, g, false, pl.nvk_fwd * VL, ws);
  }
  float* slices = ws + pl.shared;
  ChunkQueue chunks(g.N, chunk_samples(pl, false));
  for_slices(S, [&](int64_t s) {
    float* buf = slices + s * pl.slice;
    if (pl.fwd == Path::Channel) {
      chunks.drain([&](int64_t n0, int64_t Bc) {
        if (pl.blk_fwd) {
          pad_blocked(x + n0 * xs, pl.xin, Bc, buf);
          blk_conv(buf, pl.xin, Bc, ws, b, y + n0 * ys, K, g.sh, pl.bw_fwd);
          return;
        }
        pad_planes(x + n0 * xs, pl.xin, Bc, 0, buf);
        cv_conv_any(pl.nvk_fwd, buf, pl.xin, Bc, ws, b, y + n0 * ys, K, g.sh, g.sw, g);
      });
      return;
    }
    if (pl.fwd == Path::Subsampled) {
      chunks.drain([&](int64_t n0, int64_t Bc) {
        const Padded f = flat_planes(g.C, Bc * P, g);
        subsample_planes(x + n0 * xs, g, Bc, f.slack, buf);
        flat_conv(buf, f.L, g.C, ws, b, K, Bc * P, P, y + n0 * ys, buf + padded_floats(f));
      });
      return;
    }
    if (pl.fwd == Path::Spatial) {
      chunks.drain([&](int64_t n, int64_t) {
        pad_planes(x + n * xs, pl.xin, 1, pl.xin.slack, buf);
        spatial_conv(buf, ws, b, y + n * ys, pl.xin, K, g);
      });
      return;
    }
    float* col = buf;
    float* out = col + R * pl.B * P;
    chunks.drain([&](int64_t n0, int64_t Bc) {
      if (pl.fwd == Path::Unrolled)
        for (int64_t t = 0; t < Bc; ++t) im2col(x + (n0 + t) * xs, g, col + t * P, Bc * P);
      const float* A = pl.fwd == Path::Direct ? x + n0 * xs : col;
      if (Bc == 1) {  // straight into y[n0] [K, P]: bias first, then y += W·col
        float* yn = y + n0 * ys;
        if (b)
          for (int64_t k = 0; k < K; ++k) std::fill(yn + k * P, yn + (k + 1) * P, b[k]);
        gemm(false, false, K, P, R, 1.0f, w, R, A, P, b ? 1.0f : 0.0f, yn, P);
      } else {
        gemm(false, false, K, Bc * P, R, 1.0f, w, R, A, Bc * P, 0.0f, out, Bc * P);
        chunk_to_nchw(out, b, y + n0 * ys, Bc, K, P);
      }
    });
  });
}

void conv2d_backward_data(const float* dy, const float* w, float* dx, const ConvGeom& g, float* ws) {
  const int64_t xs = g.C * g.H * g.W;
  if (g.N <= 0 || xs <= 0) return;
  if (g.K <= 0) {  // no output channels: dx = 0
    parallel_for(g.N * xs, 1 << 16, [&](int64_t b, int64_t e) {
      std::memset(dx + b, 0, sizeof(float) * (size_t)(e - b));
    });
    return;
  }
  const Plan pl = plan_of(g);
  const int64_t P = pl.P, R = pl.R, K = g.K, ys = K * P;
  const int64_t S = slices_now(g.N);
  if (pl.data == Path::Spatial || pl.data == Path::Subsampled) pack_weights(w, g, true, ws);
  if (pl.data == Path::Channel) {
    if (pl.blk_data)
      pack_weights_blk(w, g, true, true, pl.bw_data, ws);
    else
      pack_weights_cv(w, g, true, pl.nvk_data * VL, ws);
  }
  if (pl.data == Path::Transposed) {
    if (pl.blk_t)
      pack_weights_blk(w, g, true, false, pl.bw_data, ws);
    else
      pack_weights_t(w, g, pl.nvk_data * VL, ws);
  }
  std::vector<RowTile> row_tiles;  // a row's tiles, the same for every row (path 2 with strides)
  if (pl.data == Path::Transposed && !pl.blk_t) {
    const int64_t TP = ACC / pl.nvk_data;
    for (int64_t xf = 0; xf < std::min(g.sw, g.W); ++xf)
      for (int64_t m0 = 0; m0 < ceil_div(g.W - xf, g.sw); m0 += TP) row_tiles.push_back({xf, m0});
  }
  float* slices = ws + pl.shared;
  ChunkQueue chunks(g.N, chunk_samples(pl, true), true);
  for_slices(S, [&](int64_t s) {
    float* buf = slices + s * pl.slice;
    if (pl.data == Path::Transposed && pl.blk_t) {
      chunks.drain([&](int64_t n0, int64_t Bc) {
        pad_blocked(dy + n0 * ys, g.K, g.Ho, g.Wo, pl.dym.top, pl.dym.left, pl.dym.Hd, pl.dym.Wd, Bc, buf);
        blk_tconv(buf, pl.dym, Bc, ws, dx + n0 * xs, g, pl.bw_data);
      });
      return;
    }
    if (pl.data == Path::Transposed) {
      chunks.drain([&](int64_t n, int64_t) {
        pad_margins(dy + n * ys, g, pl.dym, buf);
        cv_tconv_any(pl.nvk_data, buf, pl.dym, ws, dx + n * xs, g, row_tiles.data(), (int64_t)row_tiles.size());
      });
      return;
    }
    if (pl.data == Path::Channel) {
      chunks.drain([&](int64_t n0, int64_t Bc) {
        if (pl.blk_data) {
          pad_blocked(dy + n0 * ys, pl.dyin, Bc, buf);
          blk_conv(buf, pl.dyin, Bc, ws, nullptr, dx + n0 * xs, g.C, 1, pl.bw_data);
          return;
        }
        pad_planes(dy + n0 * ys, pl.dyin, Bc, 0, buf);
        cv_conv_any(pl.nvk_data, buf, pl.dyin, Bc, ws, nullptr, dx + n0 * xs, g.C, 1, 1, g);
      });
      return;
    }
    if (pl.data == Path::Subsampled) {
      chunks.drain([&](int64_t n0, int64_t Bc) {
        const Padded f = flat_planes(K, Bc * P, g);
        float* dxs = buf + padded_floats(f);
        nchw_to_chunk(dy + n0 * ys, buf, Bc, K, P);
        zero_run(buf + K * Bc * P, f.slack);
        flat_conv(buf, f.L, K, ws, nullptr, g.C, Bc * P, Bc * P, dxs, dxs + g.C * Bc * P);
        for (int64_t t = 0; t < Bc; ++t) upsample_planes(dxs + t * P, Bc * P, g, dx + (n0 + t) * xs);
      });
      return;
    }
    if (pl.data == Path::Spatial) {
      chunks.drain([&](int64_t n, int64_t) {
        pad_planes(dy + n * ys, pl.dyin, 1, pl.dyin.slack, buf);
        implicit_conv(buf, ws, nullptr, dx + n * xs, pl.dyin, g.C, g);
      });
      return;
    }
    float* col = buf;
    float* out = col + R * pl.B * P;
    chunks.drain([&](int64_t n0, int64_t Bc) {
      if (pl.data == Path::Direct) {  // dx[n0] [C, P] = Wᵀ·dy[n0]
        gemm(true, false, R, P, K, 1.0f, w, R, dy + n0 * ys, P, 0.0f, dx + n0 * xs, P);
        return;
      }
      const float* D = dy + n0 * ys;
      if (Bc > 1) {
        nchw_to_chunk(D, out, Bc, K, P);
        D = out;
      }
      gemm(true, false, R, Bc * P, K, 1.0f, w, R, D, Bc * P, 0.0f, col, Bc * P);
      for (int64_t t = 0; t < Bc; ++t) col2im(col + t * P, Bc * P, g, dx + (n0 + t) * xs);
    });
  });
}

void conv2d_backward_weight(const float* dy, const float* x, float* dw, float* db, const ConvGeom& g, float* ws,
                            bool accumulate) {
  const int64_t K = g.K;
  if (K <= 0) return;
  const Plan pl = plan_of(g);
  const int64_t P = pl.P, R = pl.R, xs = g.C * g.H * g.W, ys = K * P, KR = K * R;
  const int64_t S = slices_now(g.N);

  // db[k] (+)= Σ_{n,p} dy[n,k,p], in double; parallel over channels.
  if (db) {
    const int64_t per_k = std::max<int64_t>(1, g.N * P);
    parallel_for(K, std::max<int64_t>(1, kGrain / per_k), [&](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k) {
        double acc = 0.0;
        for (int64_t n = 0; n < g.N; ++n) {
          const float* __restrict d = dy + n * ys + k * P;
          double a = 0.0;
#pragma omp simd reduction(+ : a)
          for (int64_t p = 0; p < P; ++p) a += (double)d[p];
          acc += a;
        }
        db[k] = accumulate ? (float)((double)db[k] + acc) : (float)acc;
      }
    });
  }

  if (g.N <= 0) {  // no samples: dW (+)= 0
    if (!accumulate) std::fill(dw, dw + KR, 0.0f);
    return;
  }
  float* slices = ws + pl.shared;
  float* partials = slices + S * pl.slice;  // slices 1..S−1: [K, R] each
  for_slices(S, [&](int64_t s) {
    float* buf = slices + s * pl.slice;
    float* target = s == 0 ? dw : partials + (s - 1) * KR;
    if (pl.blk_weight) {
      if (s > 0 || !accumulate) std::fill(target, target + KR, 0.0f);
      for_chunks(g.N, S, s, pl.Bw, [&](int64_t n0, int64_t Bc) {
        float* dyT = buf + blocked_channels(g.C) * Bc * pl.xin.L;
        pad_blocked(x + n0 * xs, pl.xin, Bc, buf);
        transpose_dy(dy + n0 * ys, Bc, K, P, round_up(K, WTK), dyT);
        blk_wgrad(buf, dyT, target, pl.xin, Bc, g);
      });
      return;
    }
    if (pl.weight == Path::Channel) {
      if (s > 0 || !accumulate) std::fill(target, target + KR, 0.0f);
      const int64_t Kp = round_up(K, pl.nvk_weight * VL);
      for_chunks(g.N, S, s, pl.Bw, [&](int64_t n0, int64_t Bc) {
        float* dyT = buf + g.C * Bc * pl.xin.L;
        pad_planes(x + n0 * xs, pl.xin, Bc, 0, buf);
        transpose_dy(dy + n0 * ys, Bc, K, P, Kp, dyT);
        cv_wgrad_any(pl.nvk_weight, buf, dyT, target, pl.xin, Bc, g);
      });
      return;
    }
#if defined(__AVX512F__)
    if (pl.blk_sub_w) {
      if (s > 0 || !accumulate) std::fill(target, target + KR, 0.0f);
      const int64_t Kp = round_up(K, WTK);
      for_chunks(g.N, S, s, pl.Bw, [&](int64_t n0, int64_t Bc) {
        float* dyT = buf + blocked_channels(g.C) * Bc * P;
        float* tmp = dyT + Bc * P * Kp;
        subsample_blocked(x + n0 * xs, g, Bc, tmp, buf);
        transpose_dy(dy + n0 * ys, Bc, K, P, Kp, dyT);
        sub_wgrad(buf, dyT, target, Bc * P, g);
      });
      return;
    }
#endif
    if (pl.weight == Path::Spatial || pl.weight == Path::Subsampled) {
      if (s > 0 || !accumulate) std::fill(target, target + KR, 0.0f);
      const bool sub = pl.weight == Path::Subsampled;
      const Padded& xp = sub ? pl.xsub : pl.xin;
#if defined(__AVX512F__)
      if (pl.stem_w) {
        for_chunks(g.N, S, s, pl.Bw, [&](int64_t n0, int64_t Bc) {
          float* dyT = buf + g.C * Bc * xp.L + wgrad_slack(xp, g);
          pad_planes(x + n0 * xs, xp, Bc, wgrad_slack(xp, g), buf);
          transpose_dy(dy + n0 * ys, Bc, K, P, VL, dyT);
          stem_wgrad(buf, dyT, target, xp, Bc, g);
        });
        return;
      }
#endif
      for_chunks(g.N, S, s, pl.Bw, [&](int64_t n0, int64_t Bc) {
        const int64_t Qv = round_up(Bc * xp.L, VL);
        float* dyg = buf + g.C * Bc * xp.L + wgrad_slack(xp, g);
        float* mask = dyg + round_up(K, WMR) * Qv;
        if (sub)
          subsample_planes(x + n0 * xs, g, Bc, wgrad_slack(xp, g), buf);
        else
          pad_planes(x + n0 * xs, xp, Bc, wgrad_slack(xp, g), buf);
        grid_dy(dy + n0 * ys, xp, K, Bc, Qv, dyg, mask);
        implicit_wgrad(buf, dyg, mask, target, xp, Bc, Qv, g);
      });
      return;
    }
    float* col = buf;
    float* out = col + R * pl.B * P;
    float beta = s == 0 && accumulate ? 1.0f : 0.0f;
    for_chunks(g.N, S, s, pl.weight == Path::Direct ? 1 : pl.B, [&](int64_t n0, int64_t Bc) {
      const float* X = x + n0 * xs;  // [R, P] on the 1×1 path
      if (pl.weight == Path::Unrolled) {
        for (int64_t t = 0; t < Bc; ++t) im2col(x + (n0 + t) * xs, g, col + t * P, Bc * P);
        X = col;
      }
      const float* D = dy + n0 * ys;
      if (Bc > 1) {
        nchw_to_chunk(D, out, Bc, K, P);
        D = out;
      }
      // target [K, R] (+)= D [K, Bc·P] · X [R, Bc·P]ᵀ
      gemm(false, true, K, R, Bc * P, 1.0f, D, Bc * P, X, Bc * P, beta, target, R);
      beta = 1.0f;
    });
  });
  if (S > 1) {
    parallel_for(KR, 1 << 14, [&](int64_t i0, int64_t i1) {
      for (int64_t s = 1; s < S; ++s) {
        const float* __restrict p = partials + (s - 1) * KR;
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) dw[i] += p[i];
      }
    });
  }
}

}  // namespace imix::cpu
