// Sparse × dense-vector kernel for batch-1 inference (see SparseGemm.swift for the contract).
//
// Why C: the gathered dot product of CSR SpMV is bound by load ports in scalar code (value, index
// and x[index] are three loads per non-zero, ~1.5 cycles on current x86). AVX-512's vgatherdps
// fetches 16 x[index] values per instruction, which Swift cannot emit for the baseline x86-64
// target this package builds for. The vector path is compiled for AVX-512F only through a function
// attribute and chosen at run time, so the binary still runs on any x86-64 (scalar fallback), and
// on other architectures only the scalar loop is compiled.
#include "csparse.h"

static void spmv_scalar(int64_t row_begin, int64_t row_end, const int64_t *row_start, const int32_t *columns,
                        const float *values, const float *x, float *y, const float *bias) {
    for (int64_t r = row_begin; r < row_end; r++) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int64_t p = row_start[r], end = row_start[r + 1];
        for (; p + 4 <= end; p += 4) {
            s0 += values[p] * x[columns[p]];
            s1 += values[p + 1] * x[columns[p + 1]];
            s2 += values[p + 2] * x[columns[p + 2]];
            s3 += values[p + 3] * x[columns[p + 3]];
        }
        for (; p < end; p++) s0 += values[p] * x[columns[p]];
        y[r] = (bias ? bias[r] : 0.0f) + ((s0 + s1) + (s2 + s3));
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f")))
static void spmv_avx512(int64_t row_begin, int64_t row_end, const int64_t *row_start, const int32_t *columns,
                        const float *values, const float *x, float *y, const float *bias) {
    for (int64_t r = row_begin; r < row_end; r++) {
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
        int64_t p = row_start[r], end = row_start[r + 1];
        for (; p + 32 <= end; p += 32) {
            __m512i i0 = _mm512_loadu_si512((const void *)(columns + p));
            __m512i i1 = _mm512_loadu_si512((const void *)(columns + p + 16));
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(values + p), _mm512_i32gather_ps(i0, x, 4), acc0);
            acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(values + p + 16), _mm512_i32gather_ps(i1, x, 4), acc1);
        }
        for (; p + 16 <= end; p += 16) {
            __m512i i0 = _mm512_loadu_si512((const void *)(columns + p));
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(values + p), _mm512_i32gather_ps(i0, x, 4), acc0);
        }
        if (p < end) {
            __mmask16 m = (__mmask16)((1u << (unsigned)(end - p)) - 1u);
            __m512i i0 = _mm512_maskz_loadu_epi32(m, columns + p);
            __m512 xv = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, i0, x, 4);
            acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, values + p), xv, acc1);
        }
        y[r] = (bias ? bias[r] : 0.0f) + _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    }
}

int csparse_has_avx512(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") ? 1 : 0;
    }
    return cached;
}

void csparse_spmv_f32(int64_t row_begin, int64_t row_end, const int64_t *row_start, const int32_t *columns,
                      const float *values, const float *x, float *y, const float *bias) {
    if (csparse_has_avx512()) spmv_avx512(row_begin, row_end, row_start, columns, values, x, y, bias);
    else spmv_scalar(row_begin, row_end, row_start, columns, values, x, y, bias);
}
#else
int csparse_has_avx512(void) { return 0; }

void csparse_spmv_f32(int64_t row_begin, int64_t row_end, const int64_t *row_start, const int32_t *columns,
                      const float *values, const float *x, float *y, const float *bias) {
    spmv_scalar(row_begin, row_end, row_start, columns, values, x, y, bias);
}
#endif
