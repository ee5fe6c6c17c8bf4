// swift-tools-version: 6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "signd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "signd", targets: ["signd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Already in the graph through async-http-client and Hummingbird; declared because
        // targets import NIOCore, NIOHTTP1, NIOSSL and ServiceLifecycle themselves.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // System zlib for FlateDecode.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // rename without replacing (renameat2 RENAME_NOREPLACE), which Glibc's Swift overlay lacks.
        .target(name: "CSpoolSupport"),

        // ---- Formats (pure: bytes and values in, bytes and values out) ----
        .target(name: "PDFSyntax", dependencies: ["CZlib"], swiftSettings: strict),
        .target(
            name: "CMSStructures",
            dependencies: [
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: strict
        ),
        .target(name: "PDFSignatures", dependencies: ["PDFSyntax"], swiftSettings: strict),
        // RFC 6960 OCSP and RFC 5280 CRL structures, with the revocation reasons.
        .target(
            name: "PKIStructures",
            dependencies: [
                "CMSStructures",
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: strict
        ),
        // CMS signing primitives shared by PAdES and Timestamping: signers (the key may live
        // anywhere), digests, signature-value checks, signer-certificate checks.
        .target(
            name: "CMSSigning",
            dependencies: [
                "CMSStructures",
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PAdES",
            dependencies: [
                "PDFSyntax", "PDFSignatures", "CMSStructures", "CMSSigning",
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: strict
        ),

        // ---- Foundation (no format targets: hex, time, timeouts, files, secrets) ----
        .target(
            name: "SigndCore",
            dependencies: [
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),

        // ---- Services (I/O behind protocols) ----
        // Signs a PDF file into a new file (one step or two phases); the timestamper is injected.
        .target(
            name: "DocumentSigning",
            dependencies: [
                "SigndCore", "PDFSyntax", "PDFSignatures", "CMSStructures", "CMSSigning", "PAdES",
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),

        // The job state machines: values in, effects out; no I/O (docs/architecture.md).
        .target(name: "JobEngine", swiftSettings: strict),
        .target(name: "Jobs", dependencies: [.product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        .target(
            name: "DatabaseSupport",
            dependencies: [.product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .target(
            name: "Audit",
            dependencies: [
                "SigndCore", "DatabaseSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "StateStore",
            dependencies: [
                "SigndCore", "DatabaseSupport", "JobEngine",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "CertificateAuthority",
            dependencies: [
                "SigndCore", "CMSStructures", "PKIStructures",
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "SCA",
            dependencies: [
                "Jobs", "StateStore", "SigndCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        // A simulated phone (`signd device-sim`, tests): device key, CSRs, authorizations, DTBS signatures.
        .target(
            name: "DeviceSimulation",
            dependencies: [
                "SCA", "Jobs", "SigndCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "CertificateLifecycle",
            dependencies: [
                "StateStore", "CertificateAuthority", "PKIStructures", "SigndCore",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Timestamping",
            dependencies: [
                "CMSStructures", "CMSSigning", "SigndCore",
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "SigndHTTP",
            dependencies: [
                "Timestamping", "SigndCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),

        .target(
            name: "Daemon",
            dependencies: [
                "Jobs", "JobEngine", "StateStore", "Audit", "SCA", "CertificateLifecycle", "CertificateAuthority", "PKIStructures", "Timestamping", "CSpoolSupport",
                "DocumentSigning", "CMSSigning", "PAdES", "PDFSignatures", "PDFSyntax", "SigndCore",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),

        // ---- Composition root ----
        .executableTarget(
            name: "signd",
            dependencies: [
                "SigndCore", "DocumentSigning", "CMSSigning", "PAdES", "PDFSignatures", "PDFSyntax", "Timestamping", "SigndHTTP", "StateStore", "CertificateLifecycle", "CertificateAuthority", "PKIStructures", "SCA", "DeviceSimulation", "Jobs", "Audit", "Daemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),

        // ---- Benchmarks (bench/run.sh; not part of the test suite) ----
        .executableTarget(
            name: "signd-bench",
            dependencies: [
                "SigndCore", "DocumentSigning", "CMSSigning", "PAdES", "PDFSignatures", "Timestamping",
                .product(name: "X509", package: "swift-certificates"),
            ],
            path: "bench/SigndBench",
            swiftSettings: strict
        ),

        // ---- Fuzzing (make fuzz; docs/testing.md "Fuzzing") ----
        .target(
            name: "FuzzTargets",
            dependencies: ["PDFSyntax", "PDFSignatures", "CMSStructures", "Jobs"],
            swiftSettings: strict
        ),
        // libFuzzer's driver entry, declared for the fuzz executables (used only with -DFUZZING).
        .target(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .executableTarget(name: "PDFReaderFuzzer", dependencies: ["FuzzTargets", "CLibFuzzer"], path: "Fuzz/PDFReaderFuzzer", swiftSettings: strict),
        .executableTarget(name: "CMSTSPFuzzer", dependencies: ["FuzzTargets", "CLibFuzzer"], path: "Fuzz/CMSTSPFuzzer", swiftSettings: strict),
        .executableTarget(name: "ManifestFuzzer", dependencies: ["FuzzTargets", "CLibFuzzer"], path: "Fuzz/ManifestFuzzer", swiftSettings: strict),

        // ---- Tests ----
        .target(
            name: "TestSupport",
            dependencies: [
                "CMSSigning",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                // FakePowerAuthServer (SCATests, DaemonTests).
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: strict
        ),
        .testTarget(name: "PDFSyntaxTests", dependencies: ["PDFSyntax"], swiftSettings: strict),
        .testTarget(name: "JobEngineTests", dependencies: ["JobEngine"], swiftSettings: strict),
        .testTarget(
            name: "FuzzRegressionTests",
            dependencies: ["FuzzTargets", "PDFSyntax", "CMSStructures", "Jobs"],
            exclude: ["Corpus", "Seeds"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CMSStructuresTests",
            dependencies: ["CMSStructures", .product(name: "SwiftASN1", package: "swift-asn1"), .product(name: "X509", package: "swift-certificates")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PAdESTests",
            dependencies: ["PAdES", "CMSSigning", "PDFSignatures", "PDFSyntax", "SigndCore", "DocumentSigning", "TestSupport", "CMSStructures", .product(name: "SwiftASN1", package: "swift-asn1"), .product(name: "X509", package: "swift-certificates")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CertificateAuthorityTests",
            dependencies: [
                "CertificateAuthority", "PKIStructures", "SigndCore", "TestSupport", "CMSStructures",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SCATests",
            dependencies: [
                "SCA", "DeviceSimulation", "Jobs", "StateStore", "SigndCore", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AuditTests",
            dependencies: ["Audit", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StateStoreTests",
            dependencies: [
                "StateStore", "JobEngine", "SigndCore", "CertificateLifecycle", "CertificateAuthority", "PKIStructures", "TestSupport", "DatabaseSupport",
                "PDFSyntax",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TimestampTests",
            dependencies: [
                "Timestamping", "SigndHTTP", "CMSSigning", "CMSStructures", "TestSupport",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "InteropTests",
            dependencies: ["TestSupport"],
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DaemonTests",
            dependencies: [
                "TestSupport", "Jobs", "JobEngine", "Audit", "SigndCore", "Daemon", "StateStore", "SCA",
                // The in-process harness (InProcess/PipelineHarness.swift) composes the pipeline as signd run does.
                "CertificateAuthority", "CertificateLifecycle", "Timestamping", "PAdES", "PDFSyntax", "DeviceSimulation", "DocumentSigning",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict
        ),
    ]
)
