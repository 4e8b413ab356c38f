import Foundation

/// Reading whole data files into memory, with size limits and gzip detection.
public enum DataFile {
    /// The bytes of the file at `path`, decompressed when it is gzip'd (detected by its magic, not
    /// its name). Throws ``DataError/unreadable(file:reason:)`` for a missing or unreadable file and
    /// ``DataError/tooLarge(file:reason:)`` above the limits.
    public static func read(_ path: String, limits: DataLimits = .standard) throws -> [UInt8] {
        try Gzip.decompressIfNeeded(readRaw(path, limits: limits), file: path, limits: limits)
    }

    /// The bytes of the file at `path` as stored (no decompression).
    public static func readRaw(_ path: String, limits: DataLimits = .standard) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError.unreadable(file: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else { throw DataError.unreadable(file: path, reason: "is a directory") }
        let size: Int
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            size = (attributes[.size] as? NSNumber)?.intValue ?? 0
            // Devices and FIFOs report no meaningful size and may never end.
            guard (attributes[.type] as? FileAttributeType) == .typeRegular else {
                throw DataError.unreadable(file: path, reason: "not a regular file")
            }
        } catch let error as DataError {
            throw error
        } catch {
            throw DataError.unreadable(file: path, reason: "\(error)")
        }
        guard size <= limits.maxFileBytes else {
            throw DataError.tooLarge(file: path, reason: "file is \(size) bytes, limit \(limits.maxFileBytes)")
        }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard data.count <= limits.maxFileBytes else {
                throw DataError.tooLarge(file: path, reason: "file is \(data.count) bytes, limit \(limits.maxFileBytes)")
            }
            return [UInt8](data)
        } catch let error as DataError {
            throw error
        } catch {
            throw DataError.unreadable(file: path, reason: "\(error)")
        }
    }

    /// True when a regular file exists at `path`.
    static func exists(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// The names in `directory` (empty when it cannot be listed).
    static func entries(of directory: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }

    /// `directory/name` without doubling the separator.
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
