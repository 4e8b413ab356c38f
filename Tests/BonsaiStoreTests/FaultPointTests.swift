import Foundation
import Testing
@testable import BonsaiStore

/// The fault-injection hook's rule language (docs/reliability.md): `action:point:n`, `n+`, `n-m`.
@Suite(.serialized) struct FaultPointTests {
    @Test func parsesRules() {
        let rules = FaultPoint.parse("crash:artifact-rename:2,stop:step,enospc:snapshot-write:3+,erofs:store-commit:2-4")
        #expect(rules == [
            .init(action: .crash, point: "artifact-rename", first: 2, last: 2),
            .init(action: .stop, point: "step", first: 1, last: 1),
            .init(action: .enospc, point: "snapshot-write", first: 3, last: Int.max),
            .init(action: .erofs, point: "store-commit", first: 2, last: 4),
        ])
        #expect(FaultPoint.parse(nil).isEmpty && FaultPoint.parse("").isEmpty)
        #expect(FaultPoint.parse("explode:step:1,crash:step:0,crash:step:4-2,crash").isEmpty, "malformed rules are ignored")
    }

    /// Injected errors fire exactly on the counted hits and are classified as disk faults.
    @Test func firesOnTheCountedHitsOnly() throws {
        FaultPoint.arm("enospc:fault-point-test:2-3")
        defer { FaultPoint.arm(nil) }
        var outcomes: [Bool] = []
        for _ in 0..<5 {
            do { try FaultPoint.hit("fault-point-test"); outcomes.append(false) } catch {
                #expect(StoreHealth.isDiskFault(error))
                outcomes.append(true)
            }
        }
        #expect(outcomes == [false, true, true, false, false])
        try FaultPoint.hit("another-point")
    }
}
