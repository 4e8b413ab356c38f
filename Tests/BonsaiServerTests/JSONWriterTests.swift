import Foundation
import Testing
@testable import BonsaiServer

/// The response writer must produce what `JSONSerialization` parses back to the same values, with
/// sorted keys, for every value type the routes put in a body.
@Suite struct JSONWriterTests {
    private func text(_ value: Any) throws -> String { String(decoding: try JSONWriter.bytes(value), as: UTF8.self) }

    @Test func writesSortedCompactObjects() throws {
        let nothing: String? = nil
        let something: Int? = 7
        let object: [String: Any] = ["b": 1, "a": [true, false, NSNull()], "c": ["z": 1.5, "y": "x"], "d": nothing as Any, "e": something as Any]
        #expect(try text(object) == #"{"a":[true,false,null],"b":1,"c":{"y":"x","z":1.5},"d":null,"e":7}"#)
    }

    @Test func escapesStringsAsRFC8259Requires() throws {
        let nasty = "quote\" backslash\\ newline\n tab\t bell\u{07} unicode é 漢 🌲"
        let out = try text(["s": nasty])
        #expect(out.contains(#"\u0007"#))
        let back = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        #expect(back?["s"] as? String == nasty)
    }

    @Test func numbersRoundTripAndNonFiniteBecomesNull() throws {
        let values: [Double] = [0, 0.1, -2.5, 1e-5, 1e20, 123456789.125, Double(Float(0.1))]
        let out = try text(values)
        // Swift's own parser: Foundation's JSON reader on Linux rounds some 17-digit numbers.
        #expect(out.dropFirst().dropLast().split(separator: ",").compactMap { Double(String($0)) } == values)
        #expect(try JSONSerialization.jsonObject(with: Data(out.utf8)) is [Any])
        #expect(try text([Double.nan, .infinity]) == "[null,null]")
        #expect(try text([Int64.max, Int64(Int32.min)]) == "[9223372036854775807,-2147483648]")
    }

    @Test func parsedValuesAndRawTextPassThrough() throws {
        let parsed = try JSONSerialization.jsonObject(with: Data(#"{"flag": true, "n": 3, "x": 0.25, "s": "t"}"#.utf8))
        #expect(try text(parsed) == #"{"flag":true,"n":3,"s":"t","x":0.25}"#)
        #expect(try text(["r": RawJSON(text: #"{"k":[1,2]}"#)]) == #"{"r":{"k":[1,2]}}"#)
    }

    @Test func unsupportedTypesThrowInsteadOfWritingGarbage() {
        struct Opaque {}
        #expect(throws: JSONWriter.Unsupported.self) { try JSONWriter.bytes(["x": Opaque()]) }
    }
}
