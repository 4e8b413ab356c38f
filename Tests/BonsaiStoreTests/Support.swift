import Foundation
import GRDB
import Testing
@testable import BonsaiPostgres
@testable import BonsaiStore

/// A fresh database file in a temporary folder.
func temporaryStore(_ name: String = #function) throws -> (Store, String) {
    let dir = NSTemporaryDirectory() + "bonsai-store-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let path = dir + "/bonsai.sqlite"
    let store = try Store(path: path)
    try store.ensureTenant("acme")
    try store.ensureTenant("globex")
    return (store, path)
}

let sampleSpec = #"{"model":{"architecture":"lenet300"},"dataset":{"name":"digits"},"method":{"name":"magnitude","sparsity":0.5},"train":{"steps":2}}"#

/// The two store implementations the shared store tests run against.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

/// The PostgreSQL server of the tests: `BONSAI_TEST_POSTGRES_URL` (set by `scripts/test-postgres.sh
/// start`, which .ci/run runs). Without it the PostgreSQL cases are skipped — unless
/// `BONSAI_REQUIRE_POSTGRES=1` (.ci/run sets it), in which case they run and fail loudly.
enum TestPostgres {
    static let environment = ProcessInfo.processInfo.environment
    static var url: String? { environment["BONSAI_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 } }
    static var required: Bool { environment["BONSAI_REQUIRE_POSTGRES"] == "1" }
    static var enabled: Bool { url != nil || required }

    struct Unavailable: Error, CustomStringConvertible { var description: String }

    /// A new, empty database on the test server (one per test, so tests run in parallel).
    static func scratchDatabase() throws -> PostgresURL {
        guard let url else {
            throw Unavailable(description: "BONSAI_REQUIRE_POSTGRES=1 but BONSAI_TEST_POSTGRES_URL is not set (run: eval \"$(scripts/test-postgres.sh start)\")")
        }
        let server: PostgresURL
        do { server = try PostgresURL(url) } catch { throw Unavailable(description: "BONSAI_TEST_POSTGRES_URL=\(url): \(error)") }
        do {
            return try server.createDatabase(named: "bonsai_t_" + Store.randomHex(8))
        } catch {
            throw Unavailable(description: "PostgreSQL test server \(server) unreachable: \(error)")
        }
    }
}

/// The store kinds to run: SQLite always, PostgreSQL when configured or required.
let storeKinds: [StoreKind] = TestPostgres.enabled ? [.sqlite, .postgres] : [.sqlite]

/// A fresh store of `kind` with tenants acme and globex, plus a way to open a second instance on
/// the same database (a second process, as far as the store can tell).
struct TestStore {
    let store: any JobStore
    let another: () throws -> any JobStore
    /// The token hashes stored (to check tokens are never stored in clear).
    let tokenHashes: () throws -> [String]

    init(_ kind: StoreKind) throws {
        switch kind {
        case .sqlite:
            let (store, path) = try temporaryStore()
            self.store = store
            another = { try Store(path: path) }
            tokenHashes = { try store.read { db in try String.fetchAll(db, sql: "SELECT hash FROM tokens") } }
        case .postgres:
            let url = try TestPostgres.scratchDatabase()
            let store = try PostgresStore(url: url)
            try store.ensureTenant("acme")
            try store.ensureTenant("globex")
            self.store = store
            another = { try PostgresStore(url: url) }
            tokenHashes = { try store.read { s in try s.all("SELECT hash FROM tokens").map { try $0.string("hash") } } }
        }
    }
}
