import BonsaiJobs
import BonsaiPostgres
import Foundation

/// The server's configuration. Sources, later ones winning: the embedded defaults (so `bonsai
/// serve` runs with no file), the JSON config file (`config/bonsai.json` documents every key),
/// environment variables (`BONSAI_HOST`, `BONSAI_PORT`, `BONSAI_STORE_DIR`, `BONSAI_STORE_URL`, `BONSAI_WORKERS`,
/// `BONSAI_THREADS_PER_JOB`, `BONSAI_ADMIN_TOKEN`, `BONSAI_MAX_BODY_BYTES`), then command-line flags.
public struct ServerConfig: Codable, Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Database and job files (snapshots, artifacts).
    public var dataDir = "./bonsai-data"
    /// The job store: "sqlite" (a file under `dataDir`) or a `postgres://user:password@host:port/db`
    /// URL shared by several servers (whose `dataDir` must then be one shared filesystem).
    public var store = "sqlite"
    /// Where the built-in data sets are (default: BONSAI_DATA_DIR or the repository's `data/`).
    public var datasetsDir: String?
    /// An admin token to install on start (else the first start on an empty store prints one).
    public var adminToken: String?
    /// Largest accepted request body in bytes (413 above).
    public var maxBodyBytes = 1 << 20
    /// Largest accepted upload (`POST /v1/models`) in bytes.
    public var maxUploadBytes = 64 << 20
    /// Limits of newly created tenants.
    public var tenantMaxRunning = 2
    public var tenantMaxQueued = 100
    /// Seconds SIGTERM waits for running jobs to reach a step boundary and be re-queued.
    public var drainSeconds = 25.0
    /// A connection that stalls this long while its request (headers or body) is being read is
    /// closed: a slow-body client cannot hold a connection open forever. Streams being *written*
    /// (SSE, downloads) are not affected.
    public var requestIdleSeconds = 30.0
    public var workers = JobsConfig()

    enum CodingKeys: String, CodingKey {
        case host, port, workers, store
        case dataDir = "data_dir"
        case datasetsDir = "datasets_dir"
        case adminToken = "admin_token"
        case maxBodyBytes = "max_body_bytes"
        case maxUploadBytes = "max_upload_bytes"
        case tenantMaxRunning = "tenant_max_running"
        case tenantMaxQueued = "tenant_max_queued"
        case drainSeconds = "drain_seconds"
        case requestIdleSeconds = "request_idle_seconds"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ServerConfig()
        host = try c.decodeIfPresent(String.self, forKey: .host) ?? d.host
        port = try c.decodeIfPresent(Int.self, forKey: .port) ?? d.port
        dataDir = try c.decodeIfPresent(String.self, forKey: .dataDir) ?? d.dataDir
        store = try c.decodeIfPresent(String.self, forKey: .store) ?? d.store
        datasetsDir = try c.decodeIfPresent(String.self, forKey: .datasetsDir)
        adminToken = try c.decodeIfPresent(String.self, forKey: .adminToken)
        maxBodyBytes = try c.decodeIfPresent(Int.self, forKey: .maxBodyBytes) ?? d.maxBodyBytes
        maxUploadBytes = try c.decodeIfPresent(Int.self, forKey: .maxUploadBytes) ?? d.maxUploadBytes
        tenantMaxRunning = try c.decodeIfPresent(Int.self, forKey: .tenantMaxRunning) ?? d.tenantMaxRunning
        tenantMaxQueued = try c.decodeIfPresent(Int.self, forKey: .tenantMaxQueued) ?? d.tenantMaxQueued
        drainSeconds = try c.decodeIfPresent(Double.self, forKey: .drainSeconds) ?? d.drainSeconds
        requestIdleSeconds = try c.decodeIfPresent(Double.self, forKey: .requestIdleSeconds) ?? d.requestIdleSeconds
        workers = try c.decodeIfPresent(JobsConfig.self, forKey: .workers) ?? d.workers
    }

    /// Reads a config file; unknown keys are rejected so a typo never silently does nothing.
    public static func load(file path: String) throws -> ServerConfig {
        guard let data = FileManager.default.contents(atPath: path) else { throw ConfigError(field: "config", detail: "cannot read \(path)") }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ConfigError(field: "config", detail: "\(path) is not a JSON object")
        }
        let known: Set<String> = ["host", "port", "workers", "data_dir", "datasets_dir", "admin_token", "max_body_bytes", "max_upload_bytes",
                                  "tenant_max_running", "tenant_max_queued", "drain_seconds", "request_idle_seconds", "store", "_comment"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigError(field: unknown, detail: "unknown key in \(path)")
        }
        do { return try JSONDecoder().decode(ServerConfig.self, from: data) } catch let DecodingError.typeMismatch(_, context) {
            throw ConfigError(field: context.codingPath.map(\.stringValue).joined(separator: "."), detail: "wrong type in \(path)")
        } catch {
            throw ConfigError(field: "config", detail: "\(path): \(error)")
        }
    }

    /// Applies `BONSAI_*` environment variables.
    public mutating func applyEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws {
        func int(_ key: String) throws -> Int? {
            guard let raw = env[key] else { return nil }
            guard let value = Int(raw) else { throw ConfigError(field: key, detail: "must be an integer, got '\(raw)'") }
            return value
        }
        if let v = env["BONSAI_HOST"] { host = v }
        if let v = try int("BONSAI_PORT") { port = v }
        if let v = env["BONSAI_STORE_DIR"] { dataDir = v }
        if let v = env["BONSAI_STORE_URL"], !v.isEmpty { store = v }
        if let v = try int("BONSAI_WORKERS") { workers.workers = v }
        if let v = try int("BONSAI_THREADS_PER_JOB") { workers.threadsPerJob = v }
        if let v = env["BONSAI_ADMIN_TOKEN"], !v.isEmpty { adminToken = v }
        if let v = try int("BONSAI_MAX_BODY_BYTES") { maxBodyBytes = v }
    }

    public func validate() throws {
        guard (0...65535).contains(port) else { throw ConfigError(field: "port", detail: "must be in 0…65535") }
        guard maxBodyBytes >= 1024 else { throw ConfigError(field: "max_body_bytes", detail: "must be ≥ 1024") }
        guard maxUploadBytes >= 1024 else { throw ConfigError(field: "max_upload_bytes", detail: "must be ≥ 1024") }
        guard tenantMaxRunning >= 1 else { throw ConfigError(field: "tenant_max_running", detail: "must be ≥ 1") }
        guard tenantMaxQueued >= 1 else { throw ConfigError(field: "tenant_max_queued", detail: "must be ≥ 1") }
        guard drainSeconds > 0 && drainSeconds <= 30 else { throw ConfigError(field: "drain_seconds", detail: "must be in (0, 30]") }
        guard requestIdleSeconds >= 0.1 && requestIdleSeconds <= 3600 else {
            throw ConfigError(field: "request_idle_seconds", detail: "must be in [0.1, 3600]")
        }
        if let token = adminToken, token.count < 16 { throw ConfigError(field: "admin_token", detail: "must be at least 16 characters") }
        do { try JobStores.validate(store) } catch { throw ConfigError(field: "store", detail: "\(error)") }
        do { try workers.validate() } catch let e as JobsConfigError { throw ConfigError(field: e.field, detail: e.detail) }
    }
}

public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var field: String
    public var detail: String
    public var description: String { "config \(field): \(detail)" }
}
