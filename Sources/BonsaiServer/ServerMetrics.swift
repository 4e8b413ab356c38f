import BonsaiStore
import Foundation

/// Request counters and a latency histogram for `/metrics` (Prometheus text format 0.0.4).
public final class ServerMetrics: @unchecked Sendable {
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
    private let lock = NSLock()
    private var counts: [String: [Int]] = [:]
    private var sums: [String: Double] = [:]
    private var totals: [String: Int] = [:]
    private var requests: [String: Int] = [:]

    public init() {}

    func observe(seconds: Double, method: String, status: Int) {
        lock.withLock {
            var c = counts[method] ?? [Int](repeating: 0, count: Self.buckets.count)
            for (i, b) in Self.buckets.enumerated() where seconds <= b { c[i] += 1 }
            counts[method] = c
            sums[method, default: 0] += seconds
            totals[method, default: 0] += 1
            requests["\(method) \(status)", default: 0] += 1
        }
    }

    /// The exposition text, with queue depth and jobs by state read from the store.
    func render(store: Store, runningHere: Int) throws -> String {
        let byStatus = try store.countsByStatus()
        var out = "# HELP bonsai_queue_depth Jobs waiting to run.\n# TYPE bonsai_queue_depth gauge\n"
        out += "bonsai_queue_depth \(byStatus[.queued] ?? 0)\n"
        out += "# HELP bonsai_jobs Jobs by status.\n# TYPE bonsai_jobs gauge\n"
        for s in JobStatus.allCases { out += "bonsai_jobs{status=\"\(s.rawValue)\"} \(byStatus[s] ?? 0)\n" }
        out += "# HELP bonsai_worker_jobs_running Jobs training in this process.\n# TYPE bonsai_worker_jobs_running gauge\n"
        out += "bonsai_worker_jobs_running \(runningHere)\n"
        lock.withLock {
            out += "# HELP bonsai_http_requests_total HTTP requests by method and status.\n# TYPE bonsai_http_requests_total counter\n"
            for (key, n) in requests.sorted(by: { $0.key < $1.key }) {
                let parts = key.split(separator: " ")
                out += "bonsai_http_requests_total{method=\"\(parts[0])\",status=\"\(parts[1])\"} \(n)\n"
            }
            out += "# HELP bonsai_http_request_duration_seconds Request latency.\n# TYPE bonsai_http_request_duration_seconds histogram\n"
            for (method, c) in counts.sorted(by: { $0.key < $1.key }) {
                for (i, b) in Self.buckets.enumerated() {
                    out += "bonsai_http_request_duration_seconds_bucket{method=\"\(method)\",le=\"\(b)\"} \(c[i])\n"
                }
                out += "bonsai_http_request_duration_seconds_bucket{method=\"\(method)\",le=\"+Inf\"} \(totals[method] ?? 0)\n"
                out += "bonsai_http_request_duration_seconds_sum{method=\"\(method)\"} \(sums[method] ?? 0)\n"
                out += "bonsai_http_request_duration_seconds_count{method=\"\(method)\"} \(totals[method] ?? 0)\n"
            }
        }
        return out
    }
}
