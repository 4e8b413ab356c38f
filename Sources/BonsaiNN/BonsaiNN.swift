@_exported import BonsaiTensor

/// BonsaiNN: modules with PyTorch-style parameter paths, layers, the model zoo, optimizers,
/// learning-rate schedules, losses, data sets and loaders, and the training loop.
public enum BonsaiNN {}
