import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import BonsaiServer

/// Expired and malformed bearer tokens get a clear 401 (never a 5xx), and an unexpired token works.
@Suite struct TokenExpiryTests {
    @Test func expiredTokensAreRefusedWithAClearReason() async throws {
        let t = try TestServer()
        let expired = try t.server.store.createToken(tenant: "acme", expiresAt: Store.now() - 1)
        let valid = try t.server.createToken(tenant: "acme", expiresIn: 3600)
        let app = Application(router: t.server.buildRouter())
        try await app.test(.router) { client in
            let refused = try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: "Bearer \(expired)"])
            #expect(refused.status == .unauthorized)
            #expect(String(buffer: refused.body).contains("token expired"))
            #expect(refused.headers[.wwwAuthenticate]?.contains("invalid_token") == true)
            let fine = try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: "Bearer \(valid)"])
            #expect(fine.status == .ok)
            for header in ["Bearer", "Bearer ", "Basic abc", "Bearer \(String(repeating: "x", count: 300))", "Bearer bns_\u{00e9}\u{0000}x", valid] {
                let value = header == valid ? "bearer\t\(valid)x" : header
                let response = try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: value])
                #expect(response.status == .unauthorized, "\(header.prefix(20)) → \(response.status)")
            }
        }
    }
}
