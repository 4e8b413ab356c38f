import BonsaiJobs
import BonsaiStore
import Foundation
import Testing
@testable import BonsaiServer

/// How the worker pool records failures: deterministic ones fail once with their cause, and a
/// cancel request reaches a running pipeline at its next step.
@Suite(.serialized) struct FailureTests {
    func waitFinished(_ store: any JobStore, _ id: String) async throws -> JobRecord {
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if let job = try store.job(id: id), job.status.isTerminal { return job }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try #require(try store.job(id: id))
    }

    @Test func deterministicFailureFailsOnceWithItsCause() async throws {
        let t = try TestServer(workers: 1)
        let store = t.server.store
        // A spec that passed no validation (inserted directly): the run fails on it, and retrying would not help.
        let bad = tinySpec().replacingOccurrences(of: #""lenet300""#, with: #""lenet9000""#)
        let job = try store.submit(NewJob(tenant: "acme", spec: bad, maxAttempts: 3))
        let pool = try #require(t.server.pool)
        try pool.start()
        let done = try await waitFinished(store, job.id)
        pool.drain()
        #expect(done.status == .failed && done.attempts == 1, "\(done.status) after \(done.attempts) attempt(s)")
        #expect(done.error?.contains("model.architecture") == true, "\(done.error ?? "")")
    }

    @Test func cancelReachesARunningJob() async throws {
        let t = try TestServer(workers: 1)
        let store = t.server.store
        let submitted = try SubmittedSpec.parse(Data(tinySpec(steps: 100_000).utf8))
        let job = try store.submit(NewJob(tenant: "acme", spec: submitted.canonicalJSON))
        let pool = try #require(t.server.pool)
        try pool.start()
        while (try store.job(id: job.id)?.completedSteps ?? 0) < 5 { try await Task.sleep(for: .milliseconds(20)) }
        // Through the store only (as another process would): the heartbeat carries the request to the worker.
        #expect(try store.requestCancel(id: job.id, tenant: "acme").status == .running)
        let done = try await waitFinished(store, job.id)
        pool.drain()
        #expect(done.status == .cancelled)
        #expect(done.completedSteps < 100_000)
    }
}
