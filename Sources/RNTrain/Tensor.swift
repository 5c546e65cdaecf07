import Foundation
import RNTrainKernels

/// A float feature map in NHWC order: `rows = n * h * w` rows of `c` channels, row-major.
/// A class with manually managed storage, so that layers can cache and reuse buffers without
/// copy-on-write surprises. Shapes beside the buffer, always: element (b, y, x, ch) is at
/// ((b * h + y) * w + x) * c + ch.
public final class Tensor {
    public let n: Int, h: Int, w: Int, c: Int
    public let data: UnsafeMutableBufferPointer<Float>

    /// A tensor of zeros (or, with `zeroed: false`, of whatever the recycled buffer held, for
    /// outputs that are written completely).
    public init(n: Int, h: Int, w: Int, c: Int, zeroed: Bool = true) {
        self.n = n; self.h = h; self.w = w; self.c = c
        data = BufferPool.shared.take(max(1, n * h * w * c))
        if zeroed { data.update(repeating: 0) }
    }

    public convenience init(n: Int, h: Int, w: Int, c: Int, values: [Float]) {
        self.init(n: n, h: h, w: w, c: c)
        precondition(values.count == count, "Tensor: \(values.count) values for \(count) elements")
        _ = data.update(fromContentsOf: values)
    }

    deinit { BufferPool.shared.give(data) }

    public var count: Int { n * h * w * c }
    public var rows: Int { n * h * w }
    public var pointer: UnsafeMutablePointer<Float> { data.baseAddress! }
    public var array: [Float] { Array(data[0..<count]) }
    public func sameShape(_ other: Tensor) -> Bool { n == other.n && h == other.h && w == other.w && c == other.c }
    public func zero() { data.update(repeating: 0) }
    public static func like(_ t: Tensor, zeroed: Bool = true) -> Tensor { Tensor(n: t.n, h: t.h, w: t.w, c: t.c, zeroed: zeroed) }
}

/// Recycles tensor storage by exact size: a training step allocates the same shapes every
/// time, and fresh large allocations cost page faults and kernel zeroing (about a sixth of a
/// step before this pool). Buffers are kept while free, up to `limitBytes`.
final class BufferPool: @unchecked Sendable {
    static let shared = BufferPool()
    private var free: [Int: [UnsafeMutableBufferPointer<Float>]] = [:]
    private var freeBytes = 0
    private let lock = NSLock()
    let limitBytes = 4 << 30

    func take(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        lock.lock()
        if let buffer = free[count]?.popLast() {
            freeBytes -= count * 4
            lock.unlock()
            return buffer
        }
        lock.unlock()
        return .allocate(capacity: count)
    }

    func give(_ buffer: UnsafeMutableBufferPointer<Float>) {
        lock.lock()
        defer { lock.unlock() }
        guard freeBytes + buffer.count * 4 <= limitBytes else { buffer.deallocate(); return }
        free[buffer.count, default: []].append(buffer)
        freeBytes += buffer.count * 4
    }
}

/// A trainable array with its gradient and SGD momentum.
public final class Parameter {
    public var value: [Float]
    public var grad: [Float]
    public var momentum: [Float]
    /// Weight decay applies (convolution and linear weights; not biases or batch norm).
    public let decays: Bool

    public init(_ value: [Float], decays: Bool) {
        self.value = value
        grad = [Float](repeating: 0, count: value.count)
        momentum = [Float](repeating: 0, count: value.count)
        self.decays = decays
    }
}

/// Splits `0..<count` into contiguous chunks, one per thread, and runs them in parallel.
func parallelChunks(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let threads = max(1, min(TrainThreads.count, count / max(1, minimumChunk)))
    let step = (count + threads - 1) / threads
    parallelFor(threads) { t in
        let range = (t * step)..<min(count, (t + 1) * step)
        if !range.isEmpty { body(range) }
    }
}
