import Foundation
import GRDB

extension Store {
    /// Gives a job back after an infrastructure fault (full or read-only data directory): re-queued
    /// with its attempt refunded, not runnable for `retryAfter` seconds, the cause kept in `error`.
    /// Unlike `fail` this never ends the job: the fault is the machine's, and the job resumes from
    /// its last snapshot once the disk accepts writes again.
    public func deferAfterInfrastructureFault(_ lease: Lease, reason: String, retryAfter: Double, now: Double?) throws {
        let now = now ?? Store.now()
        try immediate { db in
            try Store.checkLease(db, lease)
            try db.execute(sql: "UPDATE jobs SET error = ? WHERE seq = ?", arguments: [reason, lease.job.seq])
            try Store.requeue(db, seq: lease.job.seq, notBefore: now + retryAfter, refundAttempt: true, now: now, reason: reason)
        }
    }
}
