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
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
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
        // Float32 hot loops and direct convolutions with run-time dispatch to AVX2/AVX-512
        // (Sources/CKernels/include/CKernels.h).
        .target(name: "CKernels"),
        .target(
            name: "BonsaiTensor",
            dependencies: ["CBLAS", "CKernels"]
        ),
        .target(
            name: "BonsaiNN",
            dependencies: ["BonsaiTensor", "CZlib"]
        ),
        .target(
            name: "BonsaiPruning",
            dependencies: ["BonsaiNN"]
        ),
        .target(
            name: "BonsaiStore",
            // The SQL migrations are embedded as a generated Swift file (see scripts/embed-migrations.sh).
            dependencies: [.product(name: "GRDB", package: "GRDB.swift")]
        ),
        .target(
            name: "BonsaiPostgres",
            // The PostgreSQL migrations are embedded too (scripts/embed-migrations.sh, migrations/postgres/).
            dependencies: ["BonsaiStore", .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "BonsaiJobs",
            dependencies: ["BonsaiPruning", "BonsaiStore", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "BonsaiServer",
            dependencies: [
                "BonsaiJobs", "BonsaiStore", "BonsaiPostgres",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            // The dashboard's files are embedded as a generated Swift file (see scripts/embed-dashboard.sh).
            exclude: ["Dashboard/static"]
        ),
        .executableTarget(
            name: "bonsai",
            dependencies: [
                "BonsaiTensor",
                "BonsaiNN",
                "BonsaiPruning",
                "BonsaiJobs",
                "BonsaiServer",
                "BonsaiStore",
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
            name: "BonsaiStoreTests",
            dependencies: ["BonsaiStore", "BonsaiPostgres"]
        ),
        .testTarget(
            name: "BonsaiServerTests",
            dependencies: [
                "BonsaiServer", "BonsaiJobs", "BonsaiStore", "BonsaiPruning", "BonsaiPostgres",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .testTarget(
            name: "BonsaiPruningTests",
            dependencies: ["BonsaiPruning"],
            exclude: ["Fixtures"]
        ),
    ]
)
