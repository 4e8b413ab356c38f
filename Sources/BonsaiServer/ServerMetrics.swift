import BonsaiStore
import Foundation

/// Request counters and latency histograms per method and route for `/metrics` (Prometheus text
/// format 0.0.4). The route label is the matched route's template (`/v1/jobs/{id}`), never the raw
/// path, so the number of series stays bounded whatever clients send; unmatched paths share one.
public final class ServerMetrics: @unchecked Sendable {
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
    private let lock = NSLock()
    private var counts: [String: [Int]] = [:]
    private var sums: [String: Double] = [:]
    private var totals: [String: Int] = [:]
    private var requests: [String: Int] = [:]

    public init() {}

    func observe(seconds: Double, method: String, route: String, status: Int) {
        let series = "method=\"\(method)\",route=\"\(Self.escape(route))\""
        lock.withLock {
            var c = counts[series] ?? [Int](repeating: 0, count: Self.buckets.count)
            for (i, b) in Self.buckets.enumerated() where seconds <= b { c[i] += 1 }
            counts[series] = c
            sums[series, default: 0] += seconds
            totals[series, default: 0] += 1
            requests["\(series),status=\"\(status)\"", default: 0] += 1
        }
    }

    /// A label value with `\`, `"` and newlines escaped as the exposition format requires.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// The exposition text, with queue depth and jobs by state read from the store.
    func render(store: any JobStore, runningHere: Int) throws -> String {
        let byStatus = try store.countsByStatus()
        var out = "# HELP bonsai_queue_depth Jobs waiting to run.\n# TYPE bonsai_queue_depth gauge\n"
        out += "bonsai_queue_depth \(byStatus[.queued] ?? 0)\n"
        out += "# HELP bonsai_jobs Jobs by status.\n# TYPE bonsai_jobs gauge\n"
        for s in JobStatus.allCases { out += "bonsai_jobs{status=\"\(s.rawValue)\"} \(byStatus[s] ?? 0)\n" }
        out += "# HELP bonsai_worker_jobs_running Jobs training in this process.\n# TYPE bonsai_worker_jobs_running gauge\n"
        out += "bonsai_worker_jobs_running \(runningHere)\n"
        lock.withLock {
            out += "# HELP bonsai_http_requests_total HTTP requests by method, route and status.\n# TYPE bonsai_http_requests_total counter\n"
            for (labels, n) in requests.sorted(by: { $0.key < $1.key }) {
                out += "bonsai_http_requests_total{\(labels)} \(n)\n"
            }
            out += "# HELP bonsai_http_request_duration_seconds Request latency by method and route.\n# TYPE bonsai_http_request_duration_seconds histogram\n"
            for (labels, c) in counts.sorted(by: { $0.key < $1.key }) {
                for (i, b) in Self.buckets.enumerated() {
                    out += "bonsai_http_request_duration_seconds_bucket{\(labels),le=\"\(b)\"} \(c[i])\n"
                }
                out += "bonsai_http_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(totals[labels] ?? 0)\n"
                out += "bonsai_http_request_duration_seconds_sum{\(labels)} \(sums[labels] ?? 0)\n"
                out += "bonsai_http_request_duration_seconds_count{\(labels)} \(totals[labels] ?? 0)\n"
            }
        }
        return out
    }
}
