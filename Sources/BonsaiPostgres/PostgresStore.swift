import BonsaiStore
import Foundation
import Logging
import PostgresNIO

/// The job store on PostgreSQL, so several `bonsai serve` processes on several machines share one
/// queue (and, through a shared filesystem, one data directory). Same semantics, errors and lease
/// checks as the SQLite ``Store``; the shared store tests run against both.
///
/// - Claims are one `UPDATE jobs … WHERE seq = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING *`
///   (see `PostgresStore+Lease.swift` for the isolation level and why).
/// - Every write transaction sends `NOTIFY bonsai_changes` before `COMMIT`; PostgreSQL delivers it
///   only if the transaction commits. A dedicated LISTEN connection (``ChangeListener``) rings
///   ``changes`` in every process, so SSE streams and idle workers wake within milliseconds.
/// - Times come from the database server's clock whenever a caller passes `now: nil` (workers and
///   routes always do), so leases written and checked by different machines compare one clock.
/// - The synchronous API blocks the calling thread (never an event loop; checked) on a pool of a
///   few connections (``BlockingPool``).
public final class PostgresStore: JobStore, @unchecked Sendable {
    public let url: PostgresURL
    public let changes = ChangeBell()
    let pool: BlockingPool
    let logger: Logger
    private var listener: ChangeListener?

    /// The channel every committed write notifies; payload `queue` when a job may have become
    /// claimable, empty otherwise.
    static let channel = "bonsai_changes"

    /// Connects, applies the PostgreSQL migrations (under an advisory lock, so two servers starting
    /// at once do not race) and starts listening for other processes' changes.
    public init(url: PostgresURL, poolSize: Int = 4, listen: Bool = true, logger: Logger = Logger(label: "bonsai.postgres")) throws {
        self.url = url
        self.logger = logger
        pool = try BlockingPool(url: url, size: poolSize, logger: logger)
        try pool.withConnection { connection in
            try PostgresMigrations.apply(PGSession(connection: connection, logger: logger))
        }
        if listen {
            let bell = changes
            listener = ChangeListener(pool: pool, channel: Self.channel, logger: logger) { payload in
                if payload == "queue" { bell.ringQueue() } else { bell.ring() }
            }
        }
    }

    public convenience init(url: String, poolSize: Int = 4, logger: Logger = Logger(label: "bonsai.postgres")) throws {
        try self.init(url: PostgresURL(url), poolSize: poolSize, logger: logger)
    }

    /// Stops the listener and closes the pooled connections.
    public func close() {
        listener?.stop()
        pool.close()
    }

    deinit { close() }

    // MARK: - Transactions

    enum Isolation: String {
        /// Each statement sees what committed before it started; row locks (`FOR UPDATE`) order
        /// writers of the same row. Enough wherever the decision depends on one locked row.
        case readCommitted = "READ COMMITTED"
        /// Decisions over several rows (counting a tenant's jobs, then inserting or claiming one)
        /// are write skew under weaker levels; serializable aborts one of two conflicting
        /// transactions (SQLSTATE 40001), which ``transaction(_:_:_:)`` retries.
        case serializable = "SERIALIZABLE"
    }

    /// What a write transaction learned while running (whether it may have made a job claimable).
    final class WriteContext {
        let session: PGSession
        let now: Double
        var wakesQueue = false
        /// False when the transaction changed nothing anyone waits for (an empty claim or sweep, a
        /// heartbeat): no NOTIFY, no bell, so idle polling does not wake every SSE stream.
        var notify = true
        init(session: PGSession, now: Double) { self.session = session; self.now = now }
    }

    /// Runs `body` in one transaction at `isolation`, notifying `bonsai_changes` before commit and
    /// ringing ``changes`` after. `now` nil takes the database clock (``DatabaseClock``) once at
    /// the start, so one transaction's timestamps agree. Serialization failures and deadlocks are retried (up to 30
    /// times, with jittered backoff); a ``StoreError`` thrown by `body` rolls back and propagates.
    @discardableResult
    func transaction<T>(_ operation: String, isolation: Isolation = .readCommitted, now: Double?,
                        _ body: (WriteContext) throws -> T) throws -> T {
        let attempts = 30
        for attempt in 1...attempts {
            do {
                let (value, wakesQueue, notify) = try pool.withConnection { connection -> (T, Bool, Bool) in
                    let session = PGSession(connection: connection, logger: logger)
                    do { try session.execute("BEGIN ISOLATION LEVEL \(unescaped: isolation.rawValue)") } catch {
                        // Nothing was done yet: a pooled connection the server dropped is worth one more try.
                        throw connection.isClosed ? RetryableBegin(error: error) : error
                    }
                    do {
                        let time = try now ?? clock.now(session)
                        let context = WriteContext(session: session, now: time)
                        let value = try body(context)
                        if context.notify {
                            let payload = context.wakesQueue ? "queue" : ""
                            try session.execute("SELECT pg_notify(\(Self.channel), \(payload))")
                        }
                        try FaultPoint.hit("store-commit")
                        try session.execute("COMMIT")
                        return (value, context.wakesQueue, context.notify)
                    } catch {
                        // A broken connection is dropped by the pool; otherwise end the transaction.
                        if !connection.isClosed { _ = try? session.execute("ROLLBACK") }
                        throw error
                    }
                }
                if wakesQueue { changes.ringQueue() } else if notify { changes.ring() }
                return value
            } catch let error as RetryableBegin {
                if attempt >= 3 { throw error.error }
            } catch let error as PSQLError where Self.isRetryable(error) && attempt < attempts {
                // Each conflict means another transaction committed; back off a little, jittered.
                usleep(UInt32.random(in: 200...2_000) * UInt32(min(attempt, 10)))
            } catch let error as PSQLError where Self.isRetryable(error) {
                throw PostgresStoreError.contention(operation: operation, attempts: attempts)
            } catch let error as PSQLError {
                // A database failure (not a refusal such as leaseLost): counted for /healthz and /metrics.
                StoreHealth.recordWriteError(error)
                throw error
            }
        }
        throw PostgresStoreError.contention(operation: operation, attempts: attempts)
    }

    /// A read outside any explicit transaction (each statement sees what committed before it).
    /// Retried once on a fresh connection when the pooled one turns out to be closed.
    func read<T>(_ body: (PGSession) throws -> T) throws -> T {
        do {
            return try pool.withConnection { connection in try body(PGSession(connection: connection, logger: logger)) }
        } catch let error as PSQLError where error.code == .serverClosedConnection || error.code == .uncleanShutdown {
            return try pool.withConnection { connection in try body(PGSession(connection: connection, logger: logger)) }
        }
    }

    /// BEGIN failed because the connection was closed: safe to retry the whole transaction.
    struct RetryableBegin: Error { let error: any Error }

    /// 40001 serialization_failure, 40P01 deadlock_detected.
    static func isRetryable(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40001" || state == "40P01"
    }

    /// The database server's clock (Unix seconds): one clock for every machine's leases.
    let clock = DatabaseClock()

    static func databaseNow(_ session: PGSession) throws -> Double {
        try session.one("SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8 AS now")!.double("now")
    }

    /// The database server's clock, for callers outside a transaction (tests, diagnostics).
    public func databaseNow() throws -> Double { try read { try Self.databaseNow($0) } }

    // MARK: - Rows shared by the operations

    static func jobRecord(_ row: PGRow) throws -> JobRecord {
        let raw = try row.string("status")
        guard let status = JobStatus(rawValue: raw) else { throw StoreError.invalid(field: "status", detail: "unknown status \(raw) in database") }
        return JobRecord(
            seq: try row.int64("seq"), id: try row.string("id"), tenant: try row.string("tenant"), status: status,
            priority: try row.int("priority"), spec: try row.string("spec"), phase: try row.optionalString("phase"),
            progress: try row.double("progress"), plannedSteps: try row.int("planned_steps"), completedSteps: try row.int("completed_steps"),
            etaSeconds: try row.optionalDouble("eta_seconds"), latestMetrics: try row.optionalString("latest_metrics"),
            result: try row.optionalString("result"), error: try row.optionalString("error"), attempts: try row.int("attempts"),
            maxAttempts: try row.int("max_attempts"), notBefore: try row.double("not_before"),
            leaseOwner: try row.optionalString("lease_owner"), leaseToken: try row.optionalString("lease_token"),
            leaseExpiresAt: try row.optionalDouble("lease_expires_at"), cancelRequested: try row.bool("cancel_requested"),
            version: try row.int("version"), createdAt: try row.double("created_at"), updatedAt: try row.double("updated_at"),
            startedAt: try row.optionalDouble("started_at"), finishedAt: try row.optionalDouble("finished_at"))
    }

    static func appendEvent(_ tx: WriteContext, jobSeq: Int64, kind: String, data: [String: Any]) throws {
        let json = try jobEventJSON(data, now: tx.now)
        try tx.session.execute("INSERT INTO job_events (job_seq, kind, data, time) VALUES (\(jobSeq), \(kind), \(json), \(tx.now))")
    }

    /// Throws `leaseLost` unless `lease` still owns its running job; locks the job's row until
    /// commit, so neither a re-queue nor a claim can take it between this check and the write.
    static func checkLease(_ tx: WriteContext, _ lease: Lease) throws {
        let held = try tx.session.one("""
            SELECT 1 AS held FROM jobs WHERE seq = \(lease.job.seq) AND lease_token = \(lease.token) AND status = 'running' FOR UPDATE
            """)
        guard held != nil else { throw StoreError.leaseLost(job: lease.job.id) }
    }

    static func requeue(_ tx: WriteContext, seq: Int64, notBefore: Double, refundAttempt: Bool, reason: String) throws {
        let refund = refundAttempt ? 1 : 0
        try tx.session.execute("""
            UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
                not_before = \(notBefore), attempts = attempts - \(refund), eta_seconds = NULL, updated_at = \(tx.now), version = version + 1
            WHERE seq = \(seq)
            """)
        try appendEvent(tx, jobSeq: seq, kind: "status", data: ["status": "queued", "reason": reason])
        tx.wakesQueue = true
    }

    static func terminate(_ tx: WriteContext, seq: Int64, status: JobStatus, error: String?) throws {
        try tx.session.execute("""
            UPDATE jobs SET status = \(status.rawValue), error = COALESCE(\(error), error), lease_owner = NULL, lease_token = NULL,
                lease_expires_at = NULL, eta_seconds = NULL, finished_at = \(tx.now), updated_at = \(tx.now), version = version + 1
            WHERE seq = \(seq)
            """)
        var data: [String: Any] = ["status": status.rawValue]
        if let error { data["error"] = error }
        try appendEvent(tx, jobSeq: seq, kind: "status", data: data)
        // A finished running job frees one of its tenant's running slots.
        tx.wakesQueue = true
    }
}

/// The database server's clock without a round trip per transaction: its reading (taken at most
/// every 30 s, in the middle of the query's round trip) plus the local *monotonic* time elapsed
/// since. Wall-clock jumps on this machine (NTP steps) do not move it; the error is about half a
/// round trip plus 30 s of drift between two quartz clocks (microseconds).
final class DatabaseClock: @unchecked Sendable {
    private let lock = NSLock()
    private var base: (database: Double, local: ContinuousClock.Instant)?
    static let refresh = Duration.seconds(30)

    func now(_ session: PGSession) throws -> Double {
        let local = ContinuousClock.now
        if let base = lock.withLock({ base }), local - base.local < Self.refresh {
            return base.database + Self.seconds(local - base.local)
        }
        let sent = ContinuousClock.now
        let database = try PostgresStore.databaseNow(session)
        let received = ContinuousClock.now
        let middle = sent + (received - sent) / 2
        lock.withLock { base = (database, middle) }
        return database + Self.seconds(ContinuousClock.now - middle)
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
}
