import BonsaiPruning
import BonsaiStore
import Dispatch
import Foundation
import Logging

/// Trains jobs on threads it owns — one serial Dispatch queue per worker, never Swift concurrency's
/// cooperative pool or an event loop — so HTTP handlers stay fast while workers train.
///
/// Each worker claims a job (lease), runs it with ``JobExecution``, and loops. A heartbeat timer
/// renews the leases of running jobs, notices cancellation requested through the store (e.g. by
/// another process) and re-queues jobs whose leases expired elsewhere. ``drain(timeout:)`` stops
/// claiming, cancels running pipelines at their next step and gives their jobs back to the queue
/// without counting an attempt; they resume from their last snapshot.
public final class WorkerPool: @unchecked Sendable {
    public let store: any JobStore
    public let layout: DataLayout
    public let config: JobsConfig
    public let owner: String
    let datasets: DataDirectory?
    let logger: Logger

    private final class Running {
        let lease: Lease
        let flag = CancellationFlag()
        var reason = StopReason.none
        init(lease: Lease) { self.lease = lease }
    }

    private let lock = NSLock()
    private var running: [String: Running] = [:]
    private var draining = false
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchGroup()
    private var heartbeat: DispatchSourceTimer?
    private let heartbeatQueue = DispatchQueue(label: "bonsai.heartbeat")

    public init(store: any JobStore, layout: DataLayout, config: JobsConfig, datasets: DataDirectory? = nil,
                owner: String = "\(ProcessInfo.processInfo.hostName):\(getpid())", logger: Logger = Logger(label: "bonsai.jobs")) {
        self.store = store; self.layout = layout; self.config = config; self.datasets = datasets
        self.owner = owner; self.logger = logger
    }

    /// Re-queues jobs whose leases expired (they resume from their last snapshot), then starts the
    /// workers and the heartbeat.
    public func start() throws {
        let requeued = try store.requeueExpired()
        if !requeued.isEmpty { logger.info("re-queued jobs with expired leases", metadata: ["jobs": "\(requeued)"]) }
        // Another process's submission or re-queue (PostgreSQL NOTIFY) wakes an idle worker at once.
        store.changes.onQueueChange { [weak self] in self?.wake() }
        for index in 0..<config.workers {
            finished.enter()
            DispatchQueue(label: "bonsai.worker.\(index)", qos: config.trainingPriority.qos).async { [self] in
                workerLoop(index)
                finished.leave()
            }
        }
        let timer = DispatchSource.makeTimerSource(queue: heartbeatQueue)
        timer.schedule(deadline: .now() + config.heartbeatSeconds, repeating: config.heartbeatSeconds)
        timer.setEventHandler { [weak self] in self?.beat() }
        timer.resume()
        heartbeat = timer
    }

    /// Wakes an idle worker (after a submission).
    public func wake() { wakeup.signal() }

    /// Cancels a running job of this process at its next step (the store already has the request).
    public func cancel(jobID: String) {
        lock.withLock {
            guard let job = running[jobID] else { return }
            if job.reason == .none { job.reason = .cancelRequested }
            job.flag.cancel()
        }
    }

    /// Jobs currently training in this process.
    public var runningCount: Int { lock.withLock { running.count } }

    /// Graceful shutdown: stop claiming, stop running pipelines at the next step, re-queue them
    /// (attempt not counted), and wait up to `timeout` seconds for the workers to exit.
    /// Returns whether every worker finished in time.
    @discardableResult
    public func drain(timeout: Double = 25) -> Bool {
        lock.withLock {
            draining = true
            for job in running.values {
                if job.reason == .none { job.reason = .draining }
                job.flag.cancel()
            }
        }
        for _ in 0..<max(1, config.workers) { wakeup.signal() }
        let done = finished.wait(timeout: .now() + timeout) == .success
        heartbeat?.cancel()
        return done
    }

    private var isDraining: Bool { lock.withLock { draining } }

    private func workerLoop(_ index: Int) {
        let execution = JobExecution(store: store, layout: layout, config: config, datasets: datasets, logger: logger)
        while !isDraining {
            let lease: Lease?
            do { lease = try store.claim(owner: "\(owner)/\(index)", leaseSeconds: config.leaseSeconds) } catch {
                logger.error("claim failed", metadata: ["error": "\(error)"])
                lease = nil
            }
            guard let lease else {
                _ = wakeup.wait(timeout: .now() + config.pollSeconds)
                continue
            }
            let job = Running(lease: lease)
            lock.withLock {
                running[lease.job.id] = job
                if draining { job.reason = .draining; job.flag.cancel() }
            }
            logger.info("job started", metadata: ["job": "\(lease.job.id)", "attempt": "\(lease.job.attempts)", "worker": "\(index)"])
            execution.run(lease, flag: job.flag) { lock.withLock { job.reason } }
            lock.withLock { running[lease.job.id] = nil }
        }
    }

    /// Renews leases, propagates cancellation requests, re-queues expired leases of other workers.
    private func beat() {
        let jobs = lock.withLock { Array(running.values) }
        for job in jobs {
            do {
                if try store.heartbeat(job.lease, leaseSeconds: config.leaseSeconds) {
                    lock.withLock { if job.reason == .none { job.reason = .cancelRequested } }
                    job.flag.cancel()
                }
            } catch StoreError.leaseLost {
                logger.warning("lease lost; stopping the run", metadata: ["job": "\(job.lease.job.id)"])
                lock.withLock { job.reason = .leaseLost }
                job.flag.cancel()
            } catch {
                // Transient (e.g. the database is busy): the next beat retries before the lease expires.
                logger.warning("heartbeat failed", metadata: ["job": "\(job.lease.job.id)", "error": "\(error)"])
            }
        }
        do { try store.requeueExpired() } catch { logger.error("re-queue of expired leases failed", metadata: ["error": "\(error)"]) }
    }
}
