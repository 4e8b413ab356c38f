/// `|w|` of every prunable tensor (Han et al. 2015).
public enum MagnitudeScore {
    public static func scores(_ model: Module, paths: [String]) -> ScoreSet {
        ScoreSet(paths.map { path in (path, model.parameter(at: path)!.value.doubles.map { Swift.abs($0) }) })
    }
}
