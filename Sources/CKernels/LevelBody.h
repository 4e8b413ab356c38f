// The kernels for one instruction-set level. Kernels.c includes this file once per level with
//   SUFFIX  the name suffix (portable, avx2, avx512),
//   TARGET  the function attribute selecting the instruction set (empty for portable),
//   W       the vector width in floats (4, 8, 16).
// Written with Clang's vector extensions so the one source serves every width; multiply-adds
// written `a * b + c` become FMA instructions where the level has them (-ffp-contract=on).

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(name, SUFFIX)
#define VF CAT(vf, SUFFIX)
#define VI CAT(vi, SUFFIX)
#define VH CAT(vh, SUFFIX)
#define VD CAT(vd, SUFFIX)
#define INLINE static inline __attribute__((always_inline)) TARGET

typedef float VF __attribute__((ext_vector_type(W)));
typedef int VI __attribute__((ext_vector_type(W)));
typedef float VH __attribute__((ext_vector_type(W / 2)));   // half a float vector
typedef double VD __attribute__((ext_vector_type(W / 2)));  // as doubles (same register width)

INLINE VF FN(load)(const float *p) { VF v; memcpy(&v, p, sizeof v); return v; }
INLINE void FN(store)(float *p, VF v) { memcpy(p, &v, sizeof v); }

/// `a < b ? a : b` per lane (a NaN in `b` is passed through, one in `a` is not).
INLINE VF FN(vmin)(VF a, VF b) { VI m = a < b; return (VF)((m & (VI)a) | (~m & (VI)b)); }
/// `a > b ? a : b` per lane.
INLINE VF FN(vmax)(VF a, VF b) { VI m = a > b; return (VF)((m & (VI)a) | (~m & (VI)b)); }

/// erf as the rational function of FastErf (DType.swift): c·P(c²)/Q(c²), c = clamp(x, −4, 4),
/// clamped to [−1, 1]; relative error of the fit 2.6e-8.
INLINE VF FN(erf)(VF x) {
    VF c = FN(vmin)(4.0f, FN(vmax)(-4.0f, x));  // constant first: NaN passes through
    VF t = c * c;
    VF p = 1.985496409190515e-06f;
    p = p * t + 0.00028469515807423237f;
    p = p * t + 0.0038897108355649516f;
    p = p * t + 0.053121652692368994f;
    p = p * t + 0.1936949705823177f;
    p = p * t + 1.1283791394912372f;
    VF q = 3.741350434919292e-05f;
    q = q * t + 0.0011870822616155984f;
    q = q * t + 0.015220129169054537f;
    q = q * t + 0.11541199881438464f;
    q = q * t + 0.5049902406453192f;
    q = q * t + 1.0f;
    return FN(vmin)(1.0f, FN(vmax)(-1.0f, c * p / q));
}

/// e^x as FastExp (DType.swift): 2^k·e^r with k = round(x·log₂e), r = x − k·ln2 (ln2 split in a
/// high and a low part), e^r by its degree-7 Taylor polynomial, 2^k from exponent bits. Inputs are
/// clamped to [−87, 88]; below −87.33 (where e^x is no longer a normal Float) the result is 0, so
/// e^{−∞} = 0 exactly as libm gives it.
INLINE VF FN(exp)(VF x) {
    VF c = FN(vmin)(88.0f, FN(vmax)(-87.0f, x));
    VF shifted = c * 1.4426950408889634f + 12582912.0f;
    VF k = shifted - 12582912.0f;
    VF r = (c - k * 0.693145751953125f) - k * 1.428606765330187e-06f;
    VF p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    VF scale = (VF)((((VI)shifted) - 0x4B400000 + 127) << 23);
    VI keep = ~(x < -87.33654475f);  // all ones where x ≥ ln(FLT_MIN) (or NaN)
    return (VF)(((VI)(p * scale)) & keep);
}

INLINE VF FN(gelu)(VF x) { return x * 0.5f * (1.0f + FN(erf)(x * 0.70710678118654752f)); }

INLINE VF FN(gelu_derivative)(VF x) {
    VF cdf = 0.5f * (1.0f + FN(erf)(x * 0.70710678118654752f));
    return cdf + x * (FN(exp)(-0.5f * x * x) * 0.39894228040143268f);
}

TARGET static void FN(gelu_forward)(const float *x, float *out, long count) {
    long i = 0;
    for (; i + W <= count; i += W) FN(store)(out + i, FN(gelu)(FN(load)(x + i)));
    if (i < count) {
        float a[W] = {0}, o[W];
        memcpy(a, x + i, (size_t)(count - i) * sizeof(float));
        FN(store)(o, FN(gelu)(FN(load)(a)));
        memcpy(out + i, o, (size_t)(count - i) * sizeof(float));
    }
}

TARGET static void FN(gelu_backward)(const float *x, const float *grad, float *out, long count) {
    long i = 0;
    for (; i + W <= count; i += W)
        FN(store)(out + i, FN(load)(grad + i) * FN(gelu_derivative)(FN(load)(x + i)));
    if (i < count) {
        float a[W] = {0}, g[W] = {0}, o[W];
        memcpy(a, x + i, (size_t)(count - i) * sizeof(float));
        memcpy(g, grad + i, (size_t)(count - i) * sizeof(float));
        FN(store)(o, FN(load)(g) * FN(gelu_derivative)(FN(load)(a)));
        memcpy(out + i, o, (size_t)(count - i) * sizeof(float));
    }
}

/// Horizontal sum in a fixed lane order (deterministic for a level).
INLINE float FN(hsum)(VF v) {
    float lanes[W], total = 0;
    FN(store)(lanes, v);
    for (int j = 0; j < W; j++) total += lanes[j];
    return total;
}

TARGET static void FN(softmax_rows)(float *x, long rows, long width) {
    for (long r = 0; r < rows; r++) {
        float *row = x + r * width;
        long tail = width % W, body = width - tail;
        float pad[W];
        // Maximum, ignoring NaN as the plain `where row[j] > maximum` loop does.
        VF m = -__builtin_inff();
        for (long j = 0; j < body; j += W) { VF v = FN(load)(row + j); m = FN(vmax)(v, m); }
        float maximum = -__builtin_inff();
        float lanes[W];
        FN(store)(lanes, m);
        for (int j = 0; j < W; j++) if (lanes[j] > maximum) maximum = lanes[j];
        for (long j = body; j < width; j++) if (row[j] > maximum) maximum = row[j];
        if (maximum == -__builtin_inff()) maximum = 0;
        // e^{x − max} and its sum (padding lanes are −∞ and contribute exactly 0).
        VF sum = 0.0f;
        for (long j = 0; j < body; j += W) {
            VF e = FN(exp)(FN(load)(row + j) - maximum);
            FN(store)(row + j, e);
            sum += e;
        }
        if (tail) {
            for (int j = 0; j < W; j++) pad[j] = -__builtin_inff();
            memcpy(pad, row + body, (size_t)tail * sizeof(float));
            VF e = FN(exp)(FN(load)(pad) - maximum);
            sum += e;
            FN(store)(pad, e);
            memcpy(row + body, pad, (size_t)tail * sizeof(float));
        }
        float inverse = 1.0f / FN(hsum)(sum);
        for (long j = 0; j < width; j++) row[j] *= inverse;
    }
}

/// out[j] = Σ_r x[r·stride + j] for j < n, each column summed in row order (0, 1, 2, …) — the order
/// of the plain loop, so the result is exact-same whatever the level or how columns are split.
TARGET static void FN(sum_rows)(const float *x, long rows, long stride, long n, float *out) {
    long j = 0;
    for (; j + 4 * W <= n; j += 4 * W) {
        const float *p = x + j;
        VF a0 = FN(load)(p), a1 = FN(load)(p + W), a2 = FN(load)(p + 2 * W), a3 = FN(load)(p + 3 * W);
        for (long r = 1; r < rows; r++) {
            p += stride;
            a0 += FN(load)(p); a1 += FN(load)(p + W); a2 += FN(load)(p + 2 * W); a3 += FN(load)(p + 3 * W);
        }
        FN(store)(out + j, a0); FN(store)(out + j + W, a1);
        FN(store)(out + j + 2 * W, a2); FN(store)(out + j + 3 * W, a3);
    }
    for (; j + W <= n; j += W) {
        const float *p = x + j;
        VF a = FN(load)(p);
        for (long r = 1; r < rows; r++) { p += stride; a += FN(load)(p); }
        FN(store)(out + j, a);
    }
    for (; j < n; j++) {
        const float *p = x + j;
        float a = *p;
        for (long r = 1; r < rows; r++) { p += stride; a += *p; }
        out[j] = a;
    }
}

INLINE VD FN(lo)(VF v) { return __builtin_convertvector(v.lo, VD); }
INLINE VD FN(hi)(VF v) { return __builtin_convertvector(v.hi, VD); }
INLINE double FN(hsumd)(VD v) {
    double lanes[W / 2], total = 0;
    memcpy(lanes, &v, sizeof v);
    for (int j = 0; j < W / 2; j++) total += lanes[j];
    return total;
}

/// Layer-norm row statistics: mean and 1/√(var + eps), both passes accumulated in Float64.
TARGET static void FN(layer_norm_statistics)(const float *x, long rows, long width, double eps,
                                             double *mean, double *inverse_std) {
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * width;
        VD s0 = 0, s1 = 0;
        long j = 0;
        for (; j + W <= width; j += W) { VF v = FN(load)(row + j); s0 += FN(lo)(v); s1 += FN(hi)(v); }
        double total = FN(hsumd)(s0 + s1);
        for (; j < width; j++) total += row[j];
        double mu = total / (double)width;
        VD d0 = 0, d1 = 0;
        j = 0;
        for (; j + W <= width; j += W) {
            VF v = FN(load)(row + j);
            VD a = FN(lo)(v) - mu, b = FN(hi)(v) - mu;
            d0 += a * a; d1 += b * b;
        }
        double squares = FN(hsumd)(d0 + d1);
        for (; j < width; j++) { double d = row[j] - mu; squares += d * d; }
        mean[r] = mu;
        inverse_std[r] = 1.0 / __builtin_sqrt(squares / (double)width + eps);
    }
}

/// y = (x − μ)·σ⁻¹·γ + β per row (γ, β may be NULL: 1 and 0).
TARGET static void FN(layer_norm_forward)(const float *x, long rows, long width, const double *mean,
                                          const double *inverse_std, const float *gamma, const float *beta,
                                          float *out) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * width;
        float *yr = out + r * width;
        float mu = (float)mean[r], inv = (float)inverse_std[r];
        long j = 0;
        for (; j + W <= width; j += W) {
            VF y = (FN(load)(xr + j) - mu) * inv;
            if (gamma) y = y * FN(load)(gamma + j);
            if (beta) y = y + FN(load)(beta + j);
            FN(store)(yr + j, y);
        }
        for (; j < width; j++) {
            float y = (xr[j] - mu) * inv;
            if (gamma) y = y * gamma[j];
            if (beta) y = y + beta[j];
            yr[j] = y;
        }
    }
}

/// dx = σ⁻¹·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) per row, ĝ = dy ⊙ γ (γ may be NULL), the two row sums
/// in Float64.
TARGET static void FN(layer_norm_input_gradient)(const float *x, const float *g, const float *gamma,
                                                 const double *mean, const double *inverse_std,
                                                 long rows, long width, float *out) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * width, *gr = g + r * width;
        float *outRow = out + r * width;
        double mu = mean[r], inverse = inverse_std[r];
        VD a0 = 0, a1 = 0, b0 = 0, b1 = 0;
        long j = 0;
        for (; j + W <= width; j += W) {
            VF s = FN(load)(gr + j);
            if (gamma) s = s * FN(load)(gamma + j);
            VF v = FN(load)(xr + j);
            VD slo = FN(lo)(s), shi = FN(hi)(s);
            a0 += slo; a1 += shi;
            b0 += slo * (FN(lo)(v) - mu); b1 += shi * (FN(hi)(v) - mu);
        }
        double sumG = FN(hsumd)(a0 + a1), sumGX = FN(hsumd)(b0 + b1);
        for (; j < width; j++) {
            float s = gamma ? gr[j] * gamma[j] : gr[j];
            sumG += s;
            sumGX += (double)s * ((double)xr[j] - mu);
        }
        float meanG = (float)(sumG / (double)width), meanGXhat = (float)(sumGX * inverse / (double)width);
        float tMu = (float)mu, tInverse = (float)inverse;
        j = 0;
        for (; j + W <= width; j += W) {
            VF s = FN(load)(gr + j);
            if (gamma) s = s * FN(load)(gamma + j);
            VF xhat = (FN(load)(xr + j) - tMu) * tInverse;
            FN(store)(outRow + j, tInverse * (s - meanG - xhat * meanGXhat));
        }
        for (; j < width; j++) {
            float s = gamma ? gr[j] * gamma[j] : gr[j];
            float xhat = (xr[j] - tMu) * tInverse;
            outRow[j] = tInverse * (s - meanG - xhat * meanGXhat);
        }
    }
}

/// dγ_j += Σ_r dy_rj·(x_rj − μ_r)·σ⁻¹_r and dβ_j += Σ_r dy_rj in Float64 for columns
/// start ..< start + n, rows in order. No multiply-add contraction here, so vector lanes and the
/// scalar tail compute exactly what the plain Swift loop computes (the column split over threads
/// must not change any bit).
TARGET static void FN(layer_norm_parameter_gradients)(const float *x, const float *g, const double *mean,
                                                      const double *inverse_std, long rows, long width,
                                                      long start, long n, double *dgamma, double *dbeta) {
#pragma clang fp contract(off)
    long j = 0;
    for (; j + W <= n; j += W) {
        VD w0, w1, c0, c1;
        memcpy(&w0, dgamma + j, sizeof w0); memcpy(&w1, dgamma + j + W / 2, sizeof w1);
        memcpy(&c0, dbeta + j, sizeof c0); memcpy(&c1, dbeta + j + W / 2, sizeof c1);
        for (long r = 0; r < rows; r++) {
            const float *xr = x + r * width + start + j, *gr = g + r * width + start + j;
            double mu = mean[r], inverse = inverse_std[r];
            VF dy = FN(load)(gr), v = FN(load)(xr);
            VD dlo = FN(lo)(dy), dhi = FN(hi)(dy);
            w0 += dlo * ((FN(lo)(v) - mu) * inverse);
            w1 += dhi * ((FN(hi)(v) - mu) * inverse);
            c0 += dlo; c1 += dhi;
        }
        memcpy(dgamma + j, &w0, sizeof w0); memcpy(dgamma + j + W / 2, &w1, sizeof w1);
        memcpy(dbeta + j, &c0, sizeof c0); memcpy(dbeta + j + W / 2, &c1, sizeof c1);
    }
    for (; j < n; j++) {
        double w = dgamma[j], c = dbeta[j];
        for (long r = 0; r < rows; r++) {
            double dy = g[r * width + start + j];
            w += dy * (((double)x[r * width + start + j] - mean[r]) * inverse_std[r]);
            c += dy;
        }
        dgamma[j] = w; dbeta[j] = c;
    }
}

#undef CAT2
#undef CAT
#undef FN
#undef VF
#undef VI
#undef VH
#undef VD
#undef INLINE
