#include "CKernels.h"

#include <stdlib.h>
#include <string.h>

// One copy of the kernels per level (see LevelBody.h).
#define SUFFIX portable
#define TARGET
#define W 4
#include "LevelBody.h"
#undef SUFFIX
#undef TARGET
#undef W

#if defined(__x86_64__) || defined(__i386__)
#define BONSAI_X86 1
#define SUFFIX avx2
#define TARGET __attribute__((target("avx2,fma")))
#define W 8
#include "LevelBody.h"
#undef SUFFIX
#undef TARGET
#undef W

#define SUFFIX avx512
#define TARGET __attribute__((target("avx512f,avx2,fma")))
#define W 16
#include "LevelBody.h"
#undef SUFFIX
#undef TARGET
#undef W
#endif

static int detect(void) {
    int level = BONSAI_SIMD_PORTABLE;
#ifdef BONSAI_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) level = BONSAI_SIMD_AVX2;
    if (level == BONSAI_SIMD_AVX2 && __builtin_cpu_supports("avx512f")) level = BONSAI_SIMD_AVX512;
#endif
    const char *requested = getenv("BONSAI_SIMD");
    if (requested) {
        int cap = level;
        if (strcmp(requested, "portable") == 0) cap = BONSAI_SIMD_PORTABLE;
        else if (strcmp(requested, "avx2") == 0) cap = BONSAI_SIMD_AVX2;
        if (cap < level) level = cap;
    }
    return level;
}

int bonsai_simd_level(void) {
    static int cached = -1;  // benign race: every thread computes the same value
    int level = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (level < 0) {
        level = detect();
        __atomic_store_n(&cached, level, __ATOMIC_RELAXED);
    }
    return level;
}

static int clamp(int level) {
    int best = bonsai_simd_level();
    return level > best ? best : level;
}

void bonsai_gelu_forward_f32(int level, const float *x, float *out, long count) {
    switch (clamp(level)) {
#ifdef BONSAI_X86
    case BONSAI_SIMD_AVX512: gelu_forward_avx512(x, out, count); return;
    case BONSAI_SIMD_AVX2: gelu_forward_avx2(x, out, count); return;
#endif
    default: gelu_forward_portable(x, out, count); return;
    }
}

void bonsai_gelu_backward_f32(int level, const float *x, const float *grad, float *out, long count) {
    switch (clamp(level)) {
#ifdef BONSAI_X86
    case BONSAI_SIMD_AVX512: gelu_backward_avx512(x, grad, out, count); return;
    case BONSAI_SIMD_AVX2: gelu_backward_avx2(x, grad, out, count); return;
#endif
    default: gelu_backward_portable(x, grad, out, count); return;
    }
}

void bonsai_softmax_rows_f32(int level, float *x, long rows, long width) {
    switch (clamp(level)) {
#ifdef BONSAI_X86
    case BONSAI_SIMD_AVX512: softmax_rows_avx512(x, rows, width); return;
    case BONSAI_SIMD_AVX2: softmax_rows_avx2(x, rows, width); return;
#endif
    default: softmax_rows_portable(x, rows, width); return;
    }
}

void bonsai_sum_rows_f32(int level, const float *x, long rows, long stride, long n, float *out) {
    if (rows <= 0) {
        for (long j = 0; j < n; j++) out[j] = 0;
        return;
    }
    switch (clamp(level)) {
#ifdef BONSAI_X86
    case BONSAI_SIMD_AVX512: sum_rows_avx512(x, rows, stride, n, out); return;
    case BONSAI_SIMD_AVX2: sum_rows_avx2(x, rows, stride, n, out); return;
#endif
    default: sum_rows_portable(x, rows, stride, n, out); return;
    }
}

#ifdef BONSAI_X86
#define DISPATCH(name, ...)                                                          \
    switch (clamp(level)) {                                                          \
    case BONSAI_SIMD_AVX512: name##_avx512(__VA_ARGS__); return;                      \
    case BONSAI_SIMD_AVX2: name##_avx2(__VA_ARGS__); return;                          \
    default: name##_portable(__VA_ARGS__); return;                                    \
    }
#else
#define DISPATCH(name, ...) name##_portable(__VA_ARGS__);
#endif

void bonsai_layer_norm_statistics_f32(int level, const float *x, long rows, long width, double eps,
                                      double *mean, double *inverse_std) {
    DISPATCH(layer_norm_statistics, x, rows, width, eps, mean, inverse_std)
}

void bonsai_layer_norm_forward_f32(int level, const float *x, long rows, long width, const double *mean,
                                   const double *inverse_std, const float *gamma, const float *beta, float *out) {
    DISPATCH(layer_norm_forward, x, rows, width, mean, inverse_std, gamma, beta, out)
}

void bonsai_layer_norm_input_gradient_f32(int level, const float *x, const float *g, const float *gamma,
                                          const double *mean, const double *inverse_std, long rows, long width,
                                          float *out) {
    DISPATCH(layer_norm_input_gradient, x, g, gamma, mean, inverse_std, rows, width, out)
}

void bonsai_layer_norm_parameter_gradients_f32(int level, const float *x, const float *g, const double *mean,
                                               const double *inverse_std, long rows, long width, long start,
                                               long n, double *dgamma, double *dbeta) {
    DISPATCH(layer_norm_parameter_gradients, x, g, mean, inverse_std, rows, width, start, n, dgamma, dbeta)
}
