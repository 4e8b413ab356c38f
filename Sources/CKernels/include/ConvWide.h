#ifndef BONSAI_CONV_WIDE_H
#define BONSAI_CONV_WIDE_H

/// Direct stride-1 convolution on the "wide" grid of a padded input (see ConvWide.swift):
///
///     yw[o][q] = Σ_c Σ_t w[o][c][t] · xp[c·plane + q + offsets[t]],   0 ≤ q < count,
///
/// with `xp` the zero-padded input planes (`plane` floats apart), `w` the weights `[O][C][taps]`
/// (PyTorch's `[O, C, kh, kw]` flattened, tap `t = i·kw + j`) and `offsets[t] = i·Wp + j`.
/// Reads up to 32 floats past `xp[(C−1)·plane + count − 1 + max offset]`: the caller provides
/// that slack. `yw` rows are `count` floats apart; every `yw[o][q]` for `q < count` is written.
///
/// Levels are those of CKernels.h: only AVX2 + FMA (1) and AVX-512F (2) have a kernel; at the
/// portable level (0) the caller keeps its GEMM path.
///
/// Runs the kernel of `level` (1 or 2, at most `bonsai_simd_level()`); returns 0 on success,
/// -1 when the level is not available on this CPU (nothing is written).
int bonsai_conv_wide_f32(int level, const float *xp, long channels, long plane,
                         const float *w, long outChannels, const long *offsets, long taps,
                         float *yw, long count);

/// Weight gradient of the same convolution, accumulated into `dwT` (`[C][taps][ldo]`, output
/// channels last):
///
///     dwT[c][t][o] += Σ_{q < count} dyT[q][o] · xp[c·plane + q + offsets[t]],   o < ldo,
///
/// with `dyT` the output gradient on the wide grid, transposed to `[count][ldo]` and zero at the
/// discarded positions (so they add nothing) and in the padding lanes `o ≥ O`. `ldo` must be a
/// multiple of 16. Returns -1 (nothing written) when `level` is not available or `ldo` is not.
int bonsai_conv_wide_weight_grad_f32(int level, const float *xp, long channels, long plane,
                                     const float *dyT, long ldo, const long *offsets, long taps,
                                     float *dwT, long count);

#endif
