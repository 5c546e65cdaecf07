// swift-tools-version:6.0
// rn: a fixed-point ResNet runtime in Swift. No package dependencies, by design.
//
// Device group (stdlib only, no Foundation; also built in Embedded Swift with
// -no-allocations by Tools/build-runtime-lib): RNFormat, CRNDSP, RNKernels, RNRuntime, RNRuntimeC.
// Host group: RNQuantize (writer, planner), RNCommandLine, executables.
import PackageDescription

/// Reference kernels are slow without optimisation; tests run debug builds.
let optimizedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "rn",
    products: [
        .library(name: "RNRuntime", targets: ["RNRuntime"]),
        .library(name: "RNRuntimeC", targets: ["RNRuntimeC"]),
        .executable(name: "rn-inspect", targets: ["rn-inspect"]),
        .executable(name: "rn-train", targets: ["rn-train"]),
        .executable(name: "rn-export", targets: ["rn-export"]),
        .executable(name: "rn-drift", targets: ["rn-drift"]),
        .executable(name: "rn-infer", targets: ["rn-infer"]),
        .executable(name: "rn-bench", targets: ["rn-bench"]),
    ],
    targets: [
        // MARK: device
        .target(name: "RNFormat", exclude: ["FORMAT.md"]),
        .target(name: "CRNDSP"),      // rn_dsp.h: SMLAD/SXTB16 intrinsics, portable C off Arm
        .target(name: "RNKernels", dependencies: ["RNFormat", "CRNDSP"], swiftSettings: optimizedInDebug),
        .target(name: "RNRuntime", dependencies: ["RNFormat", "RNKernels"], swiftSettings: optimizedInDebug),
        .target(name: "CRNRuntime"),   // rn_runtime.h, the C contract
        .target(name: "RNRuntimeC", dependencies: ["CRNRuntime", "RNRuntime"]),

        // MARK: host
        .target(name: "CRNCPU"),
        .target(name: "RNKernelsAVX2", dependencies: ["RNKernels"],
                swiftSettings: [.unsafeFlags(["-O", "-target-cpu", "haswell"])]),   // entered only after a CPU check
        .target(name: "RNKernelsAVXVNNI", dependencies: ["CRNX86", "RNKernels"],
                swiftSettings: [.unsafeFlags(["-O", "-target-cpu", "haswell", "-Xcc", "-mavxvnni"])]),   // after a CPU check
        .target(name: "CRNX86"),   // rn_x86.h: vpdpbusd for the AVX-VNNI and AVX512-VNNI modules
        .target(name: "RNKernelsAVX512VNNI", dependencies: ["CRNX86", "RNKernels"],
                swiftSettings: [.unsafeFlags(["-O", "-target-cpu", "icelake-server"])]),   // after a CPU check
        .target(name: "RNHostKernels", dependencies: ["CRNCPU", "RNKernels", "RNKernelsAVX2", "RNKernelsAVXVNNI",
                                                      "RNKernelsAVX512VNNI"],
                swiftSettings: optimizedInDebug),
        .target(name: "RNTrainKernelsAVX2",
                swiftSettings: [.unsafeFlags(["-O", "-target-cpu", "haswell"])]),   // entered only after a CPU check
        .target(name: "RNTrainKernels", dependencies: ["CRNCPU", "RNTrainKernelsAVX2"],
                swiftSettings: optimizedInDebug + [.swiftLanguageMode(.v5)]),
        .target(name: "RNTrain", dependencies: ["RNTrainKernels", "RNInflate", "RNImage", "RNFormat"], exclude: ["RNF.md"],
                swiftSettings: optimizedInDebug + [.swiftLanguageMode(.v5)]),
        .target(name: "RNInflate", dependencies: ["RNFormat"], swiftSettings: optimizedInDebug),
        .target(name: "RNImage", dependencies: ["RNInflate", "RNFormat"], swiftSettings: optimizedInDebug),
        .target(name: "RNQuantize", dependencies: ["RNFormat", "RNKernels", "RNRuntime", "RNTrain", "RNTrainKernels"],
                swiftSettings: [.swiftLanguageMode(.v5)], linkerSettings: [.linkedLibrary("m")]),
        .target(name: "RNDrift", dependencies: ["RNFormat", "RNRuntime", "RNQuantize", "RNTrain", "RNTrainKernels"],
                swiftSettings: [.swiftLanguageMode(.v5)]),
        .target(name: "RNCommandLine", dependencies: ["RNFormat", "RNKernels", "RNHostKernels", "RNRuntime", "RNQuantize", "RNTrain", "RNTrainKernels", "RNDrift", "RNImage"],
                swiftSettings: [.swiftLanguageMode(.v5)]),
        .executableTarget(name: "rn-inspect", dependencies: ["RNCommandLine", "RNRuntime"]),
        .executableTarget(name: "rn-train", dependencies: ["RNCommandLine"], swiftSettings: [.swiftLanguageMode(.v5)]),
        .executableTarget(name: "rn-export", dependencies: ["RNCommandLine"]),
        .executableTarget(name: "rn-drift", dependencies: ["RNCommandLine"]),
        .executableTarget(name: "rn-infer", dependencies: ["RNCommandLine"]),
        .executableTarget(name: "rn-bench", dependencies: ["RNCommandLine"]),
        .executableTarget(name: "rn-train-bench", dependencies: ["RNTrainKernels", "RNTrain"], path: "Tools/rn-train-bench",
                          swiftSettings: [.swiftLanguageMode(.v5)]),
        .executableTarget(name: "rn-firmware-vectors", dependencies: ["RNCommandLine"], path: "Tools/rn-firmware-vectors"),
        .target(name: "RNFuzz", dependencies: ["RNCommandLine", "RNFormat", "RNImage", "RNInflate", "RNQuantize", "RNRuntime", "RNTrain"],
                swiftSettings: [.swiftLanguageMode(.v5)]),
        .executableTarget(name: "rn-fuzz", dependencies: ["RNFuzz"], path: "Tools/rn-fuzz"),
        .executableTarget(name: "rn-golden", dependencies: ["RNKernels", "RNQuantize", "RNRuntime", "RNTrain"], path: "Tools/rn-golden"),

        // MARK: tests
        .target(name: "RNTestSupportC", path: "Tests/RNTestSupportC"),
        .target(name: "RNTestSupport", dependencies: ["RNTrain"], path: "Tests/RNTestSupport"),
        .testTarget(name: "RNFormatTests", dependencies: ["RNFormat", "RNQuantize", "RNRuntime", "RNTrain"]),
        .testTarget(name: "RNTrainTests", dependencies: ["RNTrainKernels", "RNTrain"], swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(name: "RNInflateTests", dependencies: ["RNInflate"], exclude: ["Fixtures"]),
        .testTarget(name: "RNImageTests", dependencies: ["RNImage"], exclude: ["Fixtures"]),
        .testTarget(name: "RNQuantizeTests", dependencies: ["RNQuantize", "RNRuntime", "RNTrain", "RNFormat", "RNKernels", "RNTestSupport"],
                    swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(name: "RNDriftTests", dependencies: ["RNDrift", "RNQuantize", "RNRuntime", "RNTrain", "RNFormat", "RNTestSupport"],
                    swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(name: "RNKernelsTests", dependencies: ["RNKernels", "RNKernelsAVX2", "RNKernelsAVXVNNI", "RNKernelsAVX512VNNI", "CRNCPU", "RNQuantize", "RNTrain"]),
        .testTarget(name: "RNRuntimeTests",
                    dependencies: ["RNRuntime", "RNRuntimeC", "RNKernels", "RNHostKernels", "CRNCPU", "RNQuantize", "RNCommandLine",
                                   "RNTestSupportC", "RNTrain", "RNFuzz"]),
    ]
)
