// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "errwatch",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "errwatch", targets: ["errwatch"]),
        .library(name: "ErrWatchCore", targets: ["ErrWatchCore"]),
        .library(name: "ErrWatchStore", targets: ["ErrWatchStore"]),
        .library(name: "ErrWatchReport", targets: ["ErrWatchReport"]),
        .library(name: "ErrWatchClient", targets: ["ErrWatchClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.4"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // OTLP export over HTTP only: the gRPC exporter (and its build) left out.
        .package(url: "https://github.com/swift-otel/swift-otel", exact: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // Tests only: property-based (fuzz) testing of the parsers.
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        // Pure: the outcome model, the taxonomy, parsing, arithmetic. No I/O; the wall clock is read
        // only by Timestamp.now, which everything else takes as a parameter.
        .target(
            name: "ErrWatchCore",
            swiftSettings: swiftSettings
        ),
        // SQLite through GRDB on the system libsqlite3; migrations are embedded in the binary.
        .target(
            name: "ErrWatchStore",
            dependencies: [
                "ErrWatchCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [
                .embedInCode("../../migrations/0001_initial.sql"),
                .embedInCode("../../migrations/0002_time_to_headers.sql"),
                .embedInCode("../../migrations/0003_final_attempts.sql"),
                .embedInCode("../../migrations/0004_alerts.sql"),
                .embedInCode("../../migrations/0005_latency_histogram.sql"),
                .embedInCode("../../migrations/0006_provider_fields.sql"),
                .embedInCode("../../migrations/0007_ingested_files.sql"),
                .embedInCode("../../migrations/0008_retention.sql"),
                .embedInCode("../../migrations/0009_first_token.sql"),
                .embedInCode("../../migrations/0010_provider_host.sql"),
            ],
            swiftSettings: swiftSettings
        ),
        // Presentation: reports as tables, JSON and CSV, sparklines, the streamed CSV exports.
        .target(
            name: "ErrWatchReport",
            dependencies: ["ErrWatchCore", "ErrWatchStore"],
            swiftSettings: swiftSettings
        ),
        // The instrumented OpenAI-compatible client for Swift apps: the guide's retry advice built in.
        .target(
            name: "ErrWatchClient",
            dependencies: [
                "ErrWatchCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The service: the recording proxy, errwatch's HTTP API, the fake upstream, the demo.
        .target(
            name: "ErrWatchAgent",
            dependencies: [
                "ErrWatchCore",
                "ErrWatchStore",
                "ErrWatchReport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            // The dashboard at `/`: one self-contained page, embedded so the binary needs nothing beside it.
            resources: [.embedInCode("API/Dashboard/dashboard.html")],
            swiftSettings: swiftSettings
        ),
        // The fake OpenAI-compatible upstream (`errwatch mock-upstream`) and the demo's simulated
        // apps: part of the product, kept out of the agent, which never depends on them.
        .target(
            name: "ErrWatchMock",
            dependencies: [
                "ErrWatchCore",
                "ErrWatchAgent",
                "ErrWatchClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // The shipped benchmarks' workloads and their baselines (a bare-SQLite writer, wrk against
        // the built binary), kept out of the commands as Hummingbird keeps its benchmarks apart.
        .target(
            name: "ErrWatchBench",
            dependencies: [
                "ErrWatchCore",
                "ErrWatchStore",
                "ErrWatchReport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The command line: argument parsing and output formatting over Core and Store.
        .target(
            name: "ErrWatchCLI",
            dependencies: [
                "ErrWatchCore",
                "ErrWatchStore",
                "ErrWatchReport",
                "ErrWatchAgent",
                "ErrWatchMock",
                "ErrWatchBench",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "errwatch",
            dependencies: [
                "ErrWatchCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // README's client example, built with the package so that it keeps compiling.
        .executableTarget(
            name: "ClientExample",
            dependencies: ["ErrWatchClient"],
            path: "Examples/ClientExample",
            swiftSettings: swiftSettings
        ),
        // Helpers every test suite shares (raw sockets for what an HTTP client would not send).
        .target(
            name: "ErrWatchTestKit",
            dependencies: [
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/ErrWatchTestKit",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ErrWatchCoreTests",
            dependencies: ["ErrWatchCore", "ErrWatchTestKit"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ErrWatchStoreTests",
            dependencies: [
                "ErrWatchCore", "ErrWatchStore", "ErrWatchReport", "ErrWatchTestKit",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ErrWatchAgentTests",
            dependencies: [
                "ErrWatchAgent", "ErrWatchCore", "ErrWatchMock", "ErrWatchReport", "ErrWatchStore", "ErrWatchTestKit",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ErrWatchClientTests",
            dependencies: [
                "ErrWatchClient", "ErrWatchAgent", "ErrWatchCore", "ErrWatchMock", "ErrWatchStore", "ErrWatchTestKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ErrWatchCLITests",
            dependencies: [
                "ErrWatchCLI", "ErrWatchCore", "ErrWatchStore", "ErrWatchReport", "ErrWatchAgent", "ErrWatchTestKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
