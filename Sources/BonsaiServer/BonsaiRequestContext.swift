import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird

/// The request context: Hummingbird's core storage plus the authenticated principal.
public struct BonsaiRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?
    public init(source: Source) {
        coreContext = .init(source: source)
    }

    /// The tenant of the authenticated caller (routes behind ``AuthMiddleware`` always have one).
    func tenant() throws -> String {
        guard let principal else { throw Problem(.unauthorized, "unauthorized", "Unauthorized", detail: "a bearer token is required") }
        return principal.tenant
    }
}

/// Maps every error thrown below it to problem+json, and records request latency.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = BonsaiRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        do { response = try await next(request, context) } catch {
            let problem = Problem.from(error)
            if problem.status == .internalServerError { context.logger.error("request failed", metadata: ["error": "\(error)"]) }
            response = try problem.response(from: request, context: context)
        }
        let elapsed = ContinuousClock.now - start
        metrics.observe(seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18,
                        method: request.method.rawValue, route: context.endpointPath ?? "unmatched", status: Int(response.status.code))
        return response
    }
}

/// Bearer-token authentication (tokens are looked up by their SHA-256 hash). `/healthz` and the
/// dashboard's page and static files are open (the page asks for a token and sends it on API calls).
struct AuthMiddleware: RouterMiddleware {
    typealias Context = BonsaiRequestContext
    let store: any JobStore
    let tokens: TokenCache

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/healthz" || DashboardAssets.isPublic(request.uri.path) { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            var p = Problem(.unauthorized, "unauthorized", "Unauthorized", detail: "send 'Authorization: Bearer <token>'")
            p.extraHeaders = [("WWW-Authenticate", "Bearer")]
            throw p
        }
        let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty, token.count <= 256, let principal = try await lookup(token) else {
            var p = Problem(.unauthorized, "unauthorized", "Unauthorized", detail: "unknown token")
            p.extraHeaders = [("WWW-Authenticate", "Bearer error=\"invalid_token\"")]
            throw p
        }
        if principal.isExpired() {
            var p = Problem(.unauthorized, "unauthorized", "Unauthorized", detail: "token expired")
            p.extraHeaders = [("WWW-Authenticate", "Bearer error=\"invalid_token\", error_description=\"token expired\"")]
            throw p
        }
        var context = context
        context.principal = principal
        return try await next(request, context)
    }

    /// The token's principal, from the cache or (one blocking hop) the store.
    private func lookup(_ token: String) async throws -> Principal? {
        if let cached = tokens.principal(forToken: token) { return cached }
        let store = self.store
        guard let principal = try await Blocking.run({ try store.principal(forToken: token) }) else { return nil }
        tokens.insert(principal, forToken: token)
        return principal
    }
}

/// Runs blocking work (SQLite, file hashing) on a Dispatch queue, off Swift concurrency's
/// cooperative pool and the event loops, so slow I/O never stalls request handling.
enum Blocking {
    static let queue = DispatchQueue(label: "bonsai.blocking", qos: .userInitiated, attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
