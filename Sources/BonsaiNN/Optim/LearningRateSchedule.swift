/// Learning-rate schedules as a factor of each group's base rate, a pure function of the step (or
/// epoch) index so a resumed run gets the same rate as an uninterrupted one.
public enum LearningRateSchedule: Codable, Sendable, Equatable {
    /// The base rate throughout.
    case constant
    /// `γ^⌊t / stepSize⌋` (PyTorch `StepLR`).
    case step(stepSize: Int, gamma: Double)
    /// `γ^(number of milestones ≤ t)` (PyTorch `MultiStepLR`).
    case multiStep(milestones: [Int], gamma: Double)
    /// Cosine annealing from 1 to `minimumFactor` over `total` steps (PyTorch `CosineAnnealingLR`
    /// with η_min = minimumFactor·η): `f = m + (1 − m)·(1 + cos(π·t/T))/2`.
    case cosine(total: Int, minimumFactor: Double)
    /// Linear warm-up from 0 to 1 over `warmup` steps, then linear decay to 0 at `total`
    /// (the BERT fine-tuning schedule used by movement pruning).
    case linearWarmupDecay(warmup: Int, total: Int)

    public func factor(at t: Int) -> Double {
        switch self {
        case .constant:
            return 1
        case let .step(stepSize, gamma):
            return powDouble(gamma, Double(t / Swift.max(stepSize, 1)))
        case let .multiStep(milestones, gamma):
            return powDouble(gamma, Double(milestones.filter { $0 <= t }.count))
        case let .cosine(total, minimum):
            let progress = Swift.min(Double(t) / Double(Swift.max(total, 1)), 1)
            return minimum + (1 - minimum) * (1 + cosDouble(Double.pi * progress)) / 2
        case let .linearWarmupDecay(warmup, total):
            if t < warmup { return Double(t) / Double(Swift.max(warmup, 1)) }
            return Swift.max(0, Double(total - t) / Double(Swift.max(total - warmup, 1)))
        }
    }

    /// Checks the settings, naming the offending field.
    public func validate() throws {
        switch self {
        case .constant: return
        case let .step(stepSize, gamma):
            guard stepSize > 0 else { throw OptimizerError.invalidSetting(field: "step_size", detail: "must be > 0") }
            guard gamma > 0 else { throw OptimizerError.invalidSetting(field: "gamma", detail: "must be > 0") }
        case let .multiStep(milestones, gamma):
            guard milestones == milestones.sorted(), milestones.allSatisfy({ $0 >= 0 }) else {
                throw OptimizerError.invalidSetting(field: "milestones", detail: "must be non-negative and increasing")
            }
            guard gamma > 0 else { throw OptimizerError.invalidSetting(field: "gamma", detail: "must be > 0") }
        case let .cosine(total, minimum):
            guard total > 0 else { throw OptimizerError.invalidSetting(field: "total", detail: "must be > 0") }
            guard (0...1).contains(minimum) else { throw OptimizerError.invalidSetting(field: "minimum_factor", detail: "must be in [0, 1]") }
        case let .linearWarmupDecay(warmup, total):
            guard warmup >= 0, total > warmup else {
                throw OptimizerError.invalidSetting(field: "warmup", detail: "need 0 ≤ warmup < total")
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func cosDouble(_ x: Double) -> Double { Glibc.cos(x) }
#endif
