import Testing
import RNFormat
import RNQuantize
import RNRuntime

/// FORMAT.md section 10, written byte by byte from the page alone (not with RNBWriter): proof that
/// the specification is enough to produce a file the runtime accepts.
@Suite struct HandWrittenFileTests {
    static func minimalFile() -> [UInt8] {
        var b = [UInt8]()
        func u8(_ v: Int) { b.append(UInt8(truncatingIfNeeded: v)) }
        func u16(_ v: Int) { u8(v); u8(v >> 8) }
        func u32(_ v: Int) { u16(v & 0xFFFF); u16(v >> 16) }
        func f32(_ v: Float) { u32(Int(v.bitPattern)) }
        // header
        b += Array("RNB8".utf8); u16(1); u16(96); u32(480); u32(0)   // crc patched below
        u32(0); u32(32); u32(0); u32(32)                              // flags, arena, scratch, lower bound
        u32(2); u32(96); u32(1); u32(160); u32(224); u32(256); u32(480); u32(0)
        u16(0); u16(1); u32(0)                                        // input, output, input table
        b += [UInt8](repeating: 0, count: 24)
        // tensors
        for (dims, offset) in [([1, 2, 2, 1], 0), ([1, 1, 1, 1], 16)] {
            u8(1); u8(4); u16(0)
            for d in dims { u32(d) }
            f32(1); u32(0); u32(offset)
        }
        // op: global average pool
        u8(5); u8(0); u8(0x80); u8(0x7F); u16(0); u16(0xFFFF); u16(1); u16(0)
        b += [UInt8](repeating: 0, count: 8 + 44)
        // constants: the gray input table, identity around zero point 0 (p - 128)
        for p in 0..<256 { u8(p - 128) }
        #expect(b.count == 480)
        let crc = b.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0[16...])) }
        for k in 0..<4 { b[12 + k] = UInt8((crc >> (8 * k)) & 0xFF) }
        return b
    }

    @Test func specificationAloneMakesAValidFile() throws {
        let buffer = try ModelBuffer(Self.minimalFile())
        let model = buffer.model
        #expect(model.arenaBytes == 32 && model.computeLowerBound() == 32 && model.opCount == 1)
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 16)
        defer { arena.deallocate() }
        var output: [Int8] = [0]
        try model.invoke(arena: arena, input: [10, 20, -3, 4], output: &output)
        #expect(output == [8])                                 // 31 / 4 = 7.75 -> 8
        var input: [Int8] = [0, 0, 0, 0]
        model.quantizeImage(pixels: [0, 128, 255, 130], into: &input)
        #expect(input == [-128, 0, 127, 2])
    }
}
