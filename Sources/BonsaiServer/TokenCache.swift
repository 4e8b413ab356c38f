import BonsaiStore
import Foundation

/// Recently authenticated bearer tokens, so a status poll costs one store read instead of two
/// (each read is a hop to the blocking queue plus a SQLite query).
///
/// Only successful lookups are cached, for `ttl` seconds: a token created a moment ago is found in
/// the store on first use, and an unknown token is always checked against the store. Tokens are
/// never revoked today; if revocation is added, it must call ``removeAll()`` (and another server
/// process sharing the store would honour it within `ttl`). Bounded: when `capacity` entries are
/// held the cache is cleared rather than growing without limit under a token-guessing attack
/// (which cannot fill it anyway, since failures are not cached).
final class TokenCache: @unchecked Sendable {
    private struct Entry {
        var principal: Principal
        var expires: ContinuousClock.Instant
    }

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    let ttl: Duration
    let capacity: Int

    init(ttl: Duration = .seconds(5), capacity: Int = 4096) {
        self.ttl = ttl
        self.capacity = capacity
    }

    /// The cached principal of `token`, if it was authenticated less than `ttl` ago.
    func principal(forToken token: String, now: ContinuousClock.Instant = .now) -> Principal? {
        lock.lock(); defer { lock.unlock() }
        guard let entry = entries[token] else { return nil }
        if entry.expires <= now {
            entries[token] = nil
            return nil
        }
        return entry.principal
    }

    func insert(_ principal: Principal, forToken token: String, now: ContinuousClock.Instant = .now) {
        lock.lock(); defer { lock.unlock() }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[token] = Entry(principal: principal, expires: now + ttl)
    }

    func removeAll() {
        lock.lock(); defer { lock.unlock() }
        entries.removeAll()
    }
}
