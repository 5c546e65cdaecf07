import RNInflate

// Decoded images and the one entry point that recognises a file's format.
//
// Standard library only (no Foundation), so that parts can move to firmware later. Every decoder
// reads from a byte buffer it does not own and returns an `Image`; nothing is allocated before the
// header's dimensions have been checked against `ImageLimits`.

/// A decoded image: rows top to bottom, pixels left to right, channels interleaved.
/// `samples` holds one byte per sample at depth 8 and two big-endian bytes at depth 16.
public struct Image: Equatable {
    public enum Layout: Int { case gray = 1, grayAlpha = 2, rgb = 3, rgba = 4 }
    public var width: Int
    public var height: Int
    public var layout: Layout
    /// Bits per sample: 8 or 16.
    public var depth: Int
    public var samples: [UInt8]
    /// Problems the decoder recovered from, one line each (rn-infer prints them as warnings).
    public var warnings: [String] = []

    public init(width: Int, height: Int, layout: Layout, depth: Int = 8, samples: [UInt8]) {
        precondition(depth == 8 || depth == 16, "depth must be 8 or 16, got \(depth)")
        precondition(samples.count == width * height * layout.rawValue * depth / 8,
                     "\(samples.count) samples for \(width)x\(height)x\(layout.rawValue) at depth \(depth)")
        self.width = width
        self.height = height
        self.layout = layout
        self.depth = depth
        self.samples = samples
    }

    public var channels: Int { layout.rawValue }

    /// 8-bit RGB, the form `--dump-decoded` writes: 16-bit samples keep their high byte, alpha is
    /// dropped without compositing, gray is repeated into R, G and B.
    public func rgb8() -> [UInt8] {
        if layout == .rgb && depth == 8 { return samples }   // already so: shared, not copied
        let step = depth / 8, c = channels
        var out = [UInt8](repeating: 0, count: width * height * 3)
        samples.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                for i in 0..<(width * height) {
                    let base = i * c * step
                    if c <= 2 {
                        let v = s[base]
                        o[3 * i] = v; o[3 * i + 1] = v; o[3 * i + 2] = v
                    } else {
                        o[3 * i] = s[base]; o[3 * i + 1] = s[base + step]; o[3 * i + 2] = s[base + 2 * step]
                    }
                }
            }
        }
        return out
    }
}

/// The largest image any decoder accepts, checked from the header before any pixel memory is
/// allocated: 100 megapixels, and no side longer than 65,535.
public enum ImageLimits {
    public static let maxPixels = 100_000_000
    public static let maxSide = 65_535

    static func check(width: Int, height: Int) throws(ImageError) {
        guard width > 0, height > 0 else { throw .corrupt("image has zero size (\(width)x\(height))") }
        guard width <= maxSide, height <= maxSide, width * height <= maxPixels else {
            throw .tooLarge("\(width)x\(height) exceeds the limit of \(maxPixels / 1_000_000) megapixels")
        }
    }
}

/// Why an image could not be decoded; `description` is one line for users.
public enum ImageError: Error, Equatable, CustomStringConvertible {
    case unknownFormat
    case truncated(String)
    case corrupt(String)
    case unsupported(String)
    case tooLarge(String)

    public var description: String {
        switch self {
        case .unknownFormat: return "not a PNG, JPEG, PPM/PGM/PBM or BMP file"
        case .truncated(let what): return "file ends early (\(what))"
        case .corrupt(let what): return what
        case .unsupported(let what): return "unsupported: \(what)"
        case .tooLarge(let what): return "image too large: \(what)"
        }
    }

    init(_ error: InflateError) {
        self = error == .truncated ? .truncated("compressed image data") : .corrupt("compressed image data: \(error)")
    }
}

public enum ImageFormat: String { case png = "PNG", jpeg = "JPEG", pnm = "PPM/PGM/PBM", bmp = "BMP" }

/// The format from the first bytes, or nil.
public func imageFormat(of bytes: [UInt8]) -> ImageFormat? {
    if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return .png }
    if bytes.starts(with: [0xFF, 0xD8]) { return .jpeg }
    if bytes.starts(with: [0x42, 0x4D]) { return .bmp }
    if bytes.count >= 2, bytes[0] == 0x50, (0x31...0x36).contains(bytes[1]) { return .pnm }
    return nil
}

/// File name extensions (lower case) of the formats `decodeImage` reads: what rn-infer takes
/// from a folder and what the trainer's class folders hold.
public let imageFileExtensions: Set<String> = ["png", "jpg", "jpeg", "jpe", "jfif", "ppm", "pgm", "pbm", "pnm", "bmp", "dib"]

/// Decodes a PNG, JPEG (EXIF orientation applied), PPM/PGM/PBM or BMP file.
public func decodeImage(_ bytes: [UInt8]) throws(ImageError) -> Image {
    switch imageFormat(of: bytes) {
    case .png: return try decodePNG(bytes)
    case .jpeg: return try decodeJPEG(bytes)
    case .pnm: return try decodePNM(bytes)
    case .bmp: return try decodeBMP(bytes)
    case nil: throw .unknownFormat
    }
}

// MARK: - Byte reading

/// Bounds-checked big- and little-endian reads; running off the end is `truncated(what)`.
struct ByteCursor {
    let bytes: [UInt8]
    var at: Int
    init(_ bytes: [UInt8], at: Int = 0) { self.bytes = bytes; self.at = at }

    var remaining: Int { bytes.count - at }

    mutating func need(_ n: Int, _ what: String) throws(ImageError) {
        guard n >= 0, n <= remaining else { throw .truncated(what) }
    }
    mutating func u8(_ what: String) throws(ImageError) -> Int {
        try need(1, what); defer { at += 1 }
        return Int(bytes[at])
    }
    mutating func be16(_ what: String) throws(ImageError) -> Int {
        try need(2, what); defer { at += 2 }
        return Int(bytes[at]) << 8 | Int(bytes[at + 1])
    }
    mutating func be32(_ what: String) throws(ImageError) -> Int {
        try need(4, what); defer { at += 4 }
        return Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
    }
    func le16(at i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
    func le32(at i: Int) -> Int { le16(at: i) | le16(at: i + 2) << 16 }
}
