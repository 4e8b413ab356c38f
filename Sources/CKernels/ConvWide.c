// Direct wide-grid convolution kernels (include/ConvWide.h), one per instruction set, chosen at run
// time with the other kernels of this target (bonsai_simd_level, Kernels.c).
//
// The kernel body (ConvWideBody.h) is written once with the compiler's generic vector type
// of 16 floats and compiled twice under different `target` attributes: for AVX-512F a vector is
// one zmm register, for AVX2 two ymm registers. Register blocks: AVX-512 keeps 8 output channels
// × 32 positions (16 zmm accumulators of 32), AVX2 6 channels × 16 positions (12 ymm of 16).
// Per (input channel, tap) the block loads its positions once and does one multiply-add per
// accumulator with a broadcast weight, so it is bound by the FMA units, not by loads.
// The weight gradient (ConvWideWeightBody.h) runs output channels along the lanes: per
// position one vector of `dY` (stored transposed, `[q][o]`) times a broadcast input value, into
// 9 taps × 2 vectors of accumulators (AVX-512, 32 output channels; AVX2: 9 × 1 of 8), so it needs
// no horizontal sums. An earlier form with positions along the lanes reduced 18 vectors per image
// and spilled registers: slower than OpenBLAS on small planes.
// `fp contract(fast)` lets `acc += b * x` become one fused multiply-add (PyTorch's kernels fuse
// too; the result differs from separate rounding by at most an ulp per step).
#include "CKernels.h"
#include <string.h>

#pragma clang fp contract(fast)

typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef float v8 __attribute__((vector_size(32), aligned(4)));

// Helpers as macros, not functions: a function taking or returning a 64-byte vector has a
// different ABI under AVX2 than under AVX-512 (clang warns, -Wpsabi), even when inlined.
#define SPLAT(b) ({ const float b_ = (b); (v16){b_, b_, b_, b_, b_, b_, b_, b_, b_, b_, b_, b_, b_, b_, b_, b_}; })
#define LOAD16(p) ({ v16 r_; memcpy(&r_, (p), sizeof r_); r_; })
#define STORE16(p, v) do { const v16 v_ = (v); memcpy((p), &v_, sizeof v_); } while (0)

#if defined(__x86_64__) || defined(__i386__)
// ---- AVX-512F ----
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#define KERNEL_NAME conv_wide_avx512
#define BLOCK_NAME conv_block_avx512
#define OUT_BLOCK 8
#define VECTORS 2
#include "ConvWideBody.h"
#define WKERNEL_NAME weight_grad_avx512
#define WBLOCK_NAME weight_block_avx512
#define WTAP_NAME weight_tap_avx512
#define WROWS_NAME weight_rows_avx512
#define VEC v16
#define LANES 16
#define WIDE_OV 2
#include "ConvWideWeightBody.h"
#pragma clang attribute pop

// ---- AVX2 + FMA ----
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define KERNEL_NAME conv_wide_avx2
#define BLOCK_NAME conv_block_avx2
#define OUT_BLOCK 6
#define VECTORS 1
#include "ConvWideBody.h"
#define WKERNEL_NAME weight_grad_avx2
#define WBLOCK_NAME weight_block_avx2
#define WTAP_NAME weight_tap_avx2
#define WROWS_NAME weight_rows_avx2
#define VEC v8
#define LANES 8
#define WIDE_OV 1
#include "ConvWideWeightBody.h"
#pragma clang attribute pop

#endif

int bonsai_conv_wide_f32(int level, const float *xp, long channels, long plane,
                         const float *w, long outChannels, const long *offsets, long taps,
                         float *yw, long count) {
#if defined(__x86_64__) || defined(__i386__)
    if (level < BONSAI_SIMD_AVX2 || level > bonsai_simd_level()) return -1;
    if (level == BONSAI_SIMD_AVX512)
        conv_wide_avx512(xp, channels, plane, w, outChannels, offsets, taps, yw, count);
    else
        conv_wide_avx2(xp, channels, plane, w, outChannels, offsets, taps, yw, count);
    return 0;
#else
    (void)level; (void)xp; (void)channels; (void)plane; (void)w; (void)outChannels; (void)offsets; (void)taps;
    (void)yw; (void)count;
    return -1;
#endif
}


int bonsai_conv_wide_weight_grad_f32(int level, const float *xp, long channels, long plane,
                                     const float *dyT, long ldo, const long *offsets, long taps,
                                     float *dwT, long count) {
#if defined(__x86_64__) || defined(__i386__)
    if (level < BONSAI_SIMD_AVX2 || level > bonsai_simd_level() || ldo % 16 != 0) return -1;
    if (level == BONSAI_SIMD_AVX512)
        weight_grad_avx512(xp, channels, plane, dyT, ldo, offsets, taps, dwT, count);
    else
        weight_grad_avx2(xp, channels, plane, dyT, ldo, offsets, taps, dwT, count);
    return 0;
#else
    (void)level; (void)xp; (void)channels; (void)plane; (void)dyT; (void)ldo; (void)offsets; (void)taps;
    (void)dwT; (void)count;
    return -1;
#endif
}
