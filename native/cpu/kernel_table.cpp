// What this kernel set is and the table the addon calls it through
// (kernels.h: KernelTable; native/addon/cpu_dispatch.cpp loads it).
#include "kernels.h"

#ifndef IMIX_CXX_FLAGS
#define IMIX_CXX_FLAGS ""
#endif
#ifndef IMIX_CPU_SET_NAME
#define IMIX_CPU_SET_NAME "default"
#endif

namespace imix::cpu {

const char* kernel_set() { return IMIX_CPU_SET_NAME; }
const char* cxx_flags() { return IMIX_CXX_FLAGS; }

bool openmp() {
#if defined(_OPENMP)
  return true;
#else
  return false;
#endif
}

// The extensions the compiler was allowed to use in this set: what its
// vector code may contain, and what a CPU needs to run it.
const char* simd_flags() {
  return ""
#if defined(__SSE4_2__)
         " sse4.2"
#endif
#if defined(__AVX__)
         " avx"
#endif
#if defined(__AVX2__)
         " avx2"
#endif
#if defined(__FMA__)
         " fma"
#endif
#if defined(__AVX512F__)
         " avx512f"
#endif
#if defined(__AVX512BW__)
         " avx512bw"
#endif
#if defined(__AVX512VL__)
         " avx512vl"
#endif
#if defined(__AVX512BF16__)
         " avx512bf16"
#endif
#if defined(__ARM_NEON)
         " neon"
#endif
         ;
}

}  // namespace imix::cpu

#if defined(__GNUC__)
#define IMIX_CPU_EXPORT __attribute__((visibility("default")))
#else
#define IMIX_CPU_EXPORT
#endif

extern "C" IMIX_CPU_EXPORT const imix::cpu::KernelTable* imix_cpu_kernel_table() {
  static const imix::cpu::KernelTable table = {
      sizeof(imix::cpu::KernelTable),
#define IMIX_CPU_ENTRY_(fn) &imix::cpu::fn,
      IMIX_CPU_KERNELS(IMIX_CPU_ENTRY_)
#undef IMIX_CPU_ENTRY_
  };
  return &table;
}
