#ifndef BONSAI_CCONV_H
#define BONSAI_CCONV_H

/// Direct stride-1 convolution on the "wide" grid of a padded input (see ConvWide.swift):
///
///     yw[o][q] = Σ_c Σ_t w[o][c][t] · xp[c·plane + q + offsets[t]],   0 ≤ q < count,
///
/// with `xp` the zero-padded input planes (`plane` floats apart), `w` the weights `[O][C][taps]`
/// (PyTorch's `[O, C, kh, kw]` flattened, tap `t = i·kw + j`) and `offsets[t] = i·Wp + j`.
/// Reads up to 32 floats past `xp[(C−1)·plane + count − 1 + max offset]`: the caller provides
/// that slack. `yw` rows are `count` floats apart; every `yw[o][q]` for `q < count` is written.
///
/// Levels: 0 = no vector kernel on this CPU (the caller keeps its GEMM path), 1 = AVX2 + FMA,
/// 2 = AVX-512F. The level is detected at run time, so the binary still runs on older CPUs.
int bonsai_conv_wide_level(void);

/// Runs the kernel of `level` (1 or 2, at most `bonsai_conv_wide_level()`); returns 0 on success,
/// -1 when the level is not available on this CPU (nothing is written).
int bonsai_conv_wide_f32(int level, const float *xp, long channels, long plane,
                         const float *w, long outChannels, const long *offsets, long taps,
                         float *yw, long count);

#endif
