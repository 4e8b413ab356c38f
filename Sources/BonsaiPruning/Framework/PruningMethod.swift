import Foundation

/// A method's settings: a small `Codable` struct with defaults, field-level validation and a JSON
/// Schema. Decoded from the job spec's `method` object (minus its `name`).
public protocol MethodSettings: Codable, Sendable, Equatable {
    /// The defaults (every field optional or defaulted).
    init()
    /// Throws ``PruningError/invalidSetting(field:detail:)`` for the first bad field.
    func validate() throws
    static var schema: JSONSchema { get }
}

/// A pruning method: a pipeline over a model and data (pretrain → prune → fine-tune, or whatever
/// order its paper uses) run through a ``PipelineContext``, which provides training, evaluation,
/// mask application with instability measurement, progress, cancellation and resumable phases.
public protocol PruningMethod: Sendable {
    associatedtype Settings: MethodSettings
    /// Stable kebab-case id, e.g. `"magnitude"`, `"lottery-ticket"`, `"synflow"`.
    static var id: String { get }
    /// One line for listings.
    static var summary: String { get }
    /// The paper (authors, venue, year).
    static var reference: String { get }
    var settings: Settings { get }
    init(settings: Settings)
    /// The phases this method will run, with their optimizer steps (for progress and ETA).
    func plan(_ context: PipelineContext) -> [PlannedPhase]
    func run(_ context: PipelineContext) throws
}

/// One phase of a plan.
public struct PlannedPhase: Codable, Sendable, Equatable {
    public var name: String
    public var steps: Int
    public init(name: String, steps: Int) {
        self.name = name
        self.steps = steps
    }
}

extension PruningMethod {
    /// Decodes settings from a JSON object (the spec's `method` object; `name` is ignored), rejecting
    /// keys the schema does not list, then validates them.
    public static func decode(settings json: Data) throws -> Self {
        let object = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any]
        guard let object else { throw PruningError.invalidSetting(field: "method", detail: "must be a JSON object") }
        let known = Set(Settings.schema.propertyNames + ["name"])
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw PruningError.invalidSetting(field: "method.\(unknown)", detail: "unknown setting of method '\(id)'")
        }
        let settings: Settings
        do {
            settings = try JSONDecoder().decode(Settings.self, from: json)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw PruningError.invalidSetting(field: "method.\(field)", detail: "wrong type: \(context.debugDescription)")
        } catch let DecodingError.dataCorrupted(context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw PruningError.invalidSetting(field: "method.\(field)", detail: context.debugDescription)
        } catch let DecodingError.keyNotFound(key, _) {
            throw PruningError.invalidSetting(field: "method.\(key.stringValue)", detail: "required")
        }
        do { try settings.validate() } catch let PruningError.invalidSetting(field, detail) {
            throw PruningError.invalidSetting(field: "method.\(field)", detail: detail)
        }
        return Self(settings: settings)
    }

    /// The defaults as a JSON object.
    public static var defaultSettingsJSON: Data {
        (try? JSONEncoder().encode(Settings())) ?? Data("{}".utf8)
    }
}

/// Every registered method, by id.
public enum PruningRegistry {
    /// The registered method types, in listing order.
    public static let methods: [any PruningMethod.Type] = [
        MagnitudePruning.self,
        GradualMagnitudePruning.self,
        GRDAPruning.self,
        EdgePopup.self,
        Hydra.self,
        MovementPruning.self,
        LotteryTicket.self,
        RandomPruning.self,
        RandomTicket.self,
        HybridTicket.self,
        SNIP.self,
        GraSP.self,
        SynFlow.self,
        SCOP.self,
        GreedyForwardSelection.self,
        FilterL1Pruning.self,
        NetworkSlimming.self,
        PolarizationPruning.self,
        StabilityPruning.self,
        StripeWisePruning.self,
        RuntimeChannelRL.self,
    ]

    public static var ids: [String] { methods.map { $0.id } }

    public static func method(_ id: String) throws -> any PruningMethod.Type {
        guard let type = methods.first(where: { $0.id == id }) else { throw PruningError.unknownMethod(id) }
        return type
    }

    /// Decodes a spec's `method` object (`{"name": "magnitude", …settings}`) into a configured method.
    public static func decode(_ json: Data) throws -> any PruningMethod {
        let object = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any]
        guard let name = object?["name"] as? String else {
            throw PruningError.invalidSetting(field: "method.name", detail: "required: one of \(ids.joined(separator: ", "))")
        }
        return try method(name).decode(settings: json)
    }
}

extension PruningMethod {
    /// The settings' JSON Schema (through the metatype, for registry listings).
    public static var settingsSchema: JSONSchema { Settings.schema }
}
