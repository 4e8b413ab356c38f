import BonsaiTensor
import Dispatch
import Foundation

/// The element-wise section of `bonsai bench engine`: memory bandwidth of the element-wise loops
/// the ops run, against a copy of the same size measured in the same run.
///
/// Bytes counted per element: 4 per Float read plus 4 per Float written (`add`: 12, `relu`: 8, a
/// copy: 8); write-allocate traffic is not counted. The reference is `memcpy`, once on one thread
/// and once split into one contiguous `memcpy` per thread of the budget (the same split the kernels
/// use); the ratio is a kernel's rate over the better of the two. Large `memcpy`s use
/// non-temporal stores (no read of the destination), which a plain store loop cannot, so a
/// store loop tops out somewhat below the copy. Each figure is the median of the repetitions,
/// every repetition preceded by one reference copy.
///
/// The kernels write into preallocated buffers (`ElementwiseKernels`, the ops' own loops); the
/// `tensor …` lines run the public ops, whose output is a fresh tensor, so they include the
/// allocation and first touch of that tensor. Blocks of 1 MB and more come from the engine's
/// cache of freed blocks (`LargeBlockCache`), so from the second repetition on they are pages
/// already mapped; without it glibc maps a fresh block above 32 MB every time and the page faults
/// cut these rows to a third of the in-place loops.
struct ElementwiseBandwidth {
    let count: Int, repetitions: Int, threads: Int
    let time: (() -> Void) -> Double

    struct Row { var name: String, bytes: Double, seconds: Double, reference: Double }

    func run() -> [String] {
        let n = count
        let a = UnsafeMutablePointer<Float>.allocate(capacity: n), b = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { a.deallocate(); b.deallocate(); out.deallocate() }
        var rng = RandomGenerator(seed: 3)
        for i in 0..<n {
            a[i] = Float(rng.nextUnit() - 0.5)
            b[i] = rng.nextUnit() < 0.5 ? 0 : 1  // a 0/1 mask, a fine second operand for add/mul too
            out[i] = 0
        }
        let (ca, cb, co) = (UnsafePointer(a), UnsafePointer(b), out)
        let floats = Double(n) * 4
        let copySingle = { _ = memcpy(co, ca, n * 4) }
        nonisolated(unsafe) let sendA = ca
        nonisolated(unsafe) let sendOut = co
        let workers = threads
        let copyParallel = {
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let start = n * w / workers, end = n * (w + 1) / workers
                _ = memcpy(sendOut + start, sendA + start, (end - start) * 4)
            }
        }
        let kernels: [(String, Double, () -> Void)] = [
            ("memcpy, 1 thread", 2, copySingle),
            ("memcpy, \(threads) threads", 2, copyParallel),
            ("add        a + b", 3, { ElementwiseKernels.add(ca, cb, into: co, count: n) }),
            ("mul        a · b", 3, { ElementwiseKernels.multiply(ca, cb, into: co, count: n) }),
            ("relu       max(x, 0)", 2, { ElementwiseKernels.relu(ca, into: co, count: n) }),
            ("relu bwd   x > 0 ? g : 0", 3, { ElementwiseKernels.reluBackward(ca, cb, into: co, count: n) }),
            ("masked mul m ≠ 0 ? x : 0", 3, { ElementwiseKernels.masked(ca, cb, into: co, count: n) }),
        ]
        var rows: [Row] = kernels.map { name, passes, body in measure(name, bytes: passes * floats, body, reference: copySingle) }
        let x = Tensor(shape: [n], scalars: Array(UnsafeBufferPointer(start: ca, count: n)))
        let m = Tensor(shape: [n], scalars: Array(UnsafeBufferPointer(start: cb, count: n)))
        var sink = x
        rows.append(measure("tensor x + m (allocates)", bytes: 3 * floats, { sink = x + m }, reference: copySingle))
        rows.append(measure("tensor relu (allocates)", bytes: 2 * floats, { sink = x.relu() }, reference: copySingle))
        _ = sink.count
        // The reference of a row is the better copy; the copy rows themselves are measured against the single copy.
        let best = rows.prefix(2).map { $0.bytes / $0.seconds }.max() ?? .nan
        var lines = [String(format: "elementwise: %d Floats (%.0f MB per tensor), GB/s = bytes read + written / time; ratio to the faster memcpy (%.1f GB/s)",
                            n, floats / 1e6, best / 1e9)]
        for row in rows {
            let rate = row.bytes / row.seconds
            lines.append("  \(row.name.padded(28)) " + String(format: "%7.1f GB/s  %5.0f%% of memcpy", rate / 1e9, rate / best * 100))
        }
        return lines
    }

    /// Median seconds of `body` over the repetitions (after one warm-up), each preceded by `reference`.
    private func measure(_ name: String, bytes: Double, _ body: () -> Void, reference: () -> Void) -> Row {
        body()
        var samples: [Double] = [], references: [Double] = []
        for _ in 0..<repetitions {
            references.append(time(reference))
            samples.append(time(body))
        }
        return Row(name: name, bytes: bytes, seconds: samples.median, reference: references.median)
    }
}
