import CKernels

/// The direct wide-grid convolution kernels of the `CKernels` C target (AVX-512F or AVX2 + FMA,
/// chosen at run time with the target's other kernels, ``SIMDDispatch``), for Float32:
///
///     Yw[o, q] = Σ_c Σ_t W[o, c, t] · Xp[c, q + offsets[t]],     0 ≤ q < count
///
/// — the sum ``ConvWide`` otherwise runs as one thin GEMM per kernel tap. Why a C kernel: Swift
/// code here compiles for baseline x86-64 (4-wide SSE, no FMA), and raising the target for the
/// whole build would make the binary crash on CPUs without AVX2; a C function can carry its own
/// `target` attribute. Why direct: with 16–64 channels per tap the GEMMs have inner dimension
/// 16–64, so OpenBLAS spends much of its time packing; the direct kernel reads each padded input
/// vector once per (channel, tap) and feeds 8 (AVX-512) or 6 (AVX2) output channels from it,
/// with the accumulators in registers for the whole reduction.
enum ConvDirect {
    /// 2 = AVX-512F, 1 = AVX2 + FMA, 0 = none (callers keep their GEMM path): ``SIMDDispatch/level``,
    /// so `BONSAI_SIMD=portable` turns the direct kernels off too.
    static let detectedLevel = Int(SIMDDispatch.level)

    /// Whether the direct kernels run for scalars of type `T` (Float32 only, on a CPU that has them).
    static func runs<T: TensorScalar>(_: T.Type) -> Bool { T.self == Float.self && detectedLevel > 0 }

    /// Float32 padding the caller must leave readable after its padded planes (the kernel's last
    /// register block reads up to 32 floats past the last needed position).
    static let slack = 64

    /// Runs the kernel at `level` (default: the detected one). Returns false, writing nothing, when
    /// that level is not available on this CPU.
    @discardableResult
    static func wide(level: Int = detectedLevel, padded: UnsafePointer<Float>, channels: Int, plane: Int,
                     weight: UnsafePointer<Float>, outChannels: Int, offsets: [Int],
                     output: UnsafeMutablePointer<Float>, count: Int) -> Bool {
        precondition(channels > 0 && outChannels > 0 && count > 0 && !offsets.isEmpty,
                     "ConvDirect.wide: empty problem (\(channels) → \(outChannels), \(count) positions)")
        return offsets.withUnsafeBufferPointer { taps in
            bonsai_conv_wide_f32(Int32(level), padded, channels, plane, weight, outChannels,
                                 taps.baseAddress, taps.count, output, count) == 0
        }
    }

    /// `dwT[c, t, o] += Σ_{q < count} dyT[q, o] · padded[c·plane + q + offsets[t]]` for `o < ldo` at
    /// `level`, with `dyT` the output gradient on the wide grid transposed to `[count][ldo]` (zero at
    /// discarded positions and padding lanes) and `dwT` laid out `[C][taps][ldo]`. Returns false,
    /// writing nothing, when the level is not available or `ldo` is not a multiple of 16.
    @discardableResult
    static func weightGradient(level: Int = detectedLevel, padded: UnsafePointer<Float>, channels: Int, plane: Int,
                               gradTransposed dyT: UnsafePointer<Float>, ldo: Int, offsets: [Int],
                               into dwT: UnsafeMutablePointer<Float>, count: Int) -> Bool {
        precondition(channels > 0 && ldo > 0 && count > 0 && !offsets.isEmpty,
                     "ConvDirect.weightGradient: empty problem (\(channels) channels, \(ldo) lanes, \(count) positions)")
        return offsets.withUnsafeBufferPointer { taps in
            bonsai_conv_wide_weight_grad_f32(Int32(level), padded, channels, plane, dyT, ldo,
                                             taps.baseAddress, taps.count, dwT, count) == 0
        }
    }
}
