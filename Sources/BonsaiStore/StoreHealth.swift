import Foundation
import GRDB

/// The state of the disk under the data directory, and the store's write errors, for `/healthz`,
/// `/metrics` and the worker pool (which treats a full or read-only disk as an infrastructure fault:
/// the job is given back with its attempt refunded, never failed for good — see JobExecution).
public enum StoreHealth {
    nonisolated(unsafe) private static var errors = 0
    private static let lock = NSLock()

    /// Write transactions that failed with a database or disk error since the process started
    /// (lease and state refusals are answers, not errors, and are not counted).
    public static var writeErrors: Int { lock.withLock { errors } }

    public static func recordWriteError(_ error: Error) { lock.withLock { errors += 1 } }

    /// Whether `error` means the disk (not the job) is at fault: no space, read-only, quota, I/O
    /// error — from SQLite, from POSIX calls, from Foundation file writes, or from writers that
    /// report `strerror` text (safetensors). Retrying the job elsewhere or later can succeed.
    public static func isDiskFault(_ error: Error) -> Bool {
        let codes: Set<Int32> = [ENOSPC, EROFS, EDQUOT, EIO]
        if let e = error as? DatabaseError {
            return [.SQLITE_FULL, .SQLITE_READONLY, .SQLITE_IOERR, .SQLITE_CANTOPEN].contains(e.resultCode)
        }
        if let e = error as? POSIXError { return codes.contains(e.code.rawValue) }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return codes.contains(Int32(ns.code)) }
        if ns.domain == NSCocoaErrorDomain {
            if [CocoaError.fileWriteOutOfSpace.rawValue, CocoaError.fileWriteVolumeReadOnly.rawValue].contains(ns.code) { return true }
            if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? Error { return isDiskFault(underlying) }
        }
        let text = String(describing: error)
        return codes.contains { text.contains(String(cString: strerror($0))) }
    }
}

/// Free space and writability of a directory, as `/healthz` reports them.
public struct DataDirStatus: Sendable, Equatable {
    public var writable: Bool
    public var freeBytes: Int64
    /// Why the probe write failed (nil when writable).
    public var problem: String?

    /// Writes, fsyncs and removes a 4 KiB probe file in `directory` (a full disk refuses the data,
    /// a read-only one the file), and reads the free space available to this user with `statvfs`.
    public static func probe(_ directory: String) -> DataDirStatus {
        var stats = statvfs()
        let free = statvfs(directory, &stats) == 0 ? Int64(stats.f_bavail) * Int64(stats.f_frsize) : -1
        let path = directory + "/.probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return DataDirStatus(writable: false, freeBytes: free, problem: "create: \(String(cString: strerror(errno)))") }
        defer { close(fd); unlink(path) }
        let block = [UInt8](repeating: 0, count: 4096)
        let written = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == block.count else {
            return DataDirStatus(writable: false, freeBytes: free, problem: "write: \(written < 0 ? String(cString: strerror(errno)) : "short write")")
        }
        guard fsync(fd) == 0 else { return DataDirStatus(writable: false, freeBytes: free, problem: "fsync: \(String(cString: strerror(errno)))") }
        return DataDirStatus(writable: true, freeBytes: free, problem: nil)
    }
}
