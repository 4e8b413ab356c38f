import BonsaiPruning
import BonsaiStore
import Foundation

/// A job spec as accepted by `POST /v1/jobs`: validated by ``PipelineSpec/decode(_:)`` (which names
/// the offending field), plus the queue's own fields (`priority`).
public struct SubmittedSpec: Sendable {
    public var spec: PipelineSpec
    /// The request body as canonical JSON (sorted keys): stored, and hashed for Idempotency-Key.
    public var canonicalJSON: String
    public var priority: Int

    public static func parse(_ body: Data) throws -> SubmittedSpec {
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            throw PruningError.invalidSetting(field: "", detail: "the body must be a JSON object (a job spec)")
        }
        var priority = 0
        if let raw = object["priority"] {
            guard !(raw is Bool), let value = raw as? Int, (-100...100).contains(value) else {
                throw PruningError.invalidSetting(field: "priority", detail: "must be an integer in -100…100")
            }
            priority = value
        }
        let spec = try PipelineSpec.decode(body)
        let canonical = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return SubmittedSpec(spec: spec, canonicalJSON: String(decoding: canonical, as: UTF8.self), priority: priority)
    }

    /// The fingerprint of a request for Idempotency-Key comparison.
    public var requestHash: String { SHA256.hex(canonicalJSON) }
}
