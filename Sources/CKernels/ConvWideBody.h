// The body of one direct wide-grid convolution kernel, included once per instruction set by
// ConvWide.c with KERNEL_NAME, BLOCK_NAME, OUT_BLOCK (output channels per register block) and
// VECTORS (16-float vectors of positions per register block) defined, inside a
// `#pragma clang attribute` that sets the target. See include/ConvWide.h for the contract.

/// One register block: `ob` output channels from `o`, positions `q0 ..< q0 + 16·VECTORS`
/// (stored only below `count`). Always inlined with a constant `ob`, so the loops unroll and the
/// accumulators live in registers.
static inline __attribute__((always_inline))
void BLOCK_NAME(int ob, const float *restrict xp, long channels, long plane,
                const float *restrict w, long perOut, const long *restrict offsets, long taps,
                float *restrict yw, long count, long o, long q0) {
    v16 acc[OUT_BLOCK][VECTORS];
#pragma clang loop unroll(full)
    for (int k = 0; k < OUT_BLOCK; k++) {
#pragma clang loop unroll(full)
        for (int v = 0; v < VECTORS; v++) acc[k][v] = SPLAT(0.0f);
    }
    for (long c = 0; c < channels; c++) {
        const float *xc = xp + c * plane + q0;
        const float *wc = w + o * perOut + c * taps;
        for (long t = 0; t < taps; t++) {
            const float *src = xc + offsets[t];
            v16 x[VECTORS];
#pragma clang loop unroll(full)
            for (int v = 0; v < VECTORS; v++) x[v] = LOAD16(src + 16 * v);
#pragma clang loop unroll(full)
            for (int k = 0; k < OUT_BLOCK; k++) {
                if (k < ob) {
                    v16 b = SPLAT(wc[k * perOut + t]);
#pragma clang loop unroll(full)
                    for (int v = 0; v < VECTORS; v++) acc[k][v] += b * x[v];
                }
            }
        }
    }
    long valid = count - q0;
#pragma clang loop unroll(full)
    for (int k = 0; k < OUT_BLOCK; k++) {
        if (k < ob) {
            float *dst = yw + (o + k) * count + q0;
#pragma clang loop unroll(full)
            for (int v = 0; v < VECTORS; v++) {
                if (valid >= 16 * (v + 1)) {
                    STORE16(dst + 16 * v, acc[k][v]);
                } else if (valid > 16 * v) {
                    float lanes[16];
                    STORE16(lanes, acc[k][v]);
                    memcpy(dst + 16 * v, lanes, (size_t)(valid - 16 * v) * sizeof(float));
                }
            }
        }
    }
}

static void KERNEL_NAME(const float *restrict xp, long channels, long plane,
                        const float *restrict w, long outChannels, const long *restrict offsets, long taps,
                        float *restrict yw, long count) {
    const long perOut = channels * taps, step = 16 * VECTORS;
    long o = 0;
    for (; o + OUT_BLOCK <= outChannels; o += OUT_BLOCK) {
        for (long q0 = 0; q0 < count; q0 += step)
            BLOCK_NAME(OUT_BLOCK, xp, channels, plane, w, perOut, offsets, taps, yw, count, o, q0);
    }
    for (; o < outChannels; o++) {
        for (long q0 = 0; q0 < count; q0 += step)
            BLOCK_NAME(1, xp, channels, plane, w, perOut, offsets, taps, yw, count, o, q0);
    }
}

#undef KERNEL_NAME
#undef BLOCK_NAME
#undef OUT_BLOCK
#undef VECTORS
