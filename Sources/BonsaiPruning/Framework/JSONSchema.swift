import Foundation

/// A small JSON Schema (draft 2020-12 subset) describing a method's settings, served by
/// `GET /v1/methods` and used by the dashboard to generate its forms. Written by hand next to each
/// settings struct; a test checks that every schema property decodes into the struct and back.
public indirect enum JSONSchema: Sendable {
    case object(properties: [(name: String, schema: JSONSchema)], description: String = "")
    case number(description: String, minimum: Double? = nil, maximum: Double? = nil, exclusiveMinimum: Double? = nil,
                exclusiveMaximum: Double? = nil, defaultValue: Double? = nil)
    case integer(description: String, minimum: Int? = nil, maximum: Int? = nil, defaultValue: Int? = nil)
    case string(description: String, choices: [String]? = nil, defaultValue: String? = nil)
    case boolean(description: String, defaultValue: Bool? = nil)
    case array(description: String, items: JSONSchema)

    /// Property names of an object schema.
    public var propertyNames: [String] {
        if case let .object(properties, _) = self { return properties.map(\.name) }
        return []
    }

    /// The schema as a JSON-compatible dictionary.
    public var jsonObject: [String: Any] {
        switch self {
        case let .object(properties, description):
            var props: [String: Any] = [:]
            for (name, schema) in properties { props[name] = schema.jsonObject }
            var result: [String: Any] = ["type": "object", "properties": props, "additionalProperties": false]
            if !description.isEmpty { result["description"] = description }
            return result
        case let .number(description, minimum, maximum, exclusiveMinimum, exclusiveMaximum, defaultValue):
            var result: [String: Any] = ["type": "number", "description": description]
            if let minimum { result["minimum"] = minimum }
            if let maximum { result["maximum"] = maximum }
            if let exclusiveMinimum { result["exclusiveMinimum"] = exclusiveMinimum }
            if let exclusiveMaximum { result["exclusiveMaximum"] = exclusiveMaximum }
            if let defaultValue { result["default"] = defaultValue }
            return result
        case let .integer(description, minimum, maximum, defaultValue):
            var result: [String: Any] = ["type": "integer", "description": description]
            if let minimum { result["minimum"] = minimum }
            if let maximum { result["maximum"] = maximum }
            if let defaultValue { result["default"] = defaultValue }
            return result
        case let .string(description, choices, defaultValue):
            var result: [String: Any] = ["type": "string", "description": description]
            if let choices { result["enum"] = choices }
            if let defaultValue { result["default"] = defaultValue }
            return result
        case let .boolean(description, defaultValue):
            var result: [String: Any] = ["type": "boolean", "description": description]
            if let defaultValue { result["default"] = defaultValue }
            return result
        case let .array(description, items):
            return ["type": "array", "description": description, "items": items.jsonObject]
        }
    }

    /// The schema of the common `prunable` setting.
    public static let prunable = JSONSchema.object(properties: [
        ("paths", .array(description: "Only these parameter paths (default: every conv and linear weight).",
                         items: .string(description: "A parameter path such as features.0.weight"))),
        ("exclude_classifier", .boolean(description: "Leave the last linear layer dense.", defaultValue: false)),
        ("exclude", .array(description: "Parameter paths never pruned.", items: .string(description: "A parameter path"))),
    ], description: "Which parameters may be pruned.")
}
