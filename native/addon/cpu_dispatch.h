// Which CPU kernel set runs: chosen at module load from the CPU's features
// (cpuid), or forced with IMIX_CPU_KERNELS=<set> (tests cover each set the
// machine supports). See native/cpu/kernels.h for the two build layouts.
#pragma once
#include <string>
#include <vector>

namespace imix {

struct CpuKernelSet {
  std::string name;     // "avx512", "avx2", "baseline" (dispatch) or the one linked-in set
  std::string missing;  // the CPU features this machine lacks for it ("" = runnable)
};

// The sets this build has, best first.
std::vector<CpuKernelSet> cpu_kernel_sets();

// Loads the set to use (dispatch builds) and points imix::cpu's functions at
// it; for a build with one linked-in set, checks that IMIX_CPU_KERNELS does
// not ask for another. Throws std::runtime_error saying what is wrong (an
// unknown or unsupported set, a missing or stale imix-cpu-<set> library).
void load_cpu_kernels();

}  // namespace imix
