import Foundation
import RNImage
import RNInflate
import RNTrainKernels

/// A labelled image set held as uint8 pixels: N x H x W x C, row-major (HWC per image).
public struct ImageDataset {
    public var pixels: [UInt8]
    public var labels: [Int]
    public var height: Int, width: Int, channels: Int
    public var classNames: [String]
    /// Where the data came from, for provenance.
    public var source: String

    public var count: Int { labels.count }
    public var imageBytes: Int { height * width * channels }

    public init(pixels: [UInt8], labels: [Int], height: Int, width: Int, channels: Int, classNames: [String], source: String) {
        self.pixels = pixels; self.labels = labels
        self.height = height; self.width = width; self.channels = channels
        self.classNames = classNames; self.source = source
    }

    /// The first `n` images (all when n >= count).
    public func prefix(_ n: Int) -> ImageDataset {
        guard n < count else { return self }
        var d = self
        d.pixels = Array(pixels[0..<(n * imageBytes)])
        d.labels = Array(labels[0..<n])
        return d
    }

    /// Per-channel mean and standard deviation of pixel / 255 over the whole set.
    public func channelStatistics() -> (mean: [Float], std: [Float]) {
        var sum = [Double](repeating: 0, count: channels), squares = sum
        for (i, p) in pixels.enumerated() {
            let v = Double(p) / 255
            sum[i % channels] += v
            squares[i % channels] += v * v
        }
        let n = Double(count * height * width)
        let mean = sum.map { $0 / n }
        let std = zip(squares, mean).map { max(1e-6, ($0 / n - $1 * $1)).squareRoot() }
        return (mean.map(Float.init), std.map(Float.init))
    }
}

/// A data problem: names the file and what is wrong, in one line.
public struct DataError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public let fashionMNISTClasses = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                                  "Bag", "Ankle boot"]
public let cifar10Classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
public let fashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"

/// The bytes of the regular file at `path`, refused before reading when it is missing, a
/// directory or over `limit` bytes: the one bounded reader of every tool and loader. Errors are
/// one line without the path (callers prefix it); `kind` names what the file should be, e.g.
/// "an .rnb model".
public func readBoundedFile(_ path: String, limit: Int, kind: String) throws(DataError) -> [UInt8] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw DataError("no such file") }
    guard !isDirectory.boolValue else { throw DataError("is a directory, not \(kind)") }
    guard let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int else {
        throw DataError("cannot read file size")
    }
    guard size <= limit else { throw DataError("\(size) bytes is larger than the \(limit >> 20) MiB limit for \(kind)") }
    guard let data = FileManager.default.contents(atPath: path) else { throw DataError("cannot read") }
    return [UInt8](data)
}

/// Size limits of the files the trainer reads.
public enum FileLimits {
    /// An image in a class folder, or one given to rn-infer (a 100-megapixel PPM is 300 MB).
    public static let image = 1 << 30
    /// A (gzipped) IDX file: Fashion-MNIST's largest is 26 MB; or a CIFAR-10 binary batch (30 MB).
    public static let idx = 256 << 20
    /// An IDX file's data once inflated (Fashion-MNIST's training images are 47 MB).
    public static let idxData = 256 << 20
    /// A `.rnf` checkpoint: ResNet-34 at width 512 is 340 MB with momentum.
    public static let checkpoint = 1 << 30
}

/// `readBoundedFile` with the path in the error.
func readFile(_ path: String, limit: Int, kind: String) throws(DataError) -> [UInt8] {
    do { return try readBoundedFile(path, limit: limit, kind: kind) } catch { throw DataError("\(path): \(error)") }
}

/// Reads an IDX file (gzipped or not). Returns dims and payload.
func readIDX(_ path: String, expectedType: UInt8, rank: Int) throws -> (dims: [Int], payload: ArraySlice<UInt8>) {
    try parseIDX(try readFile(path, limit: FileLimits.idx, kind: "an IDX file"), path: path, expectedType: expectedType, rank: rank)
}

/// Parses IDX bytes, gunzipping them first when they start with gzip's magic: the header is
/// inflated alone, its dims checked (each and their product at most `FileLimits.idxData`), and
/// then exactly the size it declares is inflated, so a small file cannot inflate further.
public func parseIDX(_ bytes: [UInt8], path: String, expectedType: UInt8, rank: Int) throws(DataError) -> (dims: [Int], payload: ArraySlice<UInt8>) {
    let headerSize = 4 + 4 * rank
    let gzipped = bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    var data = bytes
    if gzipped {
        do { data = try gunzipPrefix(bytes, count: headerSize) } catch { throw DataError("\(path): \(error)") }
    }
    guard (1...4).contains(rank), data.count >= headerSize else { throw DataError("\(path): truncated IDX header") }
    guard data[0] == 0, data[1] == 0, data[2] == expectedType, Int(data[3]) == rank else {
        throw DataError("\(path): not an IDX file of rank \(rank) with unsigned bytes")
    }
    let dims = (0..<rank).map { d in (0..<4).reduce(0) { $0 << 8 | Int(data[4 + 4 * d + $1]) } }
    var expected = 1
    for d in dims {
        expected *= d
        guard expected <= FileLimits.idxData else {
            throw DataError("\(path): IDX dims \(dims.map(String.init).joined(separator: "x")) exceed the \(FileLimits.idxData >> 20) MiB limit")
        }
    }
    if gzipped {
        do { data = try gunzip(bytes, limit: headerSize + expected) } catch { throw DataError("\(path): \(error)") }
    }
    let payload = data[headerSize...]
    guard payload.count == expected else {
        throw DataError("\(path): truncated: \(payload.count) data bytes, header says \(expected)")
    }
    return (dims, payload)
}

/// Reads an IDX image file (rank 3, N x H x W) and its label file (rank 1, N).
public func loadIDX(images: String, labels: String, classNames: [String]) throws -> ImageDataset {
    let (dims, pixels) = try readIDX(images, expectedType: 0x08, rank: 3)
    let (labelDims, labelBytes) = try readIDX(labels, expectedType: 0x08, rank: 1)
    guard labelDims[0] == dims[0] else {
        throw DataError("\(labels): \(labelDims[0]) labels for \(dims[0]) images in \(images)")
    }
    guard dims[0] > 0 else { throw DataError("\(images): no images") }
    let labelValues = labelBytes.map { Int($0) }
    if let bad = labelValues.first(where: { $0 >= classNames.count }) {
        throw DataError("\(labels): label \(bad) but only \(classNames.count) classes")
    }
    return ImageDataset(pixels: Array(pixels), labels: labelValues, height: dims[1], width: dims[2], channels: 1,
                        classNames: classNames, source: images)
}

/// Fashion-MNIST (train, test) from the IDX files in `directory` (gzip or plain).
public func loadFashionMNIST(directory: String = fashionMNISTDirectory) throws -> (train: ImageDataset, test: ImageDataset) {
    func path(_ name: String) -> String {
        let gz = "\(directory)/\(name).gz"
        return FileManager.default.fileExists(atPath: gz) ? gz : "\(directory)/\(name)"
    }
    var train = try loadIDX(images: path("train-images-idx3-ubyte"), labels: path("train-labels-idx1-ubyte"),
                            classNames: fashionMNISTClasses)
    var test = try loadIDX(images: path("t10k-images-idx3-ubyte"), labels: path("t10k-labels-idx1-ubyte"),
                           classNames: fashionMNISTClasses)
    train.source = "fashion-mnist train (\(directory))"
    test.source = "fashion-mnist test (\(directory))"
    return (train, test)
}

/// CIFAR-10 binary batches: records of 1 label byte and 3072 pixel bytes (1024 R, 1024 G,
/// 1024 B, each 32 x 32 row-major), converted to HWC.
public func loadCIFAR10(paths: [String]) throws -> ImageDataset {
    var pixels = [UInt8](), labels = [Int]()
    for path in paths {
        let bytes = try readFile(path, limit: FileLimits.idx, kind: "a CIFAR-10 batch")
        guard !bytes.isEmpty, bytes.count % 3073 == 0 else {
            throw DataError("\(path): \(bytes.count) bytes is not a whole number of 3073-byte CIFAR-10 records")
        }
        for r in 0..<(bytes.count / 3073) {
            let record = r * 3073
            guard bytes[record] < 10 else { throw DataError("\(path): record \(r) has label \(bytes[record])") }
            labels.append(Int(bytes[record]))
            for p in 0..<1024 { for ch in 0..<3 { pixels.append(bytes[record + 1 + ch * 1024 + p]) } }
        }
    }
    return ImageDataset(pixels: pixels, labels: labels, height: 32, width: 32, channels: 3, classNames: cifar10Classes,
                        source: paths.joined(separator: ","))
}

/// Turns images into normalised float batches, with optional augmentation.
public struct BatchMaker {
    public var mean: [Float], std: [Float]
    /// Random crop after zero-padding by this many pixels (0 = off).
    public var cropPadding: Int
    public var flip: Bool

    public init(mean: [Float], std: [Float], cropPadding: Int = 0, flip: Bool = false) {
        self.mean = mean; self.std = std; self.cropPadding = cropPadding; self.flip = flip
    }

    /// (N, H, W, C) floats, (pixel / 255 - mean) / std, for the images at `indices`.
    public func batch(_ data: ImageDataset, _ indices: ArraySlice<Int>, rng: inout SeededRandom,
                      augment: Bool) -> (Tensor, [Int]) {
        let h = data.height, w = data.width, c = data.channels
        let x = Tensor(n: indices.count, h: h, w: w, c: c)
        // The padded border is pixel value 0, normalised like any other pixel.
        let table = (0..<c).map { ch in (0..<256).map { (Float($0) / 255 - mean[ch]) / std[ch] } }
        let offsets = indices.map { _ -> (Int, Int, Bool) in
            guard augment else { return (0, 0, false) }
            let dy = cropPadding > 0 ? rng.int(2 * cropPadding + 1) - cropPadding : 0
            let dx = cropPadding > 0 ? rng.int(2 * cropPadding + 1) - cropPadding : 0
            return (dy, dx, flip && rng.int(2) == 1)
        }
        data.pixels.withUnsafeBufferPointer { pixels in
            parallelFor(indices.count) { b in
                let image = indices[indices.startIndex + b] * data.imageBytes
                let (dy, dx, mirrored) = offsets[b]
                for y in 0..<h {
                    for xx in 0..<w {
                        let sy = y + dy, sx0 = mirrored ? w - 1 - xx : xx
                        let sx = sx0 + dx
                        let out = x.pointer + ((b * h + y) * w + xx) * c
                        for ch in 0..<c {
                            let inside = sy >= 0 && sy < h && sx >= 0 && sx < w
                            out[ch] = table[ch][inside ? Int(pixels[image + (sy * w + sx) * c + ch]) : 0]
                        }
                    }
                }
            }
        }
        return (x, indices.map { data.labels[$0] })
    }
}

/// Resolves `--data`: `fashion-mnist` (the system package), a folder of IDX files (Fashion-MNIST
/// names), a CIFAR-10 binary folder (data_batch_*.bin and test_batch.bin), one CIFAR-10 .bin
/// file (used for both training and testing), or a folder of class folders of images
/// (`loadImageFolder`).
/// `pipeline`, for a folder of images: each image through it (a model's resize, crop and
/// channels) instead of stretched to the first image's size.
public func loadTrainingData(_ spec: String, pipeline: PixelPipeline? = nil) throws -> (train: ImageDataset, test: ImageDataset) {
    if spec == "fashion-mnist" {
        guard FileManager.default.fileExists(atPath: fashionMNISTDirectory) else {
            throw DataError("fashion-mnist: \(fashionMNISTDirectory) not found (apt-get install dataset-fashion-mnist)")
        }
        return try loadFashionMNIST()
    }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: spec, isDirectory: &isDirectory) else {
        throw DataError("\(spec): no such file or directory")
    }
    if !isDirectory.boolValue {
        let data = try loadCIFAR10(paths: [spec])
        return (data, data)
    }
    let names = (try? FileManager.default.contentsOfDirectory(atPath: spec)) ?? []
    if names.contains(where: { $0.hasPrefix("train-images-idx3-ubyte") }) {
        return try loadFashionMNIST(directory: spec)
    }
    let batches = names.filter { $0.hasPrefix("data_batch_") && $0.hasSuffix(".bin") }.sorted()
    if !batches.isEmpty, names.contains("test_batch.bin") {
        return (try loadCIFAR10(paths: batches.map { "\(spec)/\($0)" }), try loadCIFAR10(paths: ["\(spec)/test_batch.bin"]))
    }
    return try loadImageFolder(spec, pipeline: pipeline)
}

// MARK: - Image folders

/// A folder of class folders of images (PNG, JPEG, PPM/PGM/PBM, BMP), decoded with RNImage:
/// `root/<class>/*.png`, classes in sorted name order. Every image is stretched to the size of the
/// first one; the set is gray when every image is gray, else RGB. With `root/train/<class>/...`
/// and `root/test/<class>/...` those are the two splits; otherwise every tenth image (by sorted
/// path) of each class is held out for testing.
public func loadImageFolder(_ root: String, pipeline: PixelPipeline? = nil) throws -> (train: ImageDataset, test: ImageDataset) {
    let fm = FileManager.default
    func subfolders(_ path: String) -> [String] {
        ((try? fm.contentsOfDirectory(atPath: path)) ?? []).filter {
            var isDirectory: ObjCBool = false
            return !$0.hasPrefix(".") && fm.fileExists(atPath: "\(path)/\($0)", isDirectory: &isDirectory) && isDirectory.boolValue
        }.sorted()
    }
    func images(_ folder: String) -> [String] {
        ((try? fm.contentsOfDirectory(atPath: folder)) ?? []).filter {
            imageFileExtensions.contains(($0 as NSString).pathExtension.lowercased())
        }.sorted().map { "\(folder)/\($0)" }
    }
    let split = subfolders(root).contains("train") && subfolders(root).contains("test")
    let classes = split ? Array(Set(subfolders("\(root)/train") + subfolders("\(root)/test"))).sorted() : subfolders(root)
    guard !classes.isEmpty else { throw DataError("\(root): no class folders of images") }
    var trainFiles: [(String, Int)] = [], testFiles: [(String, Int)] = []
    for (label, name) in classes.enumerated() {
        if split {
            trainFiles += images("\(root)/train/\(name)").map { ($0, label) }
            testFiles += images("\(root)/test/\(name)").map { ($0, label) }
        } else {
            for (i, file) in images("\(root)/\(name)").enumerated() {
                if i % 10 == 9 { testFiles.append((file, label)) } else { trainFiles.append((file, label)) }
            }
        }
    }
    guard !trainFiles.isEmpty, !testFiles.isEmpty else { throw DataError("\(root): needs images for training and testing") }
    var decoded: [(Image, Int)] = []
    for (file, label) in trainFiles + testFiles {
        let data = try readFile(file, limit: FileLimits.image, kind: "an image")
        do { decoded.append((try decodeImage(data), label)) }
        catch { throw DataError("\(file): \(error)") }
    }
    let (width, height) = pipeline.map { ($0.width, $0.height) } ?? (decoded[0].0.width, decoded[0].0.height)
    let channels = pipeline?.channels ?? (decoded.allSatisfy { $0.0.layout == .gray || $0.0.layout == .grayAlpha } ? 1 : 3)
    func dataset(_ items: ArraySlice<(Image, Int)>, _ part: String) throws -> ImageDataset {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(items.count * width * height * channels)
        for (image, _) in items {
            if let pipeline {
                do { pixels += try pipeline.pixels(from: image) } catch { throw DataError("\(root): \(error)") }
                continue
            }
            pixels += resizePixels(image.pixels8(channels: channels), width: image.width, height: image.height,
                                   channels: channels, to: width, height)
        }
        return ImageDataset(pixels: pixels, labels: items.map(\.1), height: height, width: width, channels: channels,
                            classNames: classes, source: "\(root) (\(part))")
    }
    return (try dataset(decoded[..<trainFiles.count], "train"), try dataset(decoded[trainFiles.count...], "test"))
}
