// The body of one direct weight-gradient kernel, included once per instruction set by
// ConvWide.c with WKERNEL_NAME, WBLOCK_NAME, WROWS_NAME, WTAP_NAME, VEC (the vector type), LANES (its floats)
// and WIDE_OV (vectors of output channels in the wide register block) defined, inside a
// `#pragma clang attribute` that sets the target. See include/ConvWide.h for the contract.
//
// Output channels run along the vector lanes: one position's gradient `dyT[q][o ..< o + LANES]` is
// one vector, and each (input channel, tap) keeps a vector accumulator of `dW[o ..< o + LANES]`,
// fed by a broadcast input value. No horizontal reduction is ever needed.

/// A register block: `ov` vectors of output channels from `o` × the `rows·kw ≤ 9` taps of `rows`
/// kernel rows of input channel `c` (`rows·kw·ov` accumulators over all positions), added into
/// `dwT` at the end. Tap `(i, j)` reads row pointer `i` at displacement `j`, so a whole 3×3 kernel
/// needs 3 pointers, not 9. Called with constant `ov`, `rows` and `kw`, so the loops unroll and the
/// accumulators stay in registers.
static inline __attribute__((always_inline))
void WBLOCK_NAME(int ov, int rows, int kw, const float *restrict xc, long rowStride, const float *restrict dyT,
                 long ldo, float *restrict dwT, long count) {
    VEC acc[9][WIDE_OV];
#pragma clang loop unroll(full)
    for (int t = 0; t < 9; t++) {
#pragma clang loop unroll(full)
        for (int v = 0; v < WIDE_OV; v++) acc[t][v] = (VEC){0};
    }
    const float *r[3] = {xc, xc + rowStride, xc + 2 * rowStride};
    for (long q = 0; q < count; q++) {
        VEC g[WIDE_OV];
#pragma clang loop unroll(full)
        for (int v = 0; v < WIDE_OV; v++) {
            if (v < ov) memcpy(&g[v], dyT + q * ldo + v * LANES, sizeof(VEC));
        }
#pragma clang loop unroll(full)
        for (int t = 0; t < 9; t++) {
            if (t < rows * kw) {
                const float b = r[t / kw][q + t % kw];
#pragma clang loop unroll(full)
                for (int v = 0; v < WIDE_OV; v++) {
                    if (v < ov) acc[t][v] += g[v] * b;
                }
            }
        }
    }
#pragma clang loop unroll(full)
    for (int t = 0; t < 9; t++) {
#pragma clang loop unroll(full)
        for (int v = 0; v < WIDE_OV; v++) {
            if (t < rows * kw && v < ov) {
                VEC sum;
                memcpy(&sum, dwT + t * ldo + v * LANES, sizeof sum);
                sum += acc[t][v];
                memcpy(dwT + t * ldo + v * LANES, &sum, sizeof sum);
            }
        }
    }
}

/// One kernel row of `kw ≤ 8` taps (regular kernels other than 3×3), dispatched to a constant-`kw`
/// instance of the register block.
static inline __attribute__((always_inline))
void WROWS_NAME(int ov, int kw, const float *restrict row, const float *restrict dyT, long ldo,
                float *restrict dwT, long count) {
#define ROW_CASE(K) case K: if (ov == WIDE_OV) WBLOCK_NAME(WIDE_OV, 1, K, row, 0, dyT, ldo, dwT, count); \
                            else WBLOCK_NAME(1, 1, K, row, 0, dyT, ldo, dwT, count); break;
    switch (kw) {
        ROW_CASE(1) ROW_CASE(2) ROW_CASE(3) ROW_CASE(4) ROW_CASE(5) ROW_CASE(6) ROW_CASE(7) ROW_CASE(8)
    }
#undef ROW_CASE
}

/// Any other kernel: one tap at a time, one vector of output channels.
static inline __attribute__((always_inline))
void WTAP_NAME(const float *restrict x, const float *restrict dyT, long ldo, float *restrict dwT, long count) {
    VEC acc = (VEC){0};
    for (long q = 0; q < count; q++) {
        VEC g;
        memcpy(&g, dyT + q * ldo, sizeof g);
        acc += g * x[q];
    }
    VEC sum;
    memcpy(&sum, dwT, sizeof sum);
    sum += acc;
    memcpy(dwT, &sum, sizeof sum);
}

static void WKERNEL_NAME(const float *restrict xp, long channels, long plane,
                         const float *restrict dyT, long ldo, const long *restrict offsets, long taps,
                         float *restrict dwT, long count) {
    // A kh×kw kernel on the wide grid has offsets i·Wp + j: find kw (the first tap that is not at
    // displacement t) and check the pattern.
    long kw = 1;
    while (kw < taps && offsets[kw] == kw) kw++;
    int regular = taps % kw == 0 && kw <= 8;
    for (long t = 0; t < taps && regular; t++) regular = offsets[t] == (t / kw) * (taps > kw ? offsets[kw] : 0) + t % kw;
    const int square3 = regular && kw == 3 && taps == 9;
    for (long o = 0; o < ldo;) {
        const int ov = regular && ldo - o >= WIDE_OV * LANES ? WIDE_OV : 1;
        for (long c = 0; c < channels; c++) {
            const float *xc = xp + c * plane;
            float *target = dwT + c * taps * ldo + o;
            if (square3 && ov == WIDE_OV) {
                WBLOCK_NAME(WIDE_OV, 3, 3, xc, offsets[3], dyT + o, ldo, target, count);
            } else if (square3) {
                WBLOCK_NAME(1, 3, 3, xc, offsets[3], dyT + o, ldo, target, count);
            } else if (regular) {
                for (long t0 = 0; t0 < taps; t0 += kw)
                    WROWS_NAME(ov, (int)kw, xc + offsets[t0], dyT + o, ldo, target + t0 * ldo, count);
            } else {
                for (long t = 0; t < taps; t++) WTAP_NAME(xc + offsets[t], dyT + o, ldo, target + t * ldo, count);
            }
        }
        o += ov * LANES;
    }
}

#undef WKERNEL_NAME
#undef WBLOCK_NAME
#undef WROWS_NAME
#undef WTAP_NAME
#undef VEC
#undef LANES
#undef WIDE_OV
