// Tests the emulator's race detector (the schedules of emu.h): small kernels
// with a deliberate race, each next to its correct form, run under the
// schedules run.sh runs the kernels under. Each racy form gives a wrong
// result in the schedules meant to catch its kind of race (Caught below);
// most give the right one in the default schedule, i.e. the forward-only
// emulation missed them. Every correct form gives the right result in every
// schedule. The program sets the schedule itself (IMIX_EMU_* are ignored).
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "emu.h"

namespace {

constexpr int kT = 256;

// Thread 0 computes a value the others use: the barrier between the write
// and the reads is what the racy form lacks. Forward runs thread 0 first,
// so the others happen to read the new value.
template <bool Racy>
__global__ void broadcast(const float* x, float* out) {
  __shared__ float total;
  if (threadIdx.x == 0) {
    float s = 0.0f;
    for (int i = 0; i < kT; ++i) s += x[i];
    total = s;
  }
  if (!Racy) __syncthreads();
  out[threadIdx.x] = x[threadIdx.x] / total;
  __syncthreads();
  if (threadIdx.x == 0) total = -1.0f;  // a stale value for the next launch to see
}

// A write-after-read hazard: an in-place suffix sum (Hillis–Steele) in
// shared memory. Each step a thread reads the element o places to its right,
// then adds it to its own; without the barrier between the reads and the
// writes a thread may overwrite its element before the thread o places to its
// left has read it (never in forward order, where the reader runs first).
template <bool Racy>
__global__ void suffix_sum(const float* x, float* out) {
  __shared__ float sh[kT];
  const int t = threadIdx.x;
  sh[t] = x[t];
  __syncthreads();
  for (int o = 1; o < kT; o <<= 1) {
    const float add = t + o < kT ? sh[t + o] : 0.0f;
    if (!Racy) __syncthreads();  // every read of this step before any write
    sh[t] += add;
    __syncthreads();
  }
  out[t] = sh[t];
}

// Warp-synchronous reduction through shared memory: each step reads what
// other lanes wrote in the step before, so each step needs a __syncwarp (a
// GPU's lanes are not guaranteed to run in lockstep). The racy form has none
// inside the loop, so here a lane runs all its steps at once: wrong in every
// order, forward included (the emulation cannot run lanes in lockstep, which
// is what such code silently relies on). The case checks that __syncwarp is
// a barrier in every order.
template <bool Racy>
__global__ void warp_tree(const float* x, float* out) {
  __shared__ float sh[32];
  const int lane = threadIdx.x;
  sh[lane] = x[lane];
  __syncwarp();
  for (int o = 16; o > 0; o >>= 1) {
    float v = lane < o ? sh[lane] + sh[lane + o] : 0.0f;
    if (!Racy) __syncwarp();
    if (lane < o) sh[lane] = v;
    if (!Racy) __syncwarp();
  }
  __syncwarp();
  if (lane == 0) out[0] = sh[0];
}

// A warp's sum, every lane gets it.
__device__ float warp_total(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Two block sums in a row through one shared buffer, as common.cuh's
// block_sum: a warp may fill the buffer for the second sum while another warp
// is still reading the first, unless a barrier comes first. Only a schedule in
// which warps run ahead of each other (skew) sees it: otherwise no warp gets
// past the warp shuffles in between before the others have read.
template <bool Racy>
__global__ void two_block_sums(const float* x, float* out) {
  __shared__ float sh[kT / 32];
  const int t = threadIdx.x, lane = t & 31, wid = t >> 5;
  for (int k = 0; k < 2; ++k) {
    const float v = warp_total(x[k * kT + t]);
    if (!Racy) __syncthreads();  // the previous sum's reads of sh before this one's writes
    if (lane == 0) sh[wid] = v;
    __syncthreads();
    out[k * kT + t] = warp_total(lane < kT / 32 ? sh[lane] : 0.0f);
  }
}

// Blocks shift an array left by one, in place: each block reads its
// elements' right neighbours, then writes. The first element a block reads
// belongs to the next block: correct only if that block has not run yet,
// i.e. a race between blocks (the racy form; the correct one is out of place).
template <bool Racy>
__global__ void shift_left(const float* x, float* y, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const float* src = Racy ? y : x;
  const float v = i + 1 < n ? src[i + 1] : 0.0f;
  __syncthreads();  // the block's own reads before its writes
  if (i < n) y[i] = v;
}

int failures = 0, passes = 0;
void check(bool ok, const std::string& what) {
  if (ok) ++passes;
  else ++failures;
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
}

// Which schedules catch a racy form.
enum class Caught {
  Reordered,  // every schedule but forward without skew (which runs the racy form correctly: the old emulation missed it)
  Skewed,     // every skewed schedule, none without skew
  Always,     // every schedule
};
struct Case {
  const char* name;
  std::vector<float> (*run)(bool racy);
  Caught caught;
};

std::vector<float> input(int n) {
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = (float)(1 + (i * 37) % 11);
  return x;
}

std::vector<float> run_broadcast(bool racy) {
  std::vector<float> x = input(kT), out(kT);
  for (int k = 0; k < 2; ++k) {  // twice: the second launch sees the first's stale total
    if (racy) emu::launch_k(1, kT, broadcast<true>, x.data(), out.data());
    else emu::launch_k(1, kT, broadcast<false>, x.data(), out.data());
  }
  return out;
}
std::vector<float> run_suffix(bool racy) {
  std::vector<float> x = input(kT), out(kT);
  if (racy) emu::launch_k(1, kT, suffix_sum<true>, x.data(), out.data());
  else emu::launch_k(1, kT, suffix_sum<false>, x.data(), out.data());
  return out;
}
std::vector<float> run_warp_tree(bool racy) {
  std::vector<float> x = input(32), out(1);
  if (racy) emu::launch_k(1, 32, warp_tree<true>, x.data(), out.data());
  else emu::launch_k(1, 32, warp_tree<false>, x.data(), out.data());
  return out;
}
std::vector<float> run_two_sums(bool racy) {
  std::vector<float> x = input(2 * kT), out(2 * kT);
  if (racy) emu::launch_k(1, kT, two_block_sums<true>, x.data(), out.data());
  else emu::launch_k(1, kT, two_block_sums<false>, x.data(), out.data());
  return out;
}
std::vector<float> run_shift(bool racy) {
  const int n = 8 * 64 - 5;
  std::vector<float> x = input(n), y = x;
  if (racy) emu::launch_k(8, 64, shift_left<true>, x.data(), y.data(), n);
  else emu::launch_k(8, 64, shift_left<false>, x.data(), y.data(), n);
  return y;
}

}  // namespace

int main() {
  using emu::Order;
  struct Sched {
    Order order;
    uint64_t seed;
    bool skew;
  };
  // The schedules run.sh runs the kernels under (keep the two lists alike).
  const Sched scheds[] = {{Order::Forward, 1, false}, {Order::Reverse, 1, false}, {Order::Shuffle, 1, false},
                          {Order::Shuffle, 2, false}, {Order::Forward, 1, true},  {Order::Reverse, 1, true},
                          {Order::Shuffle, 3, true}};
  const Case cases[] = {{"broadcast without a barrier", run_broadcast, Caught::Reordered},
                        {"write-after-read in a shared-memory scan", run_suffix, Caught::Reordered},
                        {"in-place shift across blocks", run_shift, Caught::Reordered},
                        {"two block sums without the leading barrier", run_two_sums, Caught::Skewed},
                        {"warp tree without __syncwarp", run_warp_tree, Caught::Always}};
  for (const Case& c : cases) {
    // The reference: the correct form in the default schedule (checked below
    // to give the same in every schedule).
    emu::set_schedule(Order::Forward);
    const std::vector<float> want = c.run(false);
    for (const Sched& sc : scheds) {
      emu::set_schedule(sc.order, sc.seed, sc.skew);
      const std::string tag = std::string(c.name) + " (" + emu::order_name() +
                              (sc.order == Order::Shuffle ? " seed " + std::to_string(sc.seed) : "") +
                              (sc.skew ? ", skew" : "") + ")";
      check(c.run(false) == want, "correct form passes: " + tag);
      const bool caught = c.run(true) != want;
      if (c.caught == Caught::Always || (c.caught == Caught::Skewed && sc.skew) ||
          (c.caught == Caught::Reordered && sc.order != Order::Forward))
        check(caught, "racy form caught: " + tag);
      else if (c.caught == Caught::Skewed || !sc.skew)
        check(!caught, "racy form passes: " + tag);
    }
  }
  // Launch shapes a GPU refuses stop the emulation (each in a child process,
  // which must die of the abort); the largest legal shapes pass the check.
  struct Shape {
    const char* name;
    dim3 grid, block;
  };
  const Shape refused[] = {{"an empty grid", dim3(0), dim3(256)},
                           {"an empty block", dim3(4), dim3(0)},
                           {"1025 threads a block", dim3(1), dim3(1025)},
                           {"32 x 64 threads a block", dim3(1), dim3(32, 64)},
                           {"gridDim.y 65536", dim3(1, 65536), dim3(32)},
                           {"gridDim.x 2^31", dim3(2147483648u), dim3(32)}};
  for (const Shape& sh : refused) {
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      std::freopen("/dev/null", "w", stderr);
      emu::launch(sh.grid, sh.block, [] {});
      _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    check(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, std::string("launch refused: ") + sh.name);
  }
  emu::check_launch_shape(dim3(2147483647u, 65535, 65535), dim3(1024));
  emu::check_launch_shape(dim3(1), dim3(16, 16, 4));
  check(true, "largest legal launch shapes pass");
  std::printf("order_test: %d passed, %d failed\n", passes, failures);
  return failures ? 1 : 0;
}
