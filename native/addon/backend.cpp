// Picks the backend of a device (native/common/backend.h): the CPU one, or
// the CUDA one when this addon was built with CUDA (IMIX_WITH_CUDA) and the
// device is usable. A 'cuda' device in a build without CUDA is a
// DeviceError that says so.
#include "../common/backend.h"

#include <string>

#include "../common/error.h"
#if IMIX_WITH_CUDA
#include "../cuda/runtime.h"
#endif

namespace imix {

Backend* backend_of_type(Device::Type t) noexcept {
  if (t == Device::CPU) return &cpu_backend();
#if IMIX_WITH_CUDA
  return &cuda::backend_no_switch();
#else
  return nullptr;
#endif
}

Backend& backend_for(const Device& d, const char* arg) {
  if (d.type == Device::CPU) return cpu_backend();
#if IMIX_WITH_CUDA
  return cuda::backend(d.index, arg);
#else
  fail(ErrorKind::Device, std::string(arg) + ": '" + d.str() + "' is not available: " + no_cuda_build_reason());
#endif
}

}  // namespace imix
