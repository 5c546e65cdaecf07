/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF): the
/// checksum of zlib, gzip and PNG. `crc32("123456789") == 0xCBF43926`.
///
/// The 1 KiB table lives on the stack and is rebuilt per call (2 K shifts), so the function needs
/// no global state and no allocation; that is noise next to checksumming a model.
public func crc32(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
    var table = InlineArray<256, UInt32>(repeating: 0)
    for i in 0..<256 {
        var c = UInt32(truncatingIfNeeded: i)
        for _ in 0..<8 { c = (c & 1) != 0 ? (0xEDB8_8320 ^ (c >> 1)) : (c >> 1) }
        table[i] = c
    }
    var crc = ~initial
    for byte in bytes {
        crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
    }
    return ~crc
}
