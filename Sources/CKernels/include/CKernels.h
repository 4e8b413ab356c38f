#ifndef BONSAI_CKERNELS_H
#define BONSAI_CKERNELS_H

/// Float32 hot loops of the engine, compiled three times — portable (the baseline x86-64 / any
/// target: 4-wide SSE), AVX2+FMA (8-wide) and AVX-512F (16-wide) — and chosen at run time, so one
/// binary runs on every CPU and uses the widest units it finds. Every function takes the level to
/// run at as its first argument (tests compare each level against the plain reference without any
/// global switch); a level above what the CPU supports is lowered to the best supported one.
///
/// Each level processes every element through its vector body (a tail shorter than a vector is
/// copied into a padded vector), so an element's result does not depend on where a parallel split
/// falls: the same level gives bit-identical results on 1 or 2 threads.

/// 0 = portable, 1 = AVX2 + FMA, 2 = AVX-512F.
#define BONSAI_SIMD_PORTABLE 0
#define BONSAI_SIMD_AVX2 1
#define BONSAI_SIMD_AVX512 2

/// The best level this CPU (and OS) supports, lowered by the environment variable `BONSAI_SIMD`
/// (`portable`, `avx2`, `avx512`) when it is set. Computed once.
int bonsai_simd_level(void);

/// out[i] = x[i]·Φ(x[i]) (exact erf GELU).
void bonsai_gelu_forward_f32(int level, const float *x, float *out, long count);

/// out[i] = grad[i]·(Φ(x[i]) + x[i]·φ(x[i])).
void bonsai_gelu_backward_f32(int level, const float *x, const float *grad, float *out, long count);

/// In-place softmax of `rows` contiguous rows of `width`: x ← e^{x − max} / Σ e^{x − max}. Entries
/// equal to −∞ get exactly 0; a row of all −∞ is treated with maximum 0 (and becomes 0/0 = NaN, as
/// the plain loop does — callers handle fully masked rows themselves).
void bonsai_softmax_rows_f32(int level, float *x, long rows, long width);

/// out[j] = Σ_{r < rows} x[r·stride + j] for j < n, each column summed in row order (plain Float
/// adds, so the same bits as the scalar loop at every level). rows = 0 gives zeros.
void bonsai_sum_rows_f32(int level, const float *x, long rows, long stride, long n, float *out);

/// Layer norm over rows of `width` (see Sources/BonsaiTensor/Ops/LayerNorm.swift for the formulas).
/// Per row: mean and 1/√(var + eps), accumulated in Float64.
void bonsai_layer_norm_statistics_f32(int level, const float *x, long rows, long width, double eps,
                                      double *mean, double *inverse_std);
/// y = (x − μ)·σ⁻¹·γ + β; `gamma`/`beta` may be NULL (1 and 0).
void bonsai_layer_norm_forward_f32(int level, const float *x, long rows, long width, const double *mean,
                                   const double *inverse_std, const float *gamma, const float *beta, float *out);
/// dx = σ⁻¹·(ĝ − mean ĝ − x̂·mean(ĝ·x̂)), ĝ = dy ⊙ γ (`gamma` may be NULL), row sums in Float64.
void bonsai_layer_norm_input_gradient_f32(int level, const float *x, const float *g, const float *gamma,
                                          const double *mean, const double *inverse_std, long rows, long width,
                                          float *out);
/// Adds Σ_r dy·x̂ to dgamma[j] and Σ_r dy to dbeta[j] (Float64) for columns start ..< start + n, rows
/// in order, with exactly the plain loop's arithmetic (no FMA): the same bits at every level and
/// for every column split.
void bonsai_layer_norm_parameter_gradients_f32(int level, const float *x, const float *g, const double *mean,
                                               const double *inverse_std, long rows, long width, long start,
                                               long n, double *dgamma, double *dbeta);

#include "ConvWide.h"

#endif
