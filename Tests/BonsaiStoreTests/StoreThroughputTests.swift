import Foundation
import Testing
@testable import BonsaiStore

/// A rough cost of the two hot store paths on each implementation (printed for the README's and
/// docs' figures; the bounds only catch a pathological regression, e.g. a lost index or a retry storm).
@Suite struct StoreThroughputTests {
    @Test(arguments: storeKinds) func submitAndClaimRates(_ kind: StoreKind) throws {
        let store = try TestStore(kind).store
        try store.setLimits(tenant: "acme", maxRunning: 1000, maxQueued: 1000)
        let n = 200
        let clock = ContinuousClock()
        let submitting = try clock.measure { for _ in 0..<n { _ = try store.submit(NewJob(tenant: "acme", spec: sampleSpec)) } }
        var claimed = 0
        let claiming = try clock.measure { while try store.claim(owner: "bench", leaseSeconds: 60) != nil { claimed += 1 } }
        #expect(claimed == n)
        func perSecond(_ d: Duration) -> Double { Double(n) / (Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18) }
        print("store \(kind): submit \(Int(perSecond(submitting)))/s (\(String(format: "%.2f", 1000 / perSecond(submitting))) ms each), "
              + "claim \(Int(perSecond(claiming)))/s over \(n) queued jobs")
        #expect(perSecond(submitting) > 20 && perSecond(claiming) > 20)
    }
}
