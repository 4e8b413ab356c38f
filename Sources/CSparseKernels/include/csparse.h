#ifndef CSPARSE_H
#define CSPARSE_H

#include <stdint.h>

/// Sparse matrix × vector over CSR rows [row_begin, row_end), single precision:
///     y[r] = (bias ? bias[r] : 0) + sum_{p in row_start[r]..<row_start[r+1]} values[p] * x[columns[p]]
/// Uses AVX-512 gathers when the CPU has them (checked once at run time), else a scalar loop.
void csparse_spmv_f32(int64_t row_begin, int64_t row_end, const int64_t *row_start, const int32_t *columns,
                      const float *values, const float *x, float *y, const float *bias);

/// 1 when the AVX-512 path is available on this CPU.
int csparse_has_avx512(void);

#endif
