// One registration function per kernel family; each lives in ops_<family>.cpp
// and binds that family's entry points (validation + dispatch to a backend).
#pragma once
#include <napi.h>

namespace imix {
void register_gemm_ops(Napi::Env env, Napi::Object exports);       // gemm, linear, bias, relu
void register_loss_ops(Napi::Env env, Napi::Object exports);       // l2 normalize, mixed CE, mixed cosine
void register_state_ops(Napi::Env env, Napi::Object exports);      // EMA, queue enqueue
void register_mix_ops(Napi::Env env, Napi::Object exports);        // mixup, cutmix
void register_batchnorm_ops(Napi::Env env, Napi::Object exports);  // batchnorm1d, batchnorm2d (fused ReLU)
void register_optim_ops(Napi::Env env, Napi::Object exports);      // SGD, LARS, AdamW
void register_random_ops(Napi::Env env, Napi::Object exports);     // Philox draws, input drop, noise
void register_elementwise_ops(Napi::Env env, Napi::Object exports); // axpby, rowdot, maxout, gather, sum, add+relu
void register_conv_ops(Napi::Env env, Napi::Object exports);       // conv2d, conv1d (im2col + gemm)
void register_pool_ops(Napi::Env env, Napi::Object exports);       // max-pool 2d, global average pool
void register_augment_ops(Napi::Env env, Napi::Object exports);     // random crop + horizontal flip
void register_color_ops(Napi::Env env, Napi::Object exports);       // color jitter, random grayscale
void register_signal_ops(Napi::Env env, Napi::Object exports);      // time shift, random time crop, amplitude scale
void register_resample_ops(Napi::Env env, Napi::Object exports);    // SCARF feature resampling
void register_cuda_ops(Napi::Env env, Napi::Object exports);       // CUDA device utilities (ops_cuda.cpp)
void register_readback_ops(Napi::Env env, Napi::Object exports);   // staged read-backs (ops_readback.cpp)
void register_fs_ops(Napi::Env env, Napi::Object exports);         // run-folder lock (fs_lock.cpp)
Napi::Object cuda_info(Napi::Env env);                              // info().cuda
}  // namespace imix
