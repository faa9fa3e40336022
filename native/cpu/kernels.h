// The CPU backend's kernels: the shared contract (native/common/kernel_api.h)
// plus the CPU-only and host-side functions of cpu_api.h, in imix::cpu.
// Arguments were validated by the addon (native/addon); these functions
// assume valid shapes and only do math. The CUDA backend (native/cuda)
// declares the same contract, so a test can hold one against the other.
//
// Two ways to build them (CMakeLists.txt):
// - linked into the addon (IMIX_NATIVE_ARCH, a non-x86 CPU): imix::cpu::gemm
//   is the function itself;
// - a dispatch build (IMIX_CPU_DISPATCH, the default on x86-64): native/cpu
//   is compiled once per instruction set into imix-cpu-<set>.so, and the
//   addon sees imix::cpu::gemm as a pointer into the set it loaded
//   (native/addon/cpu_dispatch.cpp). Call sites read the same either way.
#pragma once
#include <cstdint>

#include "../common/kernel_types.h"
#include "kernel_list.h"

namespace imix::cpu {

using imix::Box;
using imix::kLarsAdapt;
using imix::kWeightDecay;
using imix::SegFlag;

#if defined(IMIX_CPU_DISPATCH)
namespace api {  // the declarations, for their types only
#endif
#include "../common/kernel_api.h"
#include "cpu_api.h"
#if defined(IMIX_CPU_DISPATCH)
}  // namespace api
#define IMIX_CPU_API_ api::
#else
#define IMIX_CPU_API_
#endif

// What a kernel set hands the addon: a pointer to each function of
// kernel_list.h. `bytes` = sizeof(KernelTable) of the set's build, checked
// at load so a stale set from another build is refused, not called.
struct KernelTable {
  uint64_t bytes;
#define IMIX_CPU_FIELD_(fn) decltype(&::imix::cpu::IMIX_CPU_API_ fn) fn;
  IMIX_CPU_KERNELS(IMIX_CPU_FIELD_)
#undef IMIX_CPU_FIELD_
};

#if defined(IMIX_CPU_DISPATCH)
// The loaded set's functions (set once, at module load, before any call).
#define IMIX_CPU_POINTER_(fn) extern decltype(&api::fn) fn;
IMIX_CPU_KERNELS(IMIX_CPU_POINTER_)
#undef IMIX_CPU_POINTER_
#endif
#undef IMIX_CPU_API_

}  // namespace imix::cpu

// Each kernel set's one exported symbol (kernel_table.cpp).
extern "C" const imix::cpu::KernelTable* imix_cpu_kernel_table();
