// Run-time choice of the CPU kernel set (issue: one binary right on every
// x86-64 CPU, never an illegal instruction).
//
// A dispatch build compiles native/cpu three times, into imix-cpu-baseline
// (x86-64-v2), imix-cpu-avx2 (x86-64-v3: AVX2, FMA, BMI2, F16C) and
// imix-cpu-avx512 (x86-64-v4: AVX-512 F/BW/CD/DQ/VL), each a shared library
// beside imix.node. Separate libraries, not three object sets in one: the
// kernels instantiate inline and template code (std::vector, std::sort,
// header helpers) that the linker would merge across sets, and the copy it
// kept could be the AVX-512 one called from baseline code. Only the chosen
// library is loaded, RTLD_LOCAL, so no other set's code is ever mapped.
#include "cpu_dispatch.h"

#include <cstdlib>
#include <stdexcept>

#include "../cpu/kernels.h"

#if defined(IMIX_CPU_DISPATCH)
#include <dlfcn.h>
#endif

namespace imix {

#if defined(IMIX_CPU_DISPATCH)
namespace cpu {
#define IMIX_CPU_DEFINE_(fn) decltype(&api::fn) fn = nullptr;
IMIX_CPU_KERNELS(IMIX_CPU_DEFINE_)
#undef IMIX_CPU_DEFINE_
}  // namespace cpu
#endif

namespace {

#if defined(IMIX_CPU_DISPATCH)
// The CPU features each set was compiled for (the x86-64 psABI levels),
// checked with the compiler's cpuid probe, which also asks the OS whether it
// saves the AVX/AVX-512 registers (xgetbv).
struct SetSpec {
  const char* name;
  std::vector<const char*> features;
};

const std::vector<SetSpec>& set_specs() {
  static const std::vector<const char*> v2 = {"sse3", "ssse3", "sse4.1", "sse4.2", "popcnt"};
  static const std::vector<SetSpec> specs = [] {
    std::vector<const char*> v3 = v2;
    for (const char* f : {"avx", "avx2", "bmi", "bmi2", "f16c", "fma", "lzcnt", "movbe"}) v3.push_back(f);
    std::vector<const char*> v4 = v3;
    for (const char* f : {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}) v4.push_back(f);
    // Best first; only the sets this build compiled (IMIX_CPU_SETS).
    const std::string built = std::string(",") + IMIX_CPU_SETS_BUILT + ",";
    std::vector<SetSpec> all{{"avx512", v4}, {"avx2", v3}, {"baseline", v2}}, out;
    for (auto& s : all)
      if (built.find("," + std::string(s.name) + ",") != std::string::npos) out.push_back(s);
    return out;
  }();
  return specs;
}

// __builtin_cpu_supports needs a string literal, so one call per name.
bool cpu_has(const std::string& f) {
  __builtin_cpu_init();
#define IMIX_HAS_(name) \
  if (f == name) return __builtin_cpu_supports(name);
  IMIX_HAS_("sse3") IMIX_HAS_("ssse3") IMIX_HAS_("sse4.1") IMIX_HAS_("sse4.2") IMIX_HAS_("popcnt")
  IMIX_HAS_("avx") IMIX_HAS_("avx2") IMIX_HAS_("bmi") IMIX_HAS_("bmi2") IMIX_HAS_("f16c") IMIX_HAS_("fma")
  IMIX_HAS_("lzcnt") IMIX_HAS_("movbe") IMIX_HAS_("avx512f") IMIX_HAS_("avx512bw") IMIX_HAS_("avx512cd")
  IMIX_HAS_("avx512dq") IMIX_HAS_("avx512vl")
#undef IMIX_HAS_
  return false;
}

// The directory imix.node was loaded from: the kernel sets lie beside it.
std::string addon_dir() {
  Dl_info info{};
  if (!dladdr((void*)&addon_dir, &info) || !info.dli_fname) throw std::runtime_error("imix: cannot locate imix.node (dladdr failed)");
  std::string path = info.dli_fname;
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

const cpu::KernelTable* open_set(const std::string& name) {
  std::string path = addon_dir() + "/imix-cpu-" + name + IMIX_CPU_SET_SUFFIX;
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    throw std::runtime_error("imix: cannot load the CPU kernel set '" + name + "' (" + path + "): " + (e ? e : "unknown error") +
                             "; rebuild the addon (npm run build:native)");
  }
  using Getter = const cpu::KernelTable* (*)();
  auto get = (Getter)dlsym(h, "imix_cpu_kernel_table");
  const cpu::KernelTable* t = get ? get() : nullptr;
  if (!t || t->bytes != sizeof(cpu::KernelTable))
    throw std::runtime_error("imix: the CPU kernel set " + path +
                             " is from another build of imix (its kernel table does not match); rebuild the addon (npm run build:native)");
  return t;
}

void install(const cpu::KernelTable& t) {
#define IMIX_CPU_INSTALL_(fn) cpu::fn = t.fn;
  IMIX_CPU_KERNELS(IMIX_CPU_INSTALL_)
#undef IMIX_CPU_INSTALL_
}
#endif  // IMIX_CPU_DISPATCH

std::string names(const std::vector<CpuKernelSet>& sets) {
  std::string s;
  for (const auto& k : sets) s += (s.empty() ? "" : ", ") + k.name;
  return s;
}

}  // namespace

std::vector<CpuKernelSet> cpu_kernel_sets() {
  std::vector<CpuKernelSet> out;
#if defined(IMIX_CPU_DISPATCH)
  for (const SetSpec& s : set_specs()) {
    std::string missing;
    for (const char* f : s.features)
      if (!cpu_has(f)) missing += (missing.empty() ? "" : " ") + std::string(f);
    out.push_back({s.name, missing});
  }
#else
  out.push_back({cpu::kernel_set(), ""});
#endif
  return out;
}

void load_cpu_kernels() {
  const char* env = std::getenv("IMIX_CPU_KERNELS");
  std::string want = env && *env ? env : "auto";
  std::vector<CpuKernelSet> sets = cpu_kernel_sets();
  const CpuKernelSet* pick = nullptr;
  for (const auto& s : sets) {
    if (want == "auto" ? s.missing.empty() : want == s.name) {
      pick = &s;
      break;
    }
  }
  if (!pick)
    throw std::runtime_error(want == "auto" ? "imix: this CPU lacks the features of every CPU kernel set (" + names(sets) + ")"
                                            : "IMIX_CPU_KERNELS: '" + want + "' is not a kernel set of this build (it has: auto, " +
                                                  names(sets) + ")");
  if (!pick->missing.empty())
    throw std::runtime_error("IMIX_CPU_KERNELS: this CPU cannot run the '" + pick->name + "' kernel set (it lacks " + pick->missing +
                             "); use auto or one of the sets it supports");
#if defined(IMIX_CPU_DISPATCH)
  install(*open_set(pick->name));
#endif
}

}  // namespace imix
