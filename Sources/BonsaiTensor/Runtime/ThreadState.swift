#if canImport(Glibc)
import Glibc
#endif

/// Per-thread engine settings: whether ops record gradients, and how many threads the engine may
/// use for the work it is given on this thread.
///
/// These are thread-local rather than task-local on purpose: the engine runs on the caller's thread
/// (a Dispatch worker of the job pool), never on Swift concurrency's cooperative pool, and every
/// job's thread carries its own settings without locks.
final class EngineThreadState {
    var gradEnabled = true
    var threads = 1
    /// True while this thread runs a parallel region; nested regions then run serially, so the
    /// thread budget is never exceeded.
    var insideParallelRegion = false
}

enum ThreadState {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<EngineThreadState>.fromOpaque(pointer).release() }
        }
        precondition(status == 0, "pthread_key_create failed: \(status)")
        return key
    }()

    /// This thread's state, created on first use.
    static var current: EngineThreadState {
        if let pointer = pthread_getspecific(key) {
            return Unmanaged<EngineThreadState>.fromOpaque(pointer).takeUnretainedValue()
        }
        let state = EngineThreadState()
        pthread_setspecific(key, Unmanaged.passRetained(state).toOpaque())
        return state
    }
}

/// Engine-wide controls.
public enum Engine {
    /// The thread budget of work started on the calling thread (OpenBLAS calls plus the engine's
    /// own parallel loops together never use more). Default 1.
    public static var threads: Int { ThreadState.current.threads }

    /// Runs `body` with a thread budget of `threads` on the calling thread, then restores the old one.
    public static func withThreads<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
        precondition(threads >= 1, "Engine.withThreads: thread count must be ≥ 1, got \(threads)")
        let state = ThreadState.current
        let saved = state.threads
        state.threads = threads
        defer { state.threads = saved }
        return try body()
    }

    /// Sets the calling thread's thread budget (a worker thread sets it once for its job).
    public static func setThreads(_ threads: Int) {
        precondition(threads >= 1, "Engine.setThreads: thread count must be ≥ 1, got \(threads)")
        ThreadState.current.threads = threads
    }

    /// Whether ops on this thread record the graph for gradients.
    public static var isGradEnabled: Bool { ThreadState.current.gradEnabled }

    /// Runs `body` without recording gradients (evaluation, optimizer updates, score computation
    /// that needs no graph). Nested calls are fine.
    public static func withoutGrad<R>(_ body: () throws -> R) rethrows -> R {
        let state = ThreadState.current
        let saved = state.gradEnabled
        state.gradEnabled = false
        defer { state.gradEnabled = saved }
        return try body()
    }

    /// Runs `body` with gradient recording switched on (e.g. inside an evaluation that needs an
    /// input gradient, as an adversarial attack does).
    public static func withGrad<R>(_ body: () throws -> R) rethrows -> R {
        let state = ThreadState.current
        let saved = state.gradEnabled
        state.gradEnabled = true
        defer { state.gradEnabled = saved }
        return try body()
    }
}
