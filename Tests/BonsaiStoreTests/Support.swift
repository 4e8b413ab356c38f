import Foundation
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
