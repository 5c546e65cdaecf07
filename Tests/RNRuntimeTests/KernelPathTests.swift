import Foundation
import Testing
import CRNCPU
import RNKernels
import RNKernelsAVX2
import RNKernelsAVXVNNI
import RNKernelsAVX512VNNI
import RNQuantize
import RNRuntime

/// Whole ResNet-18s through every host kernel path: the reference kernels, the tiled kernels in
/// the baseline build and the tiled kernels with AVX2 and AVX-VNNI give identical bytes (and the goldens');
/// so do the same graphs with weights in layout 1 through the blocked kernels.
@Suite(.serialized) struct KernelPathTests {
    typealias Paths = [(String, Conv2DS8Kernel?, Conv2DAddS8Kernel?)]
    static var paths: Paths {
        var p: Paths = [
            ("reference", { conv2DS8Reference($0, input: $1, weights: $2, requantization: $3, output: $4) },
             { conv2DAddS8Reference($0, $1, input: $2, weights: $3, requantization: $4, residual: $5, output: $6) }),
            ("tiled, baseline SIMD", nil, nil),
        ]
        if rn_cpu_has_avx2_fma() != 0 {
            p.append(("tiled, AVX2", { conv2DS8TiledAVX2($0, input: $1, weights: $2, requantization: $3, output: $4) },
                      { conv2DAddS8TiledAVX2($0, $1, input: $2, weights: $3, requantization: $4, residual: $5, output: $6) }))
        }
        if rn_cpu_has_avx_vnni() != 0 {
            p.append(("tiled, AVX-VNNI", { conv2DS8TiledAVXVNNI($0, input: $1, weights: $2, requantization: $3, output: $4) },
                      { conv2DAddS8TiledAVXVNNI($0, $1, input: $2, weights: $3, requantization: $4, residual: $5, output: $6) }))
        }
        return p
    }

    @Test(arguments: ["exported-resnet18-fused", "exported-resnet18-imagenet-stem"])
    func everyPathGivesTheGoldenBytes(_ name: String) throws {
        let buffer = try ModelBuffer(try Repo.bytes(Repo.golden(name, "model.rnb")))
        let model = buffer.model
        let inputs = try Repo.bytes(Repo.golden(name, "inputs.bin")).map { Int8(bitPattern: $0) }
        let expected = try Repo.bytes(Repo.golden(name, "expected.bin")).map { Int8(bitPattern: $0) }
        let saved = (RNAcceleratedKernels.conv2D, RNAcceleratedKernels.conv2DAdd)
        defer { (RNAcceleratedKernels.conv2D, RNAcceleratedKernels.conv2DAdd) = saved }
        for (path, conv, convAdd) in Self.paths {
            (RNAcceleratedKernels.conv2D, RNAcceleratedKernels.conv2DAdd) = (conv, convAdd)
            var outputs: [Int8] = []
            for k in 0..<(inputs.count / model.input.byteCount) {
                outputs += try run(model, Array(inputs[(k * model.input.byteCount)..<((k + 1) * model.input.byteCount)]))
            }
            #expect(diff(outputs, expected) == "OK", "\(name) with \(path) kernels")
        }
    }

    /// The golden graphs written with layout-1 weights (model-o16hwi4.rnb), through the blocked
    /// kernels with the portable dot product (baseline and AVX2) and with vpdpbusd: the same
    /// expected bytes.
    @Test(arguments: ["exported-resnet18-fused", "exported-resnet18-imagenet-stem"])
    func blockedPathsGiveTheGoldenBytes(_ name: String) throws {
        let buffer = try ModelBuffer(try Repo.bytes(Repo.golden(name, "model-o16hwi4.rnb")))
        let model = buffer.model
        #expect(model.file.scratchBytes > 0)
        let inputs = try Repo.bytes(Repo.golden(name, "inputs.bin")).map { Int8(bitPattern: $0) }
        let expected = try Repo.bytes(Repo.golden(name, "expected.bin")).map { Int8(bitPattern: $0) }
        var paths: [(String, Conv2DBlockedS8Kernel?, Conv2DAddBlockedS8Kernel?)] = [("blocked, portable dot product", nil, nil)]
        if rn_cpu_has_avx2_fma() != 0 {
            paths.append(("blocked, AVX2", conv2DS8BlockedAVX2, conv2DAddS8BlockedAVX2))
        }
        if rn_cpu_has_avx512_vnni() != 0 {
            paths.append(("blocked, AVX512-VNNI", conv2DS8BlockedAVX512VNNI, conv2DAddS8BlockedAVX512VNNI))
        }
        let saved = (RNAcceleratedKernels.conv2DBlocked, RNAcceleratedKernels.conv2DAddBlocked)
        defer { (RNAcceleratedKernels.conv2DBlocked, RNAcceleratedKernels.conv2DAddBlocked) = saved }
        for (path, conv, convAdd) in paths {
            (RNAcceleratedKernels.conv2DBlocked, RNAcceleratedKernels.conv2DAddBlocked) = (conv, convAdd)
            var outputs: [Int8] = []
            for k in 0..<(inputs.count / model.input.byteCount) {
                outputs += try run(model, Array(inputs[(k * model.input.byteCount)..<((k + 1) * model.input.byteCount)]))
            }
            #expect(diff(outputs, expected) == "OK", "\(name) with \(path) kernels")
        }
    }
}
