// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Bonsai",
    products: [
        .executable(name: "bonsai", targets: ["bonsai"]),
        .library(name: "BonsaiTensor", targets: ["BonsaiTensor"]),
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
        .target(
            name: "BonsaiTensor",
            dependencies: ["CBLAS"]
        ),
        .executableTarget(
            name: "bonsai",
            dependencies: [
                "BonsaiTensor",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "BonsaiTensorTests",
            dependencies: ["BonsaiTensor"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
