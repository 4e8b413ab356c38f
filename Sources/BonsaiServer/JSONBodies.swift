import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird

/// JSON responses and the API's representation of jobs.
enum JSONBody {
    static func response(_ object: Any, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: try JSONWriter.bytes(object))))
    }

    /// A stored JSON text (written by Bonsai with `JSONSerialization`, so valid) to splice in as is; nil → null.
    static func raw(_ json: String?) -> Any {
        guard let json, !json.isEmpty else { return NSNull() }
        return RawJSON(text: json)
    }

    static func parse(_ json: String?) -> Any {
        guard let json, let data = json.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) else { return NSNull() }
        return object
    }

    static func time(_ t: Double?) -> Any {
        guard let t else { return NSNull() }
        return iso.string(from: Date(timeIntervalSince1970: t))
    }

    nonisolated(unsafe) static let iso: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()

    /// A job as the API shows it.
    static func job(_ j: JobRecord, includeSpec: Bool = true) -> [String: Any] {
        var object: [String: Any] = [
            "id": j.id, "status": j.status.rawValue, "priority": j.priority, "phase": j.phase ?? NSNull(),
            "progress": ["fraction": j.progress, "completed_steps": j.completedSteps, "planned_steps": j.plannedSteps,
                         "eta_seconds": j.etaSeconds.map { $0 as Any } ?? NSNull()],
            "latest_metrics": raw(j.latestMetrics), "result": raw(j.result), "error": j.error ?? NSNull(),
            "attempts": j.attempts, "max_attempts": j.maxAttempts, "cancel_requested": j.cancelRequested,
            "created_at": time(j.createdAt), "updated_at": time(j.updatedAt), "started_at": time(j.startedAt),
            "finished_at": time(j.finishedAt),
            "links": ["self": "/v1/jobs/\(j.id)", "metrics": "/v1/jobs/\(j.id)/metrics", "events": "/v1/jobs/\(j.id)/events",
                      "weights": "/v1/jobs/\(j.id)/weights", "masks": "/v1/jobs/\(j.id)/masks", "report": "/v1/jobs/\(j.id)/report"],
        ]
        if includeSpec {
            object["spec"] = raw(j.spec)
        } else if let spec = parse(j.spec) as? [String: Any] {
            // Lists carry what a table shows instead of the whole spec.
            let dataset = spec["dataset"] as? [String: Any]
            object["summary"] = [
                "method": (spec["method"] as? [String: Any])?["name"] ?? NSNull(),
                "architecture": (spec["model"] as? [String: Any])?["architecture"] ?? NSNull(),
                "dataset": dataset?["upload"] ?? dataset?["name"] ?? NSNull(),
            ]
        }
        return object
    }

    /// The strong ETag of a job's representation: the row version changes with every write.
    static func etag(_ j: JobRecord) -> String { "\"\(j.id)-v\(j.version)\"" }
}

/// Identifiers that reach the file system or SQL are checked first: anything else is "not found".
enum Identifiers {
    static func jobID(_ raw: String?) throws -> String {
        guard let raw, raw.count == 24, raw.hasPrefix("job-"),
              raw.dropFirst(4).allSatisfy({ ("0"..."9").contains($0) || ("a"..."f").contains($0) }) else {
            throw Problem.notFound("job \(raw ?? "")")
        }
        return raw
    }
}
