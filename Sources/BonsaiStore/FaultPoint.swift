import Foundation

/// Deterministic fault injection for the reliability tests (docs/reliability.md). Compiled into
/// every build but inert unless the environment variable `BONSAI_FAULT` names a point, so a crash
/// test can kill the real `bonsai serve` at an exact place instead of at a random moment.
///
/// `BONSAI_FAULT` is a comma-separated list of rules `action:point:n`:
///
/// - `action`: `crash` (the process `raise(SIGKILL)`s itself: no cleanup, exactly like `kill -9`),
///   `stop` (`raise(SIGSTOP)`: the process freezes until someone sends SIGCONT — a hung worker),
///   `enospc` / `erofs` (the call site throws `POSIXError(.ENOSPC)` / `POSIXError(.EROFS)`, as a full
///   or read-only disk would);
/// - `point`: a name passed to ``hit(_:)`` (see ``points``);
/// - `n`: fire on the n-th time this process reaches the point (1-based, default 1); `n+` fires on
///   the n-th and every later time; `n-m` on the n-th through the m-th (a disk fault that clears).
///
/// Example: `BONSAI_FAULT=crash:artifact-rename:2` kills the process the second time it is about to
/// publish a job's artifacts. Call sites are one line: `try FaultPoint.hit("artifact-rename")`.
public enum FaultPoint {
    /// Every point the code reaches, in the order a job meets them.
    public static let points = [
        "phase-pretrain", "phase-prune-1", "phase-finetune-1",  // a phase starts ("phase-<name>"; these are magnitude's)
        "step",                                             // a training step's metrics were reported (between steps)
        "snapshot-write",                                   // before a snapshot file is written
        "snapshot-commit",                                  // snapshot file renamed into place, row not yet pointing at it
        "artifact-write",                                   // before the artifacts are written
        "artifact-rename",                                  // artifacts written to the attempt's staging folder, not yet renamed
        "artifact-renamed",                                 // staging folder renamed, success not yet committed
        "store-commit",                                     // inside a store write transaction, before COMMIT
    ]

    struct Rule: Equatable {
        enum Action: String { case crash, stop, enospc, erofs }
        var action: Action
        var point: String
        var first: Int
        var last: Int
        func fires(_ n: Int) -> Bool { first <= n && n <= last }
    }

    /// Parses `BONSAI_FAULT`; malformed rules are reported once on stderr and ignored.
    static func parse(_ text: String?) -> [Rule] {
        guard let text, !text.isEmpty else { return [] }
        var rules: [Rule] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: ":").map(String.init)
            guard (2...3).contains(parts.count), let action = Rule.Action(rawValue: parts[0]) else {
                FileHandle.standardError.write(Data("BONSAI_FAULT: ignoring malformed rule '\(item)'\n".utf8))
                continue
            }
            let count = parts.count == 3 ? parts[2] : "1"
            let bounds: (Int, Int)?
            if count.hasSuffix("+") {
                bounds = Int(count.dropLast()).map { ($0, Int.max) }
            } else if let dash = count.firstIndex(of: "-") {
                bounds = Int(count[..<dash]).flatMap { a in Int(count[count.index(after: dash)...]).map { (a, $0) } }
            } else {
                bounds = Int(count).map { ($0, $0) }
            }
            guard let (first, last) = bounds, first >= 1, last >= first else {
                FileHandle.standardError.write(Data("BONSAI_FAULT: ignoring rule '\(item)' (count must be n, n+ or n-m with 1 ≤ n ≤ m)\n".utf8))
                continue
            }
            rules.append(Rule(action: action, point: parts[1], first: first, last: last))
        }
        return rules
    }

    nonisolated(unsafe) private static var rules = parse(ProcessInfo.processInfo.environment["BONSAI_FAULT"])
    nonisolated(unsafe) private static var counts: [String: Int] = [:]
    private static let lock = NSLock()

    /// Whether any rule is armed (call sites need not check; ``hit(_:)`` is cheap when none is).
    public static var isArmed: Bool { lock.withLock { !rules.isEmpty } }

    /// Replaces the rules (in-process tests; the server reads `BONSAI_FAULT` once at start).
    public static func arm(_ specification: String?) {
        lock.withLock {
            rules = parse(specification)
            counts = [:]
        }
    }

    /// Marks that the process reached `point`; crashes, freezes or throws if a rule says so.
    public static func hit(_ point: String) throws {
        let action: Rule.Action? = lock.withLock {
            guard !rules.isEmpty, rules.contains(where: { $0.point == point }) else { return nil }
            let n = counts[point, default: 0] + 1
            counts[point] = n
            return rules.first { $0.point == point && $0.fires(n) }?.action
        }
        guard let action else { return }
        switch action {
        case .crash:
            FileHandle.standardError.write(Data("BONSAI_FAULT: crash at \(point)\n".utf8))
            raise(SIGKILL)
        case .stop:
            FileHandle.standardError.write(Data("BONSAI_FAULT: stop at \(point)\n".utf8))
            raise(SIGSTOP)
        case .enospc: throw POSIXError(.ENOSPC)
        case .erofs: throw POSIXError(.EROFS)
        }
    }

    /// ``hit(_:)`` for call sites that cannot throw (injected errors are ignored there).
    public static func reach(_ point: String) { try? hit(point) }
}
