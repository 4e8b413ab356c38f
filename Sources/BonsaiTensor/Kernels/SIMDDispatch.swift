import CKernels

/// The instruction-set level the C kernels (Sources/CKernels) run at: the Swift code is compiled for
/// baseline x86-64 (4-wide SSE, no FMA) so the binary runs on any x86-64 CPU, while the compute-bound
/// Float32 loops (GELU, attention softmax) are compiled in C for AVX2+FMA and AVX-512 as well and
/// chosen at run time. `BONSAI_SIMD=portable|avx2` in the environment lowers the level (to compare).
public enum SIMDDispatch {
    /// 0 portable, 1 AVX2 + FMA, 2 AVX-512F.
    public static let level = Int32(bonsai_simd_level())

    /// A readable name of ``level``.
    public static var levelName: String {
        switch level {
        case 2: "avx512"
        case 1: "avx2"
        default: "portable"
        }
    }
}
