import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
@testable import BonsaiServer

/// A response from ``LiveClient``: the parts of HummingbirdTesting's `TestResponse` the tests read.
struct LiveResponse: Sendable {
    let head: HTTPResponse
    let body: ByteBuffer
    var status: HTTPResponse.Status { head.status }
    var headers: HTTPFields { head.headerFields }
}

/// An HTTP/1.1 keep-alive client of a server started by ``BonsaiServer/testLive(readTimeout:_:)``.
struct LiveClient: Sendable {
    let client: TestClient
    let port: Int

    @discardableResult
    func execute(uri: String, method: HTTPRequest.Method, headers: HTTPFields = [:], body: ByteBuffer? = nil) async throws -> LiveResponse {
        var headers = headers
        headers[.connection] = "keep-alive"
        let response = try await client.execute(TestClient.Request(uri, method: method, authority: "localhost", headers: headers, body: body))
        return LiveResponse(head: response.head, body: response.body ?? ByteBuffer())
    }
}

/// The server could not start, so no port was reported.
struct LiveServerDidNotStart: Error {}

extension BonsaiServer {
    /// Runs this server's application on its configured address (port 0 in tests) and hands `body`
    /// a client, then stops the server.
    ///
    /// Why not HummingbirdTesting's `.live`: its client has a fixed 20 s read timeout. The server's
    /// request handlers run on Swift concurrency's cooperative pool, which the test runner shares
    /// with every other test; on a loaded 2-core host, long synchronous tests occupied both pool
    /// threads for longer than that and live tests failed with `.readTimeout` although the server was
    /// fine. Each test still bounds its own waits (e.g. ``waitForJob(_:_:id:seconds:)``).
    func testLive<T>(readTimeout: Duration = .seconds(180), _ body: @Sendable (LiveClient) async throws -> T) async throws -> T {
        let (ports, reported) = AsyncStream.makeStream(of: Int.self)
        let app = makeApplication(onServerRunning: { port in reported.yield(port); reported.finish() })
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { reported.finish() }
                try await app.runService(gracefulShutdownSignals: [])
            }
            var port = 0
            for await value in ports { port = value }
            guard port > 0 else {
                group.cancelAll()
                try await group.waitForAll()
                throw LiveServerDidNotStart()
            }
            let client = TestClient(host: "localhost", port: port, configuration: .init(timeout: readTimeout))
            client.connect()
            let value: T
            do {
                value = try await body(LiveClient(client: client, port: port))
            } catch {
                try? await client.shutdown()
                group.cancelAll()
                throw error
            }
            try await client.shutdown()
            group.cancelAll()
            return value
        }
    }
}
