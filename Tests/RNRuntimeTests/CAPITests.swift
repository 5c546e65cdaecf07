import Foundation
import Testing
import CRNRuntime
import RNFormat
import RNRuntime
import RNRuntimeC

// The C ABI, called from Swift through the same @_cdecl entry points C uses. The link from a
// real C program against the Embedded-built library is Tools/c-link-test, run by CI.

@Suite struct CAPITests {
    @Test func statusCodesMirrorTheHeader() throws {
        let header = try String(contentsOf: Repo.root.appendingPathComponent("Sources/CRNRuntime/include/rn_runtime.h"),
                                encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"^\s+(RN_[A-Z0-9_]+)\s*=\s*(\d+),"#, options: .anchorsMatchLines)
        let block = header.components(separatedBy: "enum rn_status_code {")[1].components(separatedBy: "};")[0]
        let matches = pattern.matches(in: block, range: NSRange(block.startIndex..., in: block))
        var codes = [String: Int32]()
        for m in matches {
            let name = String(block[Range(m.range(at: 1), in: block)!])
            codes[name] = Int32(block[Range(m.range(at: 2), in: block)!])!
        }
        var mirrored = 0
        for raw in Int32(0)...200 {
            guard let status = RNStatus(rawValue: raw) else { continue }
            let camel = "\(status)"
            let snake = "RN_" + camel.reduce(into: "") { s, ch in
                if ch.isUppercase { s += "_" }
                s += ch.uppercased()
            }
            #expect(codes[snake] == raw, "\(snake) should be \(raw) in rn_runtime.h")
            #expect(String(cString: cStatusString(raw)) == "\(status.message)")
            mirrored += 1
        }
        #expect(mirrored == codes.count, "header has codes the Swift enum lacks")
        #expect(String(cString: cStatusString(9999)) == "unknown status")
    }

    @Test func modelLifecycleThroughTheCABI() throws {
        let bytes = AlignedBytesForC(try Repo.bytes(Repo.golden("tiny-resnet", "model.rnb")))
        var model = rn_model()
        #expect(MemoryLayout<rn_model>.size == Int(RN_MODEL_SIZE))
        #expect(cModelArenaSize(&model) == 0)
        var info = rn_tensor_info()
        #expect(cModelInputInfo(&model, &info) == RNStatus.modelNotInitialized.rawValue)

        #expect(cModelInit(&model, bytes.pointer, bytes.count) == 0)
        #expect(cModelArenaSize(&model) == 1584)
        #expect(cModelArenaLowerBound(&model) <= cModelArenaSize(&model))
        #expect(cModelInputInfo(&model, &info) == 0)
        #expect(info.rank == 4 && info.dims.0 == 1 && info.dims.1 == 12 && info.dims.2 == 12 && info.dims.3 == 3)
        #expect(info.bytes == 432)
        var out = rn_tensor_info()
        #expect(cModelOutputInfo(&model, &out) == 0)
        #expect(out.rank == 2 && out.dims.1 == 10 && out.bytes == 10)

        var length = 0
        let label = cModelLabel(&model, 3, &length)
        #expect(label != nil && String(decoding: UnsafeRawBufferPointer(start: label, count: length), as: UTF8.self) == "class 3")
        #expect(cModelLabel(&model, 10, &length) == nil)

        let pixels = [UInt8](repeating: 200, count: 432)
        var input = [Int8](repeating: 0, count: 432)
        #expect(cQuantizeImageU8(&model, pixels, &input) == 0)
        let arena = UnsafeMutableRawPointer.allocate(byteCount: 1584, alignment: 16)
        defer { arena.deallocate() }
        var output = [Int8](repeating: 0, count: 10)
        #expect(cInvoke(&model, arena, 1583, input, &output) == RNStatus.arenaTooSmall.rawValue)
        #expect(cInvoke(&model, arena + 8, 1576, input, &output) == RNStatus.arenaMisaligned.rawValue)
        #expect(cInvoke(&model, nil, 1584, input, &output) == RNStatus.nullArgument.rawValue)
        #expect(cInvoke(&model, arena, 1584, input, &output) == 0)
        // Sized invoke: the caller's buffer lengths are checked before anything runs.
        var sized = [Int8](repeating: 0, count: 10)
        #expect(cInvokeSized(&model, arena, 1584, input, 431, &sized, 10) == RNStatus.inputSizeMismatch.rawValue)
        #expect(cInvokeSized(&model, arena, 1584, input, 432, &sized, 9) == RNStatus.outputBufferTooSmall.rawValue)
        #expect(cInvokeSized(&model, arena, 1583, input, 432, &sized, 10) == RNStatus.arenaTooSmall.rawValue)
        #expect(cInvokeSized(&model, arena, 1584, input, 432, &sized, 10) == 0 && sized == output)
        let top = cArgmaxS8(output, 10)
        #expect(top >= 0 && output.allSatisfy { $0 <= output[Int(top)] })

        // Observed invoke: begin and end per op, same output.
        final class Log { var events: [(Int32, Int32, UInt64)] = [] }
        let log = Log()
        var observed = [Int8](repeating: 0, count: 10)
        let status = withExtendedLifetime(log) {
            cInvokeObserved(&model, arena, 1584, input, &observed, { user, event in
                let log = Unmanaged<Log>.fromOpaque(user!).takeUnretainedValue()
                log.events.append((event!.pointee.phase, event!.pointee.op_index, event!.pointee.macs))
            }, Unmanaged.passUnretained(log).toOpaque())
        }
        #expect(status == 0 && observed == output)
        #expect(log.events.count == 2 * Int(cModelOpCount(&model)))
        #expect(log.events.first! == (0, 0, 12 * 12 * 8 * 27))   // stem conv

        // A failed init leaves the model unusable, not half valid.
        #expect(cModelInit(&model, bytes.pointer, bytes.count - 1) == RNStatus.truncatedFile.rawValue)
        #expect(cModelArenaSize(&model) == 0)
        #expect(cInvoke(&model, arena, 1584, input, &output) == RNStatus.modelNotInitialized.rawValue)

        var detail = rn_error_detail()
        #expect(cModelValidate(bytes.pointer, bytes.count - 10, &detail) == RNStatus.truncatedFile.rawValue)
        #expect(detail.found == Int64(bytes.count - 10) && detail.limit == Int64(bytes.count))
        #expect(cModelValidate(bytes.pointer, bytes.count, &detail) == 0 && detail.status == 0)
    }
}

/// Model bytes at a 16-byte aligned address, for the C entry points.
final class AlignedBytesForC {
    let pointer: UnsafeMutableRawPointer
    let count: Int
    init(_ bytes: [UInt8]) {
        count = bytes.count
        pointer = .allocate(byteCount: bytes.count, alignment: 16)
        pointer.copyMemory(from: bytes, byteCount: bytes.count)
    }
    deinit { pointer.deallocate() }
}
