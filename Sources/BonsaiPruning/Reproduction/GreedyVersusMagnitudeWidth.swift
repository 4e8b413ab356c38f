import Foundation

/// METHODS.md §6 (greedy forward selection, "compared with magnitude channel pruning at equal
/// width"): on LeNet-300-100 pretrained on MNIST, greedy forward selection (the registered
/// `greedy-forward` method, released defaults: 50 candidates, top-1 tolerance 0.02, intermediate
/// fine-tune of 0.1 epoch per layer) chooses each hidden layer's width by its stopping rule; L1
/// magnitude channel pruning then keeps exactly as many neurons per layer (the largest `‖W_j‖₁`
/// rows), from the same pretrained weights, and gets the same total number of fine-tuning steps
/// (greedy's intermediate steps plus its final fine-tune). Expected: greedy ≥ magnitude after
/// fine-tuning (and before it, where greedy's per-layer recovery gives it an edge by design).
public enum GreedyVersusMagnitudeWidth: Reproduction {
    public static let name = "greedy-vs-magnitude-width"
    public static let claim = "At the widths greedy forward selection chooses, its subnetwork is at least as accurate as L1 magnitude channel pruning to the same per-layer widths, after equal fine-tuning."
    public static let source = "METHODS.md §6.1–6.2, §18 item 6"

    /// LeNet-300-100 on MNIST, SGD lr 0.1 for 3 epochs (1 quick), fine-tune lr 0.01 for 2 (1 quick).
    static let setting = GreedyMagnitudeComparison.Setting(
        architecture: "lenet300", dataset: "mnist", label: "lenet300 (300-100) on MNIST",
        quickEpochs: (1, 1), fullEpochs: (3, 2), pretrainLR: 0.1, finetuneLR: 0.01)

    public static func run(_ options: ReproductionOptions) throws -> ReproductionReport {
        try GreedyMagnitudeComparison.run(setting, name: name, claim: claim, options: options)
    }
}
