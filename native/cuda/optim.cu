// Optimizer steps over one flat parameter buffer on the GPU (formulas as
// native/cpu/optim.cpp). The segment table (seg_offsets/seg_flags, host
// arrays) becomes a device WORK LIST: each segment is cut into items of at
// most kItemElems elements, {begin, end, segment, flags}; one block runs one
// item, so a block's constants (weight decay on/off, LARS trust ratio) are
// uniform and no thread searches for its segment. The list is built and
// uploaded once per (device, layout) and cached (a model's layout does not
// change between steps), so a step uploads nothing.
//  SGD, AdamW: one fused launch over the items.
//  LARS: per-segment norms first — a segmented reduction: one block per item
//        reduces Σp² and Σg'² (double) into a partial per item; a per-segment
//        kernel sums its items' partials in order and fixes the trust ratio
//        (deterministic); then the fused momentum update with trust[segment].
// Elementwise arithmetic is the CPU's float expressions, in the same order.
#include <cmath>
#include <cstring>
#include <mutex>
#include <vector>

#include "../common/optim_math.h"
#include "common.cuh"
#include "kernels.h"

namespace imix::cuda {
namespace {

constexpr int64_t kItemElems = 16384;
constexpr int kOptThreads = 256;

struct Item {
  int64_t begin, end;
  int32_t seg;
  uint32_t flags;
};

// A cached device work list for one (device, n, segment layout).
struct WorkList {
  int device = -1;
  int64_t n = 0, nseg = 0;
  std::vector<int64_t> off;
  std::vector<uint8_t> flags;
  void* block = nullptr;            // pool block: items, then seg_first
  const Item* items = nullptr;      // nitems
  const int32_t* seg_first = nullptr;  // S + 1 item offsets per segment
  int64_t nitems = 0, S = 0;
  uint64_t last_use = 0;
};

std::mutex g_mu;
std::vector<WorkList> g_lists;  // a few per device, least recently used evicted
uint64_t g_clock = 0;
constexpr size_t kMaxLists = 8;

// What a step needs from a cached list (copied out: the cache may change later).
struct Work {
  const Item* items;
  const int32_t* seg_first;
  int64_t nitems, S;
};

Work work_list(int64_t n, const int64_t* off, const uint8_t* flags, int64_t nseg) {
  const int dev = current_device();
  std::lock_guard<std::mutex> lk(g_mu);
  for (WorkList& w : g_lists)
    if (w.device == dev && w.n == n && w.nseg == nseg &&
        (nseg == 0 || (std::memcmp(w.off.data(), off, (size_t)(nseg + 1) * sizeof(int64_t)) == 0 &&
                       std::memcmp(w.flags.data(), flags, (size_t)nseg) == 0))) {
      w.last_use = ++g_clock;
      return {w.items, w.seg_first, w.nitems, w.S};
    }
  WorkList w;
  w.device = dev;
  w.n = n;
  w.nseg = nseg;
  if (nseg > 0) {
    w.off.assign(off, off + nseg + 1);
    w.flags.assign(flags, flags + nseg);
  }
  w.S = nseg > 0 ? nseg : 1;
  std::vector<Item> items;
  std::vector<int32_t> first((size_t)w.S + 1);
  for (int64_t s = 0; s < w.S; ++s) {
    first[(size_t)s] = (int32_t)items.size();
    const int64_t b = nseg > 0 ? off[s] : 0, e = nseg > 0 ? off[s + 1] : n;
    const uint32_t f = nseg > 0 ? flags[s] : 0xffu;
    for (int64_t x = b; x < e; x += kItemElems) items.push_back({x, e - x < kItemElems ? e : x + kItemElems, (int32_t)s, f});
  }
  first[(size_t)w.S] = (int32_t)items.size();
  w.nitems = (int64_t)items.size();
  const size_t ib = items.size() * sizeof(Item), fb = first.size() * sizeof(int32_t);
  w.block = pool_alloc(ib + fb);
  upload(w.block, items.data(), ib);  // (ib is a multiple of 8: seg_first stays aligned)
  upload((char*)w.block + ib, first.data(), fb);
  w.items = (const Item*)w.block;
  w.seg_first = (const int32_t*)((char*)w.block + ib);
  w.last_use = ++g_clock;
  if (g_lists.size() >= kMaxLists) {
    // Evict the least recently used list of this device (its block is
    // returned to this device's pool; later work on the stream may reuse it).
    size_t victim = g_lists.size();
    for (size_t i = 0; i < g_lists.size(); ++i)
      if (g_lists[i].device == dev && (victim == g_lists.size() || g_lists[i].last_use < g_lists[victim].last_use))
        victim = i;
    if (victim < g_lists.size()) {
      pool_free(g_lists[victim].block);
      g_lists.erase(g_lists.begin() + (std::ptrdiff_t)victim);
    }
  }
  g_lists.push_back(std::move(w));
  const WorkList& b = g_lists.back();
  return {b.items, b.seg_first, b.nitems, b.S};
}

// Mode 0: no momentum (p −= lr·g'); 1: momentum; 2: Nesterov. trust: per
// segment (LARS) or null (1).
template <int Mode>
__global__ void __launch_bounds__(kOptThreads)
    momentum_kernel(float* __restrict p, const float* __restrict g, float* __restrict buf, const Item* __restrict items,
                    float lr, float mu, float wd, const float* __restrict trust) {
  const Item it = items[blockIdx.x];
  const float w = (it.flags & kWeightDecay) ? wd : 0.0f;
  const float t = trust ? trust[it.seg] : 1.0f;
  for (int64_t i = it.begin + threadIdx.x; i < it.end; i += kOptThreads) {
    if (Mode == 0)
      p[i] -= lr * (g[i] + w * p[i]);
    else
      momentum_update<Mode == 2>(p[i], g[i], buf[i], lr, mu, w, t);
  }
}

__global__ void __launch_bounds__(kOptThreads)
    lars_partials(const float* __restrict p, const float* __restrict g, const Item* __restrict items, float wd,
                  double2* __restrict part) {
  __shared__ double sh[32];
  const Item it = items[blockIdx.x];
  double pp = 0.0, gg = 0.0;
  if (it.flags & kLarsAdapt) {
    const float w = (it.flags & kWeightDecay) ? wd : 0.0f;
    for (int64_t i = it.begin + threadIdx.x; i < it.end; i += kOptThreads) {
      const double pv = p[i];
      const double gv = g[i] + w * p[i];
      pp += pv * pv;
      gg += gv * gv;
    }
  }
  pp = block_sum(pp, sh);
  gg = block_sum(gg, sh);
  if (threadIdx.x == 0) part[blockIdx.x] = make_double2(pp, gg);
}

__global__ void lars_trust(const double2* __restrict part, const Item* __restrict items,
                           const int32_t* __restrict seg_first, int64_t S, float eta, float* __restrict trust) {
  for (int64_t s = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; s < S; s += (int64_t)gridDim.x * blockDim.x) {
    const int32_t b = seg_first[s], e = seg_first[s + 1];
    float t = 1.0f;
    if (e > b && (items[b].flags & kLarsAdapt)) {
      double pp = 0.0, gg = 0.0;
      for (int32_t k = b; k < e; ++k) {
        pp += part[k].x;
        gg += part[k].y;
      }
      t = lars_trust_ratio(pp, gg, eta);
    }
    trust[s] = t;
  }
}

__global__ void __launch_bounds__(kOptThreads)
    adamw_kernel(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v,
                 const Item* __restrict items, AdamwConsts k, float eps) {
  const Item it = items[blockIdx.x];
  const float decay = (it.flags & kWeightDecay) ? k.decay_wd : 1.0f;
  for (int64_t i = it.begin + threadIdx.x; i < it.end; i += kOptThreads) adamw_update(p[i], g[i], m[i], v[i], k, decay, eps);
}

}  // namespace

void sgd_step(float* param, const float* grad, float* buf, int64_t n, float lr, float momentum, float weight_decay,
              bool nesterov, const int64_t* seg_offsets, const uint8_t* seg_flags, int64_t nseg) {
  if (n <= 0) return;
  const Work w = work_list(n, seg_offsets, seg_flags, nseg);
  if (w.nitems == 0) return;
  const unsigned grid = (unsigned)w.nitems;
  cudaStream_t st = stream();
  if (!buf) momentum_kernel<0><<<grid, kOptThreads, 0, st>>>(param, grad, nullptr, w.items, lr, momentum, weight_decay, nullptr);
  else if (nesterov) momentum_kernel<2><<<grid, kOptThreads, 0, st>>>(param, grad, buf, w.items, lr, momentum, weight_decay, nullptr);
  else momentum_kernel<1><<<grid, kOptThreads, 0, st>>>(param, grad, buf, w.items, lr, momentum, weight_decay, nullptr);
  IMIX_CUDA_LAUNCHED("sgd_step");
}

void lars_step(float* param, const float* grad, float* buf, int64_t n, float lr, float momentum, float weight_decay,
               float eta, bool nesterov, const int64_t* seg_offsets, const uint8_t* seg_flags, int64_t nseg) {
  if (n <= 0) return;
  const Work w = work_list(n, seg_offsets, seg_flags, nseg);
  if (w.nitems == 0) return;
  const unsigned grid = (unsigned)w.nitems;
  cudaStream_t st = stream();
  Scratch part((size_t)w.nitems * sizeof(double2));
  Scratch trust((size_t)w.S * sizeof(float));
  lars_partials<<<grid, kOptThreads, 0, st>>>(param, grad, w.items, weight_decay, part.as<double2>());
  IMIX_CUDA_LAUNCHED("lars_step (norms)");
  lars_trust<<<blocks_for(w.S), kThreads, 0, st>>>(part.as<double2>(), w.items, w.seg_first, w.S, eta,
                                                   trust.as<float>());
  IMIX_CUDA_LAUNCHED("lars_step (trust ratios)");
  if (nesterov)
    momentum_kernel<2><<<grid, kOptThreads, 0, st>>>(param, grad, buf, w.items, lr, momentum, weight_decay, trust.as<float>());
  else
    momentum_kernel<1><<<grid, kOptThreads, 0, st>>>(param, grad, buf, w.items, lr, momentum, weight_decay, trust.as<float>());
  IMIX_CUDA_LAUNCHED("lars_step");
}

void adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, float lr, double beta1, double beta2,
                float eps, float weight_decay, int64_t step, const int64_t* seg_offsets, const uint8_t* seg_flags,
                int64_t nseg) {
  if (n <= 0) return;
  const Work w = work_list(n, seg_offsets, seg_flags, nseg);
  if (w.nitems == 0) return;
  // Host constants exactly as the CPU forms them (one definition).
  const AdamwConsts k = adamw_consts(lr, beta1, beta2, weight_decay, step);
  adamw_kernel<<<(unsigned)w.nitems, kOptThreads, 0, stream()>>>(param, grad, m, v, w.items, k, eps);
  IMIX_CUDA_LAUNCHED("adamw_step");
}

}  // namespace imix::cuda
