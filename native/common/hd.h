// IMIX_HD marks a function that both backends compile: host inline for the
// CPU (and the CUDA emulation, which defines __host__/__device__ as empty),
// host + device and force-inlined under nvcc.
#pragma once

#if defined(__CUDACC__)
#define IMIX_HD __host__ __device__ __forceinline__
#else
#define IMIX_HD inline
#endif
