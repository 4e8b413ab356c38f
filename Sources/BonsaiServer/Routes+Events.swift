import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird

extension BonsaiServer {
    /// `GET /v1/jobs/{id}/events`: the job's activity feed as server-sent events. Each event's id
    /// is the feed row id, so a client reconnecting with `Last-Event-ID` (or `?after=`) resumes
    /// exactly after the last event it saw. The stream ends after the job reaches a final state.
    func events(_ request: Request, _ context: BonsaiRequestContext) async throws -> Response {
        let tenant = try context.tenant()
        let id = try Identifiers.jobID(context.parameters.get("id"))
        var after: Int64 = 0
        if let raw = request.headers[HTTPField.Name("Last-Event-ID")!] ?? request.uri.queryParameters.get("after").map({ String($0) }) {
            guard let n = Int64(raw), n >= 0 else { throw Problem.invalid("Last-Event-ID", "must be an event id from this stream") }
            after = n
        }
        let store = self.store
        let job = try await Blocking.run { try store.job(id: id, tenant: tenant) }
        let seq = job.seq
        let start = after
        let body = ResponseBody { writer in
            var last = start
            var lastWrite = ContinuousClock.now
            while true {
                let cursor = last
                // Taken before the query: a write that lands after it re-wakes the loop at once.
                let generation = store.changes.generation
                let batch = try await Blocking.run { try store.events(jobSeq: seq, after: cursor) }
                var text = ""
                for e in batch {
                    text += "id: \(e.id)\nevent: \(e.kind)\ndata: \(e.data)\n\n"
                    last = e.id
                }
                if !text.isEmpty { try await writer.write(ByteBuffer(string: text)); lastWrite = .now }
                if batch.count < 500 {
                    let current = try await Blocking.run { try store.job(id: id) }
                    guard let current, !current.status.isTerminal else {
                        // Final state reached (or job deleted): drain anything written meanwhile, then end.
                        let final = last
                        let rest = try await Blocking.run { try store.events(jobSeq: seq, after: final) }
                        if !rest.isEmpty {
                            try await writer.write(ByteBuffer(string: rest.map { "id: \($0.id)\nevent: \($0.kind)\ndata: \($0.data)\n\n" }.joined()))
                        }
                        break
                    }
                    // Wake on this process's next write, or poll anyway after 250 ms (writes by
                    // other processes sharing the store do not ring the bell).
                    _ = try await store.changes.wait(after: generation, timeout: .milliseconds(250))
                    if ContinuousClock.now - lastWrite > .seconds(15) {
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                        lastWrite = .now
                    }
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}
