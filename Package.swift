// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "mediasync",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "mediasync", targets: ["mediasync"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // libuv from Debian's libuv1-dev, seen through pkg-config.
        .systemLibrary(
            name: "CLibUV",
            pkgConfig: "libuv",
            providers: [.apt(["libuv1-dev", "pkgconf"])]
        ),
        // Thin libuv binding: loop, timers, signals, processes, pipes, Unix sockets. No rsync, no media.
        .target(name: "UV", dependencies: ["CLibUV"]),
        // zlib from Debian's zlib1g-dev: inflates zTXt/iTXt text chunks of PNGs (and deflates them in tests).
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev", "pkgconf"])]
        ),
        // libcrypto from Debian's libssl-dev: SHA-256 of every synced file for the ingest (with the CPU's
        // SHA instructions: about 1.5 GB/s here, against 0.24 GB/s for the Swift code it replaced).
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev", "pkgconf"])]
        ),
        // Pure logic, no I/O: rsync output parser, exit codes, progress model, config.
        .target(name: "MediaSyncCore", dependencies: [
            "CZlib", "CCrypto",
            .product(name: "Yams", package: "Yams"),
        ]),
        // Runs the core's decisions on the loop: children, config loading, stores.
        .target(name: "MediaSyncEngine", dependencies: [
            "UV", "MediaSyncCore",
            .product(name: "GRDB", package: "GRDB.swift"),
            // SQLite's C API itself, for the manifest's per-file insert (ManifestStore.record).
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The command line.
        .executableTarget(name: "mediasync", dependencies: [
            "MediaSyncEngine", "MediaSyncCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Benchmarks, run by bin/bench in release mode; never part of the tests.
        .executableTarget(name: "mediasync-bench", dependencies: ["MediaSyncCore"]),
        // libFuzzer targets (docs/fuzzing.md): bin/fuzz builds this with -sanitize=fuzzer,address; the plain
        // build is a replayer of inputs, so the harnesses always compile. Corpus/ holds the seed inputs.
        .executableTarget(name: "mediasync-fuzz", dependencies: ["MediaSyncCore"], exclude: ["Corpus"]),

        // The tests' own children (posix_spawn, waits with a limit), shared by the test targets below.
        .target(name: "TestChildren", path: "Tests/TestChildren"),
        .testTarget(name: "UVTests", dependencies: ["UV"]),
        .testTarget(name: "MediaSyncCoreTests", dependencies: ["MediaSyncCore", "TestChildren"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "MediaSyncEngineTests", dependencies: ["MediaSyncEngine", "MediaSyncCore", "UV", "TestChildren",
                                                                .product(name: "GRDB", package: "GRDB.swift")],
                    exclude: ["Shims"]),
        .testTarget(name: "CLITests", dependencies: ["TestChildren"]),
    ],
    swiftLanguageModes: [.v6]
)
