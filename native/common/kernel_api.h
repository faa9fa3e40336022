// The kernel contract both backends implement: every shared kernel's
// signature and the formula it computes. Included INSIDE a backend namespace
// (native/cpu/kernels.h: imix::cpu, native/cuda/kernels.h: imix::cuda), so the
// CPU and CUDA versions are declared once, from one text, and cannot drift.
// Raw pointers, row-major, contiguous unless a leading dimension says
// otherwise; arguments were validated by the addon (native/addon).
// No include guard on purpose: it is included once per backend namespace.
// ---- gemm.cpp --------------------------------------------------------------
// C[M,N] = alpha * op(A) * op(B) + beta * C, op(X) = X or Xᵀ.
// Row-major; lda/ldb/ldc are row strides of A, B, C as stored.
// beta == 0 overwrites C without reading it (NaNs in C do not propagate).
void gemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
          const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
          float* C, int64_t ldc);

// ---- linear.cpp ------------------------------------------------------------
// y[N,out] = x[N,in]·W[out,in]ᵀ + b[out]   (b may be null)
void linear_forward(const float* x, const float* W, const float* b, float* y,
                    int64_t N, int64_t in, int64_t out);
// dx = dy·W (dx may be null); dW (+)= dyᵀ·x; db (+)= Σ_rows dy (db may be null).
// accumulate=false overwrites dW/db, true adds to them.
void linear_backward(const float* x, const float* W, const float* dy, float* dx,
                     float* dW, float* db, int64_t N, int64_t in, int64_t out,
                     bool accumulate);
// y[i,c] += b[c]
void bias_add(float* y, const float* b, int64_t N, int64_t C);
// db[c] = (accumulate ? db[c] : 0) + Σ_i dy[i,c]
void bias_grad(const float* dy, float* db, int64_t N, int64_t C, bool accumulate);
// y = max(x, 0); in place allowed (y == x)
void relu_forward(const float* x, float* y, int64_t n);
// dx = dy · [y > 0]; in place allowed (dx == dy)
void relu_backward(const float* dy, const float* y, float* dx, int64_t n);

// ---- normalize.cpp ---------------------------------------------------------
// y_i = x_i / max(‖x_i‖, eps); norms[i] = max(‖x_i‖, eps) (saved for backward); y may alias x
void l2normalize_forward(const float* x, float* y, float* norms, int64_t N, int64_t D, float eps);
// dx_i = (dy_i − y_i·(y_i·dy_i)) / norms[i]; dx may alias dy
void l2normalize_backward(const float* dy, const float* y, const float* norms, float* dx,
                          int64_t N, int64_t D);

// ---- cross_entropy.cpp -----------------------------------------------------
// Fused mixed-target cross-entropy over logits[N,M] with row stride ld ≥ M,
// one pass per row. Row i is s[i,j] = logits[i·ld + j], j < M; the ld − M
// floats after each row are neither read nor written (MoCo pads its rows to
// a multiple of 4 floats so that every row starts on a 16-byte boundary).
//   a_i = col_offset + (targets ? targets[i]       : i)
//   b_i = col_offset + (targets ? targets[perm[i]] : perm[i])   (perm null: b_i = a_i)
//   λ_i = lam ? lam[i] : 1
//   loss_i = lse_i − λ_i·s[i,a_i] − (1−λ_i)·s[i,b_i]
//   s[i,:] ← scale · (softmax_i − (λ_i·e_{a_i} + (1−λ_i)·e_{b_i}))   (in place)
// losses (nullable) receives loss_i; returns Σ_i loss_i in double.
double mixed_cross_entropy(float* logits, int64_t N, int64_t M, int64_t ld, const int32_t* targets,
                           const int32_t* perm, const float* lam, int64_t col_offset,
                           float scale, float* losses);

// ---- cosine.cpp ------------------------------------------------------------
// BYOL mixed-cosine loss on L2-normalized p[N,D] (online prediction) and
// k[N,D] (target projection, no gradient):
//   loss_i = 2 − 2·(λ_i·p_i·k_i + (1−λ_i)·p_i·k_{π(i)})
//   dp_i   = −2·scale·(λ_i·k_i + (1−λ_i)·k_{π(i)})          (dp nullable)
// perm null = identity, lam null = 1. losses nullable. Returns Σ_i loss_i.
double mixed_cosine(const float* p, const float* k, int64_t N, int64_t D, const int32_t* perm,
                    const float* lam, float scale, float* dp, float* losses);

// ---- ema.cpp ---------------------------------------------------------------
// target ← m·target + (1−m)·source over n floats (the whole flat buffer).
void ema(float* target, const float* source, int64_t n, float m);

// ---- queue.cpp -------------------------------------------------------------
// Copies keys[N,D] into the ring queue[K,D] starting at row ptr, wrapping
// past row K−1 to row 0 (requires N ≤ K). Returns (ptr + N) mod K.
int64_t queue_enqueue(float* queue, int64_t K, int64_t D, const float* keys, int64_t N,
                      int64_t ptr);

// ---- mix.cpp ---------------------------------------------------------------
// MixUp, out of place: out_i = λ_i·x_i + (1−λ_i)·x_{π(i)} over rows of F floats.
// lam null means one λ for the batch: lam_scalar.
void mixup(const float* x, float* out, int64_t N, int64_t F, const int32_t* perm,
           const float* lam, float lam_scalar);
// CutMix box sampling (cutmix_box) is host code in native/cpu/mix.cpp, shared by both backends.
// out = x outside the box; out[i,c,box] = x[π(i),c,box]. x is [N,C,H,W].
void cutmix(const float* x, float* out, int64_t N, int64_t C, int64_t H, int64_t W,
            const int32_t* perm, Box box);

// ---- batchnorm.cpp ---------------------------------------------------------
// BatchNorm1d on x[N,C] (statistics over the N rows, per feature c).
// train: μ_c, σ²_c biased; y = γ·(x−μ)/sqrt(σ²+eps) + β; save_mean/save_invstd
// get μ and 1/sqrt(σ²+eps); running stats (nullable) follow PyTorch:
// r ← (1−momentum)·r + momentum·stat, with the unbiased variance N/(N−1)·σ².
// gamma/beta null mean 1/0 (affine=false).
void batchnorm1d_forward_train(const float* x, float* y, int64_t N, int64_t C,
                               const float* gamma, const float* beta, float eps, float momentum,
                               float* running_mean, float* running_var, float* save_mean,
                               float* save_invstd);
// eval: y = γ·(x−r_mean)/sqrt(r_var+eps) + β
void batchnorm1d_forward_eval(const float* x, float* y, int64_t N, int64_t C, const float* gamma,
                              const float* beta, const float* running_mean,
                              const float* running_var, float eps);
// x̂ = (x−μ)·invstd; dβ = Σ dy; dγ = Σ dy·x̂;
// dx = γ·invstd/N · (N·dy − dβ − x̂·dγ). dgamma/dbeta nullable (affine=false)
// and accumulated into when accumulate is true.
void batchnorm1d_backward(const float* dy, const float* x, const float* gamma,
                          const float* save_mean, const float* save_invstd, int64_t N, int64_t C,
                          float* dx, float* dgamma, float* dbeta, bool accumulate);

// ---- optim.cpp -------------------------------------------------------------
// Optimizers over one flat parameter buffer. A model's buffer is cut into
// segments (one per parameter tensor): seg_offsets[0..nseg] are element
// offsets (seg_offsets[nseg] == n) and seg_flags[s] says what applies to
// segment s. With nseg == 0 (no segments) every flag is on.
// (Flags: kWeightDecay = 1, kLarsAdapt = 2; native/common/kernel_types.h.)

// PyTorch SGD semantics (dampening 0): g' = g + wd·p; buf = μ·buf + g';
// step = nesterov ? g' + μ·buf : buf; p −= lr·step. buf may be null if μ == 0.
void sgd_step(float* param, const float* grad, float* buf, int64_t n, float lr, float momentum,
              float weight_decay, bool nesterov, const int64_t* seg_offsets,
              const uint8_t* seg_flags, int64_t nseg);
// LARS (You et al. 2017, as in SimCLR/BYOL): per segment,
// g' = g + wd·p; trust = η·‖p‖/‖g'‖ when the segment adapts and both norms
// are > 0, else 1; buf = μ·buf + trust·g'; p −= lr·(nesterov ? trust·g' + μ·buf : buf).
void lars_step(float* param, const float* grad, float* buf, int64_t n, float lr, float momentum,
               float weight_decay, float eta, bool nesterov, const int64_t* seg_offsets,
               const uint8_t* seg_flags, int64_t nseg);
// AdamW (Loshchilov & Hutter; PyTorch semantics): p −= lr·wd·p;
// m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
// p −= lr · (m/(1−β1^t)) / (sqrt(v/(1−β2^t)) + eps), t = step ≥ 1.
// β1/β2 are double so 1−β (e.g. 1−0.999) is formed before rounding to float,
// as PyTorch does: 1 − 0.999f is off by 1.3e-5 relative.
void adamw_step(float* param, const float* grad, float* m, float* v, int64_t n, float lr,
                double beta1, double beta2, float eps, float weight_decay, int64_t step,
                const int64_t* seg_offsets, const uint8_t* seg_flags, int64_t nseg);

// ---- random.cpp ------------------------------------------------------------
// All draws follow the Philox stream layout of native/common/philox.h.
void rand_uniform(float* out, int64_t n, uint64_t seed, uint64_t offset);           // [0,1)
void rand_normal(float* out, int64_t n, uint64_t seed, uint64_t offset, float mean,
                 float std);
// out_i = (u_i < p) ? 0 : x_i   (no rescaling, as the i-Mix paper's input drop)
void input_drop(const float* x, float* out, int64_t n, float p, uint64_t seed, uint64_t offset);
// out_i = x_i + std·z_i
void gaussian_noise(const float* x, float* out, int64_t n, float std, uint64_t seed,
                    uint64_t offset);

// ---- augment.cpp -----------------------------------------------------------
// Geometric image views on x[N,C,H,W], out of place (out must not overlap x).
// Random crop with zero padding, then horizontal flip (torchvision's
// RandomCrop(size, padding=pad) followed by RandomHorizontalFlip(p)).
// Image i draws from Philox block i of the stream (seed, offset):
//   (w0, w1, w2, w3) = philox4x32_10(seed, block = i, offset)
//   dy_i = ((w0 >> 8)·(2·pad+1)) >> 24,  dx_i = ((w1 >> 8)·(2·pad+1)) >> 24   ∈ [0, 2·pad]
//   flip_i = u32_to_unit(w2) < flip_p                                  (w3 unused)
//   c[i,ch,y,x]   = x[i,ch, y+dy_i−pad, x+dx_i−pad]   (0 outside the image)
//   out[i,ch,y,x] = flip_i ? c[i,ch,y,W−1−x] : c[i,ch,y,x]
// pad = 0 gives dy = dx = 0 (flip only); flip_p = 0 never flips (crop only).
void random_crop_flip(const float* x, float* out, int64_t N, int64_t C, int64_t H, int64_t W,
                      int64_t pad, float flip_p, uint64_t seed, uint64_t offset);
// Random resized crop + flip (torchvision 0.14's RandomResizedCrop((H, W),
// scale, ratio, bilinear) on tensors, then RandomHorizontalFlip(flip_p)):
// image i's box b_i = rrc::draw_box(i, …) (blocks 16·i … 16·i+10 of the
// stream; the draws and the arithmetic are native/common/resized_crop.h),
//   out[i,ch,:,:] = flip_i ? mirror(R) : R,  R = bilinear resize (align_corners
//   = False, no antialias) of x[i,ch, top:top+h, left:left+w] to H×W.
// 0 < scale_lo ≤ scale_hi ≤ 1, 0 < ratio_lo ≤ ratio_hi finite; H, W < 2^31.
void random_resized_crop(const float* x, float* out, int64_t N, int64_t C, int64_t H, int64_t W,
                         double scale_lo, double scale_hi, double ratio_lo, double ratio_hi, float flip_p,
                         uint64_t seed, uint64_t offset);
// The same resampling with one given box for every image (torchvision's
// F.resized_crop(x, top, left, h, w, (H, W)), mirrored when box.flip ≠ 0).
void resized_crop(const float* x, float* out, int64_t N, int64_t C, int64_t H, int64_t W, CropBox box);

// ---- color.cpp -------------------------------------------------------------
// Photometric views on x[N, C, HW] images (C = 1 or 3, HW = H·W), out may be
// x (in place) but not partially overlap it. Formulas (torchvision 0.14's
// adjust_brightness/contrast/saturation/hue and rgb_to_grayscale) and the
// Philox draw layout: native/common/color.h.
// Colour jitter, RandomApply([ColorJitter(brightness, contrast, saturation,
// hue)], p): image i draws (applied, order, factors) from blocks 2i, 2i+1 of
// (seed, offset) and applies its adjustments in that order; strength 0 skips
// an adjustment; saturation and hue are identities when C = 1.
void color_jitter(const float* x, float* out, int64_t N, int64_t C, int64_t HW, float brightness,
                  float contrast, float saturation, float hue, float p, uint64_t seed, uint64_t offset);
// The same adjustments with given parameters: params[N, 8], row i =
// (f_brightness, f_contrast, f_saturation, f_hue, step0, step1, step2, step3),
// step k = the adjustment applied k-th (0 brightness, 1 contrast,
// 2 saturation, 3 hue) or −1 (none). Validated by the addon.
void color_adjust(const float* x, float* out, int64_t N, int64_t C, int64_t HW, const float* params);
// RandomGrayscale(p): image i turns gray (gray(x) on all three channels)
// iff u(word 0 of block i) < p; identity when C = 1.
void random_grayscale(const float* x, float* out, int64_t N, int64_t C, int64_t HW, float p, uint64_t seed,
                      uint64_t offset);

// ---- elementwise.cpp -------------------------------------------------------
// Small glue kernels the training loops need between the big ones.
// y = a·x + b·y over n floats (b == 0 does not read y).
void axpby(float a, const float* x, float b, float* y, int64_t n);
// out[i·out_stride] = alpha · Σ_d a[i,d]·b[i,d]   (MoCo's positive logits q_i·k_i/τ,
// written straight into column 0 of the N×(1+K) logits)
void rowdot(const float* a, const float* b, float* out, int64_t out_stride, int64_t N, int64_t D,
            float alpha);
// y[i,:] += alpha · s[i·s_stride] · x[i,:]   (backward of rowdot)
void row_scale_add(float* y, const float* s, int64_t s_stride, const float* x, int64_t N,
                   int64_t D, float alpha);
// Maxout over groups of k adjacent features: x[N, F·k] → y[N, F],
// y[i,f] = max_j x[i, f·k + j]; argmax[i,f] = j of the first maximum.
void maxout_forward(const float* x, float* y, int32_t* argmax, int64_t N, int64_t F, int64_t k);
// dx[i, f·k + j] = (j == argmax[i,f]) ? dy[i,f] : 0
void maxout_backward(const float* dy, const int32_t* argmax, float* dx, int64_t N, int64_t F,
                     int64_t k);
// out[i,:] = src[idx[i],:] for i < B (rows of F floats).
void gather_rows(const float* src, const int32_t* idx, float* out, int64_t B, int64_t F);
// Σ over n floats, in double.
double sum(const float* x, int64_t n);

// ---- conv.cpp --------------------------------------------------------------
// 2-d convolution, NCHW, zero padding, stride, dilation (geometry: ConvGeom in
// kernel_types.h; conv1d is its H = 1 case). With x̃ = x zero-padded:
//   y[n,k,i,j] = b[k] + Σ_{c,u,v} w[k,c,u,v] · x̃[n, c, i·sh−ph+u·dh, j·sw−pw+v·dw]
// ws is scratch memory of conv2d_workspace_floats(g) floats on the kernel's
// device, owned by the caller and reused across calls (no allocation inside).
// b may be null (no bias).
int64_t conv2d_workspace_floats(const ConvGeom& g);
void conv2d_forward(const float* x, const float* w, const float* b, float* y, const ConvGeom& g,
                    float* ws);
// dx = the transposed convolution of dy with w (overwritten):
//   dx[n,c,y,x] = Σ_{k,u,v : y = i·sh−ph+u·dh, x = j·sw−pw+v·dw} w[k,c,u,v] · dy[n,k,i,j]
void conv2d_backward_data(const float* dy, const float* w, float* dx, const ConvGeom& g,
                          float* ws);
// dw[k,c,u,v] (+)= Σ_{n,i,j} dy[n,k,i,j] · x̃[n, c, i·sh−ph+u·dh, j·sw−pw+v·dw]
// db[k] (+)= Σ_{n,i,j} dy[n,k,i,j]   (db nullable). accumulate=false overwrites.
void conv2d_backward_weight(const float* dy, const float* x, float* dw, float* db,
                            const ConvGeom& g, float* ws, bool accumulate);

// ---- batchnorm.cpp (channels) ---------------------------------------------
// BatchNorm2d (and BatchNorm1d on [N, C, L]) on x[N, C, S], S = H·W (or L):
// statistics per channel c over the N·S values x[n,c,:], otherwise exactly the
// batchnorm1d contract above (biased variance to normalize, unbiased
// M/(M−1)·σ² into the running variance, M = N·S; save_mean/save_invstd).
// relu = true fuses the ReLU that follows: y = max(bn(x), 0).
void batchnorm2d_forward_train(const float* x, float* y, int64_t N, int64_t C, int64_t S,
                               const float* gamma, const float* beta, float eps, float momentum,
                               float* running_mean, float* running_var, float* save_mean,
                               float* save_invstd, bool relu);
void batchnorm2d_forward_eval(const float* x, float* y, int64_t N, int64_t C, int64_t S,
                              const float* gamma, const float* beta, const float* running_mean,
                              const float* running_var, float eps, bool relu);
// As batchnorm1d_backward with sums over n and s. y (nullable) is the fused
// forward's output: when given, dy is first masked to dy·[y > 0] (the ReLU's
// backward), so dy is the gradient of the ReLU's output. dx may not alias dy.
void batchnorm2d_backward(const float* dy, const float* x, const float* y, const float* gamma,
                          const float* save_mean, const float* save_invstd, int64_t N, int64_t C,
                          int64_t S, float* dx, float* dgamma, float* dbeta, bool accumulate);

// ---- pool.cpp --------------------------------------------------------------
// Max-pool 2d (geometry: PoolGeom): y[n,c,i,j] = max over the window
// x[n,c, i·sh−ph+u, j·sw−pw+v] inside the image; argmax[n,c,i,j] is the
// flat index y·W + x (within the plane) of the first maximum in row-major
// window order (PyTorch's tie rule); a NaN is a maximum.
void maxpool2d_forward(const float* x, float* y, int32_t* argmax, const PoolGeom& g);
// dx = 0, then dx[n,c,argmax[n,c,i,j]] += dy[n,c,i,j] (overlapping windows add).
void maxpool2d_backward(const float* dy, const int32_t* argmax, float* dx, const PoolGeom& g);
// Global average pool over the last axis of x[P, S] (P = N·C planes, S = H·W):
// y[p] = Σ_s x[p,s] / S.
void avgpool_global_forward(const float* x, float* y, int64_t P, int64_t S);
// dx[p,s] = dy[p] / S.
void avgpool_global_backward(const float* dy, float* dx, int64_t P, int64_t S);

// ---- elementwise.cpp (residual) -------------------------------------------
// The residual join of a BasicBlock: y = max(a + b, 0) over n floats
// (y may alias a or b). Its backward is relu_backward on y.
void add_relu_forward(const float* a, const float* b, float* y, int64_t n);

// ---- signal_views.cpp ------------------------------------------------------
// Signal views on x[N, C, L] (NCL). Signal i draws from Philox block i of the
// stream (seed, offset), shared by its channels; the draws s_i, ℓ_i, a_i, g_i
// and the resampling arithmetic are native/common/signal_views.h.
// Out of place (out must not overlap x):
//   time_shift        out[i,c,t] = x[i,c,t − s_i] if 0 ≤ t − s_i < L, else 0;
//                     s_i uniform integer in [−max_shift, max_shift]
//   random_time_crop  ℓ_i = clamp(⌊σ_i·L + ½⌋, 1, L), σ_i ~ U[min_scale, max_scale),
//                     a_i uniform integer in [0, L − ℓ_i]; out[i,c,:] = the window
//                     x[i,c, a_i .. a_i+ℓ_i) resampled to L samples by linear
//                     interpolation with align_corners=False (F.interpolate):
//                     src = max(0, ℓ_i/L·(t+½) − ½), blend of ⌊src⌋ and the next sample
// In place allowed (out == x):
//   amplitude_scale   out[i,c,t] = g_i · x[i,c,t], g_i ~ U[lo, hi) rounded to float
void time_shift(const float* x, float* out, int64_t N, int64_t C, int64_t L, int64_t max_shift,
                uint64_t seed, uint64_t offset);
void random_time_crop(const float* x, float* out, int64_t N, int64_t C, int64_t L, double min_scale,
                      double max_scale, uint64_t seed, uint64_t offset);
void amplitude_scale(const float* x, float* out, int64_t N, int64_t C, int64_t L, double lo, double hi,
                     uint64_t seed, uint64_t offset);

// ---- resample.cpp ----------------------------------------------------------
// SCARF feature resampling (Bahri et al., ICLR 2022) of rows x[N, F] from a
// pool of training rows pool[M, F], M ≥ 1, p in [0, 1]:
//   out[i,j] = u_ij < p ? pool[r_ij, j] : x[i,j]
// element e = i·F + j draws Philox block e of (seed, offset): u_ij = u(w0),
// r_ij = ⌊(w1·2³² + w2)·M / 2⁶⁴⌋ uniform in [0, M) (native/common/resample.h).
// In place allowed (out == x); pool must not overlap out.
void resample_features(const float* x, const float* pool, float* out, int64_t N, int64_t F, int64_t M, double p,
                       uint64_t seed, uint64_t offset);
