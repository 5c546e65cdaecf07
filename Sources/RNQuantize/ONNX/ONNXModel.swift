// The ONNX messages rn reads (onnx.proto: ModelProto, GraphProto, NodeProto, AttributeProto,
// TensorProto, ValueInfoProto), decoded from the protobuf wire format with our own reader.
// Unknown fields are skipped; tensors stored outside the file are refused.

public struct ONNXTensor {
    public var name: String
    public var dims: [Int]
    /// TensorProto.DataType: 1 float, 6 int32, 7 int64 are read.
    public var dataType: Int
    /// FLOAT data, row-major.
    public var floats: [Float] = []
    /// INT32 and INT64 data.
    public var ints: [Int64] = []
    public var count: Int { dims.reduce(1, *) }
}

public struct ONNXAttribute {
    public var name: String
    public var float: Float?
    public var int: Int64?
    public var string: String?
    public var tensor: ONNXTensor?
    public var floats: [Float] = []
    public var ints: [Int64] = []
}

public struct ONNXNode {
    public var name: String
    public var opType: String
    public var domain: String
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [ONNXAttribute]
    public func attribute(_ name: String) -> ONNXAttribute? { attributes.first { $0.name == name } }
    /// "Conv node 'conv1'" for errors.
    public var label: String { "\(opType) node '\(name.isEmpty ? outputs.first ?? "?" : name)'" }
}

public struct ONNXValueInfo {
    public enum Dim: Equatable { case value(Int), symbolic(String), unknown }
    public var name: String
    public var elementType: Int
    public var shape: [Dim]
}

public struct ONNXGraph {
    public var name = ""
    public var nodes: [ONNXNode] = []
    public var initializers: [ONNXTensor] = []
    public var inputs: [ONNXValueInfo] = []
    public var outputs: [ONNXValueInfo] = []
}

public struct ONNXModel {
    public var irVersion: Int64 = 0
    public var producer = ""
    /// (domain, version); "" is the default ONNX domain.
    public var opsets: [(domain: String, version: Int64)] = []
    public var graph = ONNXGraph()

    /// The default-domain opset.
    public var opset: Int64? { opsets.first { $0.domain == "" || $0.domain == "ai.onnx" }?.version }

    /// Decodes a serialized ModelProto.
    public init(bytes: [UInt8]) throws(ProtobufError) {
        var r = ProtoReader(bytes, 0..<bytes.count, message: "ModelProto")
        var sawGraph = false
        while let (number, type) = try r.field() {
            switch number {
            case 1: irVersion = try r.int64(type)
            case 2: producer = try r.string(type)
            case 7: var g = try r.message(type, "GraphProto"); graph = try Self.graph(&g); sawGraph = true
            case 8:
                var o = try r.message(type, "OperatorSetIdProto")
                var domain = "", version: Int64 = 0
                while let (n, t) = try o.field() {
                    switch n {
                    case 1: domain = try o.string(t)
                    case 2: version = try o.int64(t)
                    default: try o.skip(t)
                    }
                }
                opsets.append((domain, version))
            default: try r.skip(type)
            }
        }
        guard sawGraph else { throw ProtobufError("ModelProto: no graph (not an ONNX model?)") }
    }

    static func graph(_ r: inout ProtoReader) throws(ProtobufError) -> ONNXGraph {
        var g = ONNXGraph()
        while let (number, type) = try r.field() {
            switch number {
            case 1: var n = try r.message(type, "NodeProto"); g.nodes.append(try node(&n))
            case 2: g.name = try r.string(type)
            case 5: var t = try r.message(type, "TensorProto"); g.initializers.append(try tensor(&t))
            case 11: var v = try r.message(type, "ValueInfoProto"); g.inputs.append(try valueInfo(&v))
            case 12: var v = try r.message(type, "ValueInfoProto"); g.outputs.append(try valueInfo(&v))
            case 15: throw ProtobufError("GraphProto: sparse initializers are not supported")
            default: try r.skip(type)
            }
        }
        return g
    }

    static func node(_ r: inout ProtoReader) throws(ProtobufError) -> ONNXNode {
        var n = ONNXNode(name: "", opType: "", domain: "", inputs: [], outputs: [], attributes: [])
        while let (number, type) = try r.field() {
            switch number {
            case 1: n.inputs.append(try r.string(type))
            case 2: n.outputs.append(try r.string(type))
            case 3: n.name = try r.string(type)
            case 4: n.opType = try r.string(type)
            case 5: var a = try r.message(type, "AttributeProto"); n.attributes.append(try attribute(&a))
            case 7: n.domain = try r.string(type)
            default: try r.skip(type)
            }
        }
        return n
    }

    static func attribute(_ r: inout ProtoReader) throws(ProtobufError) -> ONNXAttribute {
        var a = ONNXAttribute(name: "")
        while let (number, type) = try r.field() {
            switch number {
            case 1: a.name = try r.string(type)
            case 2: a.float = try r.float(type)
            case 3: a.int = try r.int64(type)
            case 4: a.string = try r.string(type)
            case 5: var t = try r.message(type, "TensorProto"); a.tensor = try tensor(&t)
            case 7: try r.floats(type, into: &a.floats)
            case 8: try r.int64s(type, into: &a.ints)
            default: try r.skip(type)
            }
        }
        return a
    }

    static func valueInfo(_ r: inout ProtoReader) throws(ProtobufError) -> ONNXValueInfo {
        var v = ONNXValueInfo(name: "", elementType: 0, shape: [])
        while let (number, type) = try r.field() {
            switch number {
            case 1: v.name = try r.string(type)
            case 2:
                var t = try r.message(type, "TypeProto")
                while let (n, tt) = try t.field() {
                    guard n == 1 else { try t.skip(tt); continue }   // tensor_type
                    var tensorType = try t.message(tt, "TypeProto.Tensor")
                    while let (m, mt) = try tensorType.field() {
                        switch m {
                        case 1: v.elementType = Int(truncatingIfNeeded: try tensorType.int64(mt))
                        case 2:
                            var shape = try tensorType.message(mt, "TensorShapeProto")
                            while let (d, dt) = try shape.field() {
                                guard d == 1 else { try shape.skip(dt); continue }
                                var dim = try shape.message(dt, "TensorShapeProto.Dimension")
                                var value = ONNXValueInfo.Dim.unknown
                                while let (k, kt) = try dim.field() {
                                    switch k {
                                    case 1: value = .value(Int(truncatingIfNeeded: try dim.int64(kt)))
                                    case 2: value = .symbolic(try dim.string(kt))
                                    default: try dim.skip(kt)
                                    }
                                }
                                v.shape.append(value)
                            }
                        default: try tensorType.skip(mt)
                        }
                    }
                }
            default: try r.skip(type)
            }
        }
        return v
    }

    static func tensor(_ r: inout ProtoReader) throws(ProtobufError) -> ONNXTensor {
        var t = ONNXTensor(name: "", dims: [], dataType: 0)
        var dims: [Int64] = [], raw: Range<Int>? = nil, external = false
        var int32s: [Int64] = []
        while let (number, type) = try r.field() {
            switch number {
            case 1: try r.int64s(type, into: &dims)
            case 2: t.dataType = Int(truncatingIfNeeded: try r.int64(type))
            case 4: try r.floats(type, into: &t.floats)
            case 5: try r.int64s(type, into: &int32s)
            case 7: try r.int64s(type, into: &t.ints)
            case 8: t.name = try r.string(type)
            case 9:
                guard type == .lengthDelimited else { throw r.error("raw_data with wire type \(type.rawValue)") }
                raw = try r.lengthDelimited()
            case 13: external = true; try r.skip(type)
            case 14: if try r.int64(type) == 1 { external = true }
            default: try r.skip(type)
            }
        }
        let label = "tensor '\(t.name)'"
        guard !external else { throw ProtobufError("\(label): stored in an external data file, which rn does not read (save the model with its weights inside)") }
        var count = 1
        for d in dims {
            guard d >= 0, d < 1 << 31 else { throw ProtobufError("\(label): dimension \(d)") }
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(d))
            guard !overflow, product < 1 << 31 else { throw ProtobufError("\(label): more than 2^31 elements") }
            count = product
        }
        t.dims = dims.map { Int($0) }
        let elementBytes: Int
        switch t.dataType {
        case 1: elementBytes = 4
        case 6: elementBytes = 4; t.ints += int32s
        case 7: elementBytes = 8
        default: throw ProtobufError("\(label): data type \(t.dataType) is not supported (float, int32 and int64 are)")
        }
        if let raw {
            guard raw.count == count * elementBytes else {
                throw ProtobufError("\(label): raw_data has \(raw.count) bytes, dims \(t.dims) need \(count * elementBytes)")
            }
            let b = r.bytes
            func word(_ at: Int, _ n: Int) -> UInt64 { (0..<n).reduce(UInt64(0)) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) } }
            switch t.dataType {
            case 1: t.floats = (0..<count).map { Float(bitPattern: UInt32(word(raw.lowerBound + 4 * $0, 4))) }
            case 6: t.ints = (0..<count).map { Int64(Int32(bitPattern: UInt32(word(raw.lowerBound + 4 * $0, 4)))) }
            default: t.ints = (0..<count).map { Int64(bitPattern: word(raw.lowerBound + 8 * $0, 8)) }
            }
        } else {
            let have = t.dataType == 1 ? t.floats.count : t.ints.count
            guard have == count else { throw ProtobufError("\(label): \(have) values, dims \(t.dims) need \(count)") }
        }
        return t
    }
}
