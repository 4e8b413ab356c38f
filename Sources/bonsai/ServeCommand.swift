import ArgumentParser
import BonsaiServer
import Foundation

/// `bonsai serve`: the job server. Configuration: embedded defaults, then `--config FILE` (see
/// `config/bonsai.json`), then `BONSAI_*` environment variables, then these flags. On the first
/// start over an empty store it prints a one-time admin token (unless the config provides one).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the job server.")

    @Option(help: "Port to listen on (0 picks a free port; the chosen one is printed).") var port: Int?
    @Option(help: "Address to bind.") var host: String?
    @Option(help: "Folder of the database and job files (default ./bonsai-data).") var dataDir: String?
    @Option(help: "JSON config file (see config/bonsai.json). Also BONSAI_CONFIG.") var config: String?
    @Option(help: "Job store: sqlite (default) or postgres://user:password@host:port/db. Also BONSAI_STORE_URL.") var storeUrl: String?
    @Option(help: "Jobs trained at once.") var workers: Int?
    @Option(help: "Engine threads per job.") var threadsPerJob: Int?

    func run() async throws {
        let settings: ServerConfig
        do { settings = try resolvedConfig() } catch let e as ConfigError { throw ValidationError(e.description) }
        let server: BonsaiServer
        do { server = try BonsaiServer(config: settings) } catch let e as ConfigError { throw ValidationError(e.description) }
        if let token = try server.bootstrapAdminToken() {
            print("admin token (shown once, store it now): \(token)")
        }
        let host = settings.host
        let app = server.makeApplication { port in
            print("bonsai listening on http://\(host):\(port) (data in \(server.layout.root))")
            fflush(nil)
        }
        try await app.runService()
    }

    func resolvedConfig() throws -> ServerConfig {
        var settings = ServerConfig()
        if let file = config ?? ProcessInfo.processInfo.environment["BONSAI_CONFIG"] { settings = try ServerConfig.load(file: file) }
        try settings.applyEnvironment()
        if let port { settings.port = port }
        if let host { settings.host = host }
        if let dataDir { settings.dataDir = dataDir }
        if let storeUrl { settings.store = storeUrl }
        if let workers { settings.workers.workers = workers }
        if let threadsPerJob { settings.workers.threadsPerJob = threadsPerJob }
        try settings.validate()
        return settings
    }
}

/// `bonsai token create --tenant NAME`: creates a tenant token directly in the store (works while
/// the server runs) and prints it once.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "Manage API tokens.", subcommands: [Create.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a token for a tenant (printed once).")
        @Option(help: "Tenant name (created if new).") var tenant: String
        @Option(help: "Folder of the database (default ./bonsai-data or BONSAI_STORE_DIR).") var dataDir: String?
        @Option(help: "Job store: sqlite (default) or postgres://user:password@host:port/db. Also BONSAI_STORE_URL.") var storeUrl: String?
        @Flag(help: "An admin token (may read /metrics).") var admin = false
        @Option(help: "Set the tenant's limit of queued jobs (429 above it).") var maxQueued: Int?
        @Option(help: "Set the tenant's limit of jobs running at once.") var maxRunning: Int?
        @Option(help: "Seconds until the token expires (401 \"token expired\" after that); default never.") var expiresIn: Double?

        func run() throws {
            var settings = ServerConfig()
            try settings.applyEnvironment()
            if let dataDir { settings.dataDir = dataDir }
            if let storeUrl { settings.store = storeUrl }
            if let expiresIn, !(expiresIn > 0) { throw ValidationError("--expires-in must be a positive number of seconds") }
            let server = try BonsaiServer(config: settings, runWorkers: false)
            print(try server.createToken(tenant: tenant, admin: admin, expiresIn: expiresIn))
            if maxQueued != nil || maxRunning != nil {
                try server.store.setLimits(tenant: tenant, maxRunning: maxRunning ?? settings.tenantMaxRunning,
                                           maxQueued: maxQueued ?? settings.tenantMaxQueued)
            }
        }
    }
}
