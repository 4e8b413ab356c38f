import BonsaiStore
import Foundation

/// SHA-256 of downloads, compared with the server's `X-Content-SHA256`.
enum DigestCheck {
    static func hex(_ data: Data) -> String { SHA256.hex(data) }
}
