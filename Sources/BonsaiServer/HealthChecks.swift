import BonsaiStore
import Foundation
import Hummingbird

/// What `/healthz` and `/metrics` say about the data directory. The process being up is not
/// enough: with a full or read-only disk the server still answers reads, but no job can make
/// progress, so a load balancer or an operator must see it.
extension BonsaiServer {
    /// `/healthz`: 200 `{"status":"ok","checks":{…}}`, or 503 `{"status":"degraded",…}` when the data
    /// directory refuses a 4 KiB probe write (full, read-only) or the store cannot be read.
    func healthResponse() async throws -> Response {
        let root = layout.root, store = self.store
        let (disk, storeReadable) = try await Blocking.run { () -> (DataDirStatus, Bool) in
            (DataDirStatus.probe(root), (try? store.countsByStatus()) != nil)
        }
        var checks: [String: Any] = ["data_dir_writable": disk.writable, "free_bytes": disk.freeBytes, "store_readable": storeReadable,
                                     "store_write_errors": StoreHealth.writeErrors]
        if let problem = disk.problem { checks["data_dir_problem"] = problem }
        let healthy = disk.writable && storeReadable
        return try JSONBody.response(["status": healthy ? "ok" : "degraded", "checks": checks],
                                     status: healthy ? .ok : .serviceUnavailable)
    }

    /// Gauges and counters of the data directory, appended to the `/metrics` exposition.
    static func storageMetrics(root: String) -> String {
        let disk = DataDirStatus.probe(root)
        return """
            # HELP bonsai_data_dir_writable Whether a probe write to the data directory succeeds (1) or not (0).
            # TYPE bonsai_data_dir_writable gauge
            bonsai_data_dir_writable \(disk.writable ? 1 : 0)
            # HELP bonsai_data_dir_free_bytes Bytes available to the server on the data directory's file system.
            # TYPE bonsai_data_dir_free_bytes gauge
            bonsai_data_dir_free_bytes \(disk.freeBytes)
            # HELP bonsai_store_write_errors_total Store write transactions that failed with a database or disk error.
            # TYPE bonsai_store_write_errors_total counter
            bonsai_store_write_errors_total \(StoreHealth.writeErrors)

            """
    }
}
