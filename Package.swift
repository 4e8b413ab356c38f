// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Bonsai",
    products: [
        .executable(name: "bonsai", targets: ["bonsai"]),
        .library(name: "BonsaiTensor", targets: ["BonsaiTensor"]),
        .library(name: "BonsaiNN", targets: ["BonsaiNN"]),
        .library(name: "BonsaiPruning", targets: ["BonsaiPruning"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "BonsaiTensor",
            dependencies: ["CBLAS"]
        ),
        .target(
            name: "BonsaiNN",
            dependencies: ["BonsaiTensor", "CZlib"]
        ),
        .target(
            name: "BonsaiPruning",
            dependencies: ["BonsaiNN"]
        ),
        .executableTarget(
            name: "bonsai",
            dependencies: [
                "BonsaiTensor",
                "BonsaiNN",
                "BonsaiPruning",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "BonsaiTensorTests",
            dependencies: ["BonsaiTensor"],
            resources: [.copy("Fixtures"), .copy("Corpus")]
        ),
        .testTarget(
            name: "BonsaiNNTests",
            dependencies: ["BonsaiNN"],
            // Read in place through #filePath, not copied into a bundle.
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "BonsaiPruningTests",
            dependencies: ["BonsaiPruning"],
            exclude: ["Fixtures"]
        ),
    ]
)
