import Foundation
import Testing
@testable import BonsaiTensor

/// The Float32 rational `erf` against libm's double-precision `erf` over the whole line.
@Suite struct FastErfTests {
    @Test func matchesLibmWithinAFewUlp() {
        var worstRelative = 0.0, worstAbsolute = 0.0
        var x = -6.0
        while x <= 6.0 {
            let exact = Foundation.erf(x)
            let approx = Double(FastErf.erf(Float(x)))
            let absolute = abs(approx - exact)
            worstAbsolute = max(worstAbsolute, absolute)
            if abs(exact) > 1e-30 { worstRelative = max(worstRelative, absolute / abs(exact)) }
            x += 0.000_37
        }
        #expect(worstRelative < 1e-6, "relative error \(worstRelative)")
        #expect(worstAbsolute < 5e-7, "absolute error \(worstAbsolute)")
    }

    @Test func oddBoundedAndExactAtTheEnds() {
        for x: Float in [0, 1e-30, 1e-8, 0.1, 0.5, 1, 2, 3.9, 4, 10, .greatestFiniteMagnitude, .infinity] {
            #expect(FastErf.erf(-x) == -FastErf.erf(x))
            #expect(abs(FastErf.erf(x)) <= 1)
        }
        #expect(FastErf.erf(0) == 0)
        #expect(FastErf.erf(10) == 1 && FastErf.erf(.infinity) == 1 && FastErf.erf(-.infinity) == -1)
        #expect(FastErf.erf(.nan).isNaN)
    }
}

/// The Float32 `exp` without libm against libm's double-precision `exp`.
@Suite struct FastExpTests {
    @Test func matchesLibmWithinAFewUlp() {
        var worst = 0.0
        var x = -87.0
        while x <= 88.0 {
            let exact = Foundation.exp(x)
            let approx = Double(FastExp.exp(Float(x)))
            // Compare against exp of the Float-rounded input: the input rounding is not the kernel's error.
            let reference = Foundation.exp(Double(Float(x)))
            worst = max(worst, abs(approx - reference) / reference)
            _ = exact
            x += 0.0173
        }
        #expect(worst < 1e-6, "relative error \(worst)")
        #expect(FastExp.exp(0) == 1)
        #expect(FastExp.exp(-1000) > 0 && FastExp.exp(-1000) < 1e-37)
        #expect(FastExp.exp(1000).isFinite)
    }
}
