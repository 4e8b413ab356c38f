import BonsaiJobs
import BonsaiPostgres
import BonsaiPruning
import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle

/// The job server: store, worker pool and HTTP routes. `buildRouter()` is separate from
/// `makeApplication` so tests can drive the router in process.
public final class BonsaiServer: Sendable {
    public let config: ServerConfig
    public let store: any JobStore
    public let layout: DataLayout
    public let pool: WorkerPool?
    let metrics = ServerMetrics()
    let fileIO = FileIO()
    let tokens = TokenCache()
    let logger: Logger

    /// Opens (creating and migrating) the configured store (`config.store`: SQLite under
    /// `config.dataDir`, or PostgreSQL). `runWorkers: false` gives a
    /// server that accepts jobs but runs none (tests of the API alone).
    public init(config: ServerConfig, runWorkers: Bool = true, logger: Logger = Logger(label: "bonsai")) throws {
        try config.validate()
        self.config = config
        self.logger = logger
        layout = try DataLayout(root: config.dataDir)
        store = try JobStores.open(config.store, sqlitePath: layout.databasePath, logger: logger)
        let datasets = try config.datasetsDir.map { try DataDirectory(path: $0) }
        pool = runWorkers && config.workers.workers > 0
            ? WorkerPool(store: store, layout: layout, config: config.workers, datasets: datasets, logger: logger) : nil
    }

    /// Installs the configured admin token, or on a store with no tokens creates one and returns it
    /// (to be printed once). Returns nil when nothing new needs showing.
    public func bootstrapAdminToken() throws -> String? {
        try store.ensureTenant("admin", maxRunning: config.tenantMaxRunning, maxQueued: config.tenantMaxQueued)
        if let token = config.adminToken {
            _ = try store.createToken(tenant: "admin", admin: true, token: token, label: "config")
            return nil
        }
        guard try store.tokenCount() == 0 else { return nil }
        return try store.createToken(tenant: "admin", admin: true, label: "first start")
    }

    /// Creates a tenant (with the configured limits) and a token for it.
    /// `expiresIn`: seconds until the token is refused (nil = never).
    public func createToken(tenant: String, admin: Bool = false, expiresIn: Double? = nil) throws -> String {
        try store.ensureTenant(tenant, maxRunning: config.tenantMaxRunning, maxQueued: config.tenantMaxQueued)
        return try store.createToken(tenant: tenant, admin: admin, label: nil, expiresAt: expiresIn.map { Store.now() + $0 })
    }

    public func buildRouter() -> Router<BonsaiRequestContext> {
        let router = Router(context: BonsaiRequestContext.self)
        router.add(middleware: ProblemMiddleware(metrics: metrics))
        router.add(middleware: AuthMiddleware(store: store, tokens: tokens))
        let v1 = router.group("v1")
        addJobRoutes(to: v1)
        v1.get("jobs/:id/events") { request, context in try await self.events(request, context) }
        addDownloadRoutes(to: v1)
        addUploadRoutes(to: v1)
        addCatalogRoutes(to: router, v1: v1)
        addDashboardRoutes(to: router, v1: v1)
        return router
    }

    /// The Hummingbird application with the worker pool as a service: on SIGTERM/SIGINT the HTTP
    /// server stops accepting and the pool drains (running jobs re-queued at a step boundary).
    public func makeApplication(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        var services: [any Service] = []
        if let pool { services.append(WorkerPoolService(pool: pool, drainSeconds: config.drainSeconds, logger: logger)) }
        return Application(
            router: buildRouter(),
            server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(config.requestIdleSeconds * 1e9)))),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "bonsai"),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}

/// Runs the worker pool for the application's lifetime and drains it on graceful shutdown.
struct WorkerPoolService: Service {
    let pool: WorkerPool
    let drainSeconds: Double
    let logger: Logger

    func run() async throws {
        try pool.start()
        try? await gracefulShutdown()
        logger.info("draining workers", metadata: ["running": "\(pool.runningCount)"])
        let pool = self.pool, seconds = drainSeconds
        let clean = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            DispatchQueue.global().async { continuation.resume(returning: pool.drain(timeout: seconds)) }
        }
        logger.info("workers drained", metadata: ["clean": "\(clean)"])
    }
}
