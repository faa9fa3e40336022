// Every function a CPU kernel set exports to the addon, as an X-macro list.
// A dispatch build (CMakeLists.txt, IMIX_CPU_DISPATCH) compiles native/cpu
// once per instruction set into its own shared library (imix-cpu-<set>.so);
// the addon loads the one the CPU can run (native/addon/cpu_dispatch.cpp) and
// calls these through a table of pointers (kernels.h). A function missing here
// is a compile error at its first call from the addon, so the list cannot lag
// kernel_api.h.
#pragma once

#define IMIX_CPU_KERNELS(X)                                                                          \
  X(gemm) X(gemm_bf16) X(gemm_bf16_missing) X(linear_forward) X(linear_forward_bf16)               \
  X(linear_backward) X(linear_backward_bf16) X(bias_add) X(bias_grad) X(relu_forward)               \
  X(relu_backward) X(l2normalize_forward) X(l2normalize_backward) X(mixed_cross_entropy)            \
  X(mixed_cosine) X(ema) X(queue_enqueue) X(mixup) X(cutmix) X(batchnorm1d_forward_train)          \
  X(batchnorm1d_forward_eval) X(batchnorm1d_backward) X(sgd_step) X(lars_step) X(adamw_step)        \
  X(rand_uniform) X(rand_normal) X(input_drop) X(gaussian_noise) X(random_crop_flip)                \
  X(random_resized_crop) X(resized_crop) X(color_jitter) X(color_adjust) X(random_grayscale)        \
  X(axpby) X(rowdot) X(row_scale_add) X(maxout_forward) X(maxout_backward) X(gather_rows) X(sum)    \
  X(conv2d_workspace_floats) X(conv2d_forward) X(conv2d_backward_data) X(conv2d_backward_weight)    \
  X(batchnorm2d_forward_train) X(batchnorm2d_forward_eval) X(batchnorm2d_backward)                  \
  X(maxpool2d_forward) X(maxpool2d_backward) X(avgpool_global_forward) X(avgpool_global_backward)   \
  X(add_relu_forward) X(time_shift) X(random_time_crop) X(amplitude_scale) X(resample_features)     \
  X(blas_name) X(blas_core) X(cutmix_box) X(num_threads) X(set_num_threads) X(kernel_set) X(simd_flags) X(cxx_flags) X(openmp)
