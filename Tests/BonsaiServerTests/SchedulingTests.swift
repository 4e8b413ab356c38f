import BonsaiJobs
import BonsaiStore
import Dispatch
import Foundation
import Testing
@testable import BonsaiServer

/// What keeps status polls fast while workers train: training threads rank below request handling,
/// and an authenticated token skips its store read for a few seconds.
@Suite struct SchedulingTests {
    /// The nice value of a thread running on a queue of `priority` (Linux: per-thread nice).
    private func niceValue(on priority: TrainingPriority) -> Int32 {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var value: Int32 = 0
        DispatchQueue(label: "nice-probe", qos: priority.qos).async {
            value = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
            done.signal()
        }
        done.wait()
        return value
    }

    @Test func backgroundTrainingRanksBelowTheServersThreads() {
        // Hummingbird's event loops run at nice 0 and the blocking queue at user-initiated.
        let server = niceValue(on: .userInitiated)
        #expect(niceValue(on: .background) == 10)
        #expect(niceValue(on: .utility) > 0)
        #expect(server <= 0)
        #expect(JobsConfig().trainingPriority == .background)
    }

    @Test func trainingPriorityIsConfigurable() throws {
        let config = try JSONDecoder().decode(JobsConfig.self, from: Data(#"{"training_priority": "user-initiated"}"#.utf8))
        #expect(config.trainingPriority == .userInitiated)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(JobsConfig.self, from: Data(#"{"training_priority": "realtime"}"#.utf8))
        }
    }

    @Test func tokenCacheExpiresAndStaysBounded() {
        let cache = TokenCache(ttl: .seconds(5), capacity: 3)
        let t0 = ContinuousClock.now
        let alice = Principal(tenant: "alice", admin: false)
        cache.insert(alice, forToken: "a", now: t0)
        #expect(cache.principal(forToken: "a", now: t0 + .seconds(4)) == alice)
        #expect(cache.principal(forToken: "a", now: t0 + .seconds(5)) == nil)
        #expect(cache.principal(forToken: "b", now: t0) == nil)
        for token in ["1", "2", "3"] { cache.insert(alice, forToken: token, now: t0) }
        cache.insert(alice, forToken: "4", now: t0)
        #expect(cache.principal(forToken: "1", now: t0) == nil)
        #expect(cache.principal(forToken: "4", now: t0) == alice)
    }
}
