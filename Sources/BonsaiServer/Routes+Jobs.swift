import BonsaiJobs
import BonsaiPruning
import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird

extension BonsaiServer {
    func addJobRoutes(to v1: RouterGroup<BonsaiRequestContext>) {
        v1.post("jobs") { request, context in try await self.submit(request, context) }
        v1.get("jobs") { request, context in try await self.list(request, context) }
        v1.get("jobs/:id") { request, context in try await self.show(request, context) }
        v1.get("jobs/:id/metrics") { request, context in try await self.metrics(request, context) }
        v1.post("jobs/:id/cancel") { request, context in try await self.cancel(request, context) }
        v1.delete("jobs/:id") { request, context in try await self.delete(request, context) }
    }

    /// `POST /v1/jobs`: validates the spec (422 naming the field), honours `Idempotency-Key`, and
    /// answers 202 with `Location` only after the job is committed.
    func submit(_ request: Request, _ context: BonsaiRequestContext) async throws -> Response {
        let tenant = try context.tenant()
        let buffer = try await request.body.collect(upTo: config.maxBodyBytes)
        let body = Data(buffer.readableBytesView)
        let key = request.headers[HTTPField.Name("Idempotency-Key")!]
        if let key, key.isEmpty || key.count > 255 { throw Problem.invalid("Idempotency-Key", "must be 1–255 characters") }
        let store = self.store
        // Parse first (cheap, no I/O): an invalid body never reserves a key.
        let submitted: SubmittedSpec
        do { submitted = try SubmittedSpec.parse(body) } catch { throw Problem.from(error) }
        if let key {
            let hash = submitted.requestHash
            let reservation = try await Blocking.run { try store.reserveIdempotencyKey(tenant: tenant, key: key, requestHash: hash) }
            if case let .existing(id) = reservation {
                let job = try await Blocking.run { try store.job(id: id, tenant: tenant) }
                return try JSONBody.response(JSONBody.job(job), status: .accepted,
                                             headers: [.location: "/v1/jobs/\(id)", HTTPField.Name("Idempotent-Replayed")!: "true"])
            }
        }
        let spec = submitted.spec
        try await Blocking.run { try Uploads.check(spec, tenant: tenant, store: store) }
        let maxAttempts = config.workers.maxAttempts
        let job: JobRecord
        do {
            job = try await Blocking.run {
                try store.submit(NewJob(tenant: tenant, spec: submitted.canonicalJSON, priority: submitted.priority, maxAttempts: maxAttempts),
                                 idempotencyKey: key)
            }
        } catch {
            if let key { try? await Blocking.run { try store.releaseIdempotencyKey(tenant: tenant, key: key) } }
            throw error
        }
        pool?.wake()
        return try JSONBody.response(JSONBody.job(job), status: .accepted, headers: [.location: "/v1/jobs/\(job.id)"])
    }

    func list(_ request: Request, _ context: BonsaiRequestContext) async throws -> Response {
        let tenant = try context.tenant()
        let q = request.uri.queryParameters
        var status: JobStatus?
        if let raw = q.get("status") {
            guard let s = JobStatus(rawValue: raw) else {
                throw Problem.invalid("status", "must be one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            status = s
        }
        var limit = 50
        if let raw = q.get("limit") {
            guard let l = Int(raw), (1...200).contains(l) else { throw Problem.invalid("limit", "must be an integer in 1…200") }
            limit = l
        }
        var before: Int64?
        if let raw = q.get("cursor") {
            guard let c = Int64(raw), c > 0 else { throw Problem.invalid("cursor", "not a cursor returned by this endpoint") }
            before = c
        }
        let store = self.store
        let (statusFilter, cursor, pageSize) = (status, before, limit)
        let jobs = try await Blocking.run { try store.jobs(tenant: tenant, status: statusFilter, before: cursor, limit: pageSize + 1) }
        let page = Array(jobs.prefix(limit))
        let next: Any = jobs.count > limit ? String(page.last!.seq) : NSNull()
        return try JSONBody.response(["jobs": page.map { JSONBody.job($0, includeSpec: false) }, "next_cursor": next])
    }

    func show(_ request: Request, _ context: BonsaiRequestContext) async throws -> Response {
        let tenant = try context.tenant()
        let id = try Identifiers.jobID(context.parameters.get("id"))
        let store = self.store
        let ifNoneMatch = request.headers[.ifNoneMatch]
        @Sendable func matches(_ etag: String) -> Bool {
            ifNoneMatch?.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) ?? false
        }
        // One hop to the blocking queue: the job, and its pruning events unless the poll is a 304.
        let (job, events) = try await Blocking.run { () -> (JobRecord, [PruningEventRow]) in
            let job = try store.job(id: id, tenant: tenant)
            return (job, matches(JSONBody.etag(job)) ? [] : try store.pruningEvents(jobSeq: job.seq))
        }
        let etag = JSONBody.etag(job)
        if matches(etag) {
            return Response(status: .notModified, headers: [.eTag: etag])
        }
        var object = JSONBody.job(job)
        object["pruning_events"] = events.map {
            ["name": $0.name, "phase": $0.phase, "step": $0.step, "sparsity": $0.sparsity, "accuracy_before": $0.accuracyBefore,
             "accuracy_after": $0.accuracyAfter, "instability": $0.instability] as [String: Any]
        }
        return try JSONBody.response(object, headers: [.eTag: etag, .cacheControl: "no-cache"])
    }

    func metrics(_ request: Request, _ context: BonsaiRequestContext) async throws -> Response {
        let tenant = try context.tenant()
        let id = try Identifiers.jobID(context.parameters.get("id"))
        let q = request.uri.queryParameters
        let key = q.get("key")
        var since: Int?
        if let raw = q.get("since") {
            guard let s = Int(raw), s >= 0 else { throw Problem.invalid("since", "must be a non-negative step") }
            since = s
        }
        let store = self.store
        let sinceStep = since
        let samples = try await Blocking.run { () -> [MetricSample] in
            let job = try store.job(id: id, tenant: tenant)
            return try store.metrics(jobSeq: job.seq, key: key, sinceStep: sinceStep)
        }
        return try JSONBody.response(["job": id, "metrics": samples.map {
            ["key": $0.key, "step": $0.step, "value": $0.value.map { $0 as Any } ?? NSNull(), "time": JSONBody.time($0.time)] as [String: Any]
        }])
    }

    func cancel(_ request: Request, _ context: BonsaiRequestContext) async throws -> Response {
        let tenant = try context.tenant()
        let id = try Identifiers.jobID(context.parameters.get("id"))
        let store = self.store
        let job = try await Blocking.run { try store.requestCancel(id: id, tenant: tenant) }
        if job.status == .running { pool?.cancel(jobID: id) }
        return try JSONBody.response(JSONBody.job(job), status: .accepted)
    }

    func delete(_ request: Request, _ context: BonsaiRequestContext) async throws -> Response {
        let tenant = try context.tenant()
        let id = try Identifiers.jobID(context.parameters.get("id"))
        let store = self.store, layout = self.layout
        try await Blocking.run {
            let files = try store.delete(id: id, tenant: tenant)
            layout.remove(files, jobID: id)
        }
        return Response(status: .noContent)
    }
}
