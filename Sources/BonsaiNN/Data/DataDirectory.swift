import Foundation

/// The root folder of the shipped data sets (the repository's `data/`, with `mnist/`, `text/`, …).
///
/// Never hard-coded: ``locate(explicit:environment:)`` takes an explicit path first, then the
/// `BONSAI_DATA_DIR` environment variable, then looks for a `data/` folder holding `SHA256SUMS`
/// in the executable's directory and its ancestors (a `swift build` binary lives in
/// `.build/<triple>/debug/` inside the repository), then in the working directory and its ancestors.
public struct DataDirectory: Sendable, Equatable, CustomStringConvertible {
    public let path: String

    /// The environment variable naming the data directory.
    public static let environmentVariable = "BONSAI_DATA_DIR"
    /// The file that marks a folder as Bonsai's data directory.
    static let marker = "SHA256SUMS"

    /// A data directory at `path`, which must be an existing folder.
    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.dataDirectoryNotFound(searched: [path])
        }
        self.path = path
    }

    /// `path/relative`.
    public func file(_ relative: String) -> String { DataFile.join(path, relative) }

    public var description: String { path }

    /// Finds the data directory (see the type's documentation for the search order).
    public static func locate(explicit: String? = nil,
                              environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DataDirectory {
        if let explicit { return try DataDirectory(path: explicit) }
        if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty {
            return try DataDirectory(path: fromEnvironment)
        }
        var searched: [String] = []
        var starts: [URL] = []
        if let executable = executablePath() {
            starts.append(URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        starts.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        for start in starts {
            var folder = start.standardizedFileURL
            for _ in 0..<12 {
                let candidate = folder.appendingPathComponent("data")
                searched.append(candidate.path)
                if DataFile.exists(candidate.appendingPathComponent(marker).path) {
                    return try DataDirectory(path: candidate.path)
                }
                let parent = folder.deletingLastPathComponent()
                if parent.path == folder.path { break }
                folder = parent
            }
        }
        throw DataError.dataDirectoryNotFound(searched: searched)
    }

    private static func executablePath() -> String? {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        return CommandLine.arguments.first.map { URL(fileURLWithPath: $0).path }
    }
}
