import CRNRuntime
import RNFormat
import RNRuntime

// The C ABI of rn_runtime.h. Thin: each function checks its pointers, converts, and calls
// RNRuntime. The header (Sources/CRNRuntime/include/rn_runtime.h) is the documentation.

/// What an rn_model holds: a marker that rn_model_init succeeded, then the validated model.
struct ModelSlot {
    static let initialized: UInt64 = 0x524E_5F4D_4F44_454C   // "RN_MODEL"
    var marker: UInt64
    var model: RNModel
}

@inline(__always)
func loadModel(_ model: UnsafePointer<rn_model>?) -> RNModel? {
    guard let model else { return nil }
    let slot = UnsafeRawPointer(model)
    guard slot.load(as: UInt64.self) == ModelSlot.initialized else { return nil }
    return slot.load(as: ModelSlot.self).model
}

@inline(__always)
func int64(_ x: Int) -> Int64 {
    // Int64(x) is rejected by the Embedded -no-allocations build on 32-bit targets.
    var wide = Int64(_truncatingBits: UInt(bitPattern: x))
    if Int.bitWidth < 64 && x < 0 { wide |= ~Int64(0xFFFF_FFFF) }
    return wide
}

@_cdecl("rn_status_string")
public func cStatusString(_ status: Int32) -> UnsafePointer<CChar> {
    let message: StaticString = RNStatus(rawValue: status)?.message ?? "unknown status"
    return UnsafeRawPointer(message.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("rn_model_init")
public func cModelInit(_ model: UnsafeMutablePointer<rn_model>?, _ blob: UnsafeRawPointer?, _ length: Int) -> Int32 {
    guard let model else { return RNStatus.nullArgument.rawValue }
    let slot = UnsafeMutableRawPointer(model)
    slot.storeBytes(of: 0, as: UInt64.self)
    guard let blob, length >= 0 else { return RNStatus.nullArgument.rawValue }
    precondition(MemoryLayout<ModelSlot>.size <= MemoryLayout<rn_model>.size, "rn_model too small for RNModel")
    do {
        let validated = try RNModel(bytes: UnsafeRawBufferPointer(start: blob, count: length))
        // initializeMemory, not storeBytes: the latter is rejected by -no-allocations on 32-bit targets.
        slot.initializeMemory(as: ModelSlot.self, to: ModelSlot(marker: ModelSlot.initialized, model: validated))
        return RNStatus.ok.rawValue
    } catch {
        return error.status.rawValue
    }
}

@_cdecl("rn_model_validate")
public func cModelValidate(_ blob: UnsafeRawPointer?, _ length: Int,
                           _ detail: UnsafeMutablePointer<rn_error_detail>?) -> Int32 {
    var result = RNError(.ok)
    if let blob, length >= 0 {
        do throws(RNError) {
            _ = try RNModel(bytes: UnsafeRawBufferPointer(start: blob, count: length))
        } catch {
            result = error
        }
    } else {
        result = RNError(.nullArgument)
    }
    if let detail {
        detail.pointee = rn_error_detail(status: result.status.rawValue, index: Int32(truncatingIfNeeded: result.index),
                                         found: int64(result.found), limit: int64(result.limit))
    }
    return result.status.rawValue
}

@_cdecl("rn_model_arena_size")
public func cModelArenaSize(_ model: UnsafePointer<rn_model>?) -> Int {
    loadModel(model)?.arenaBytes ?? 0
}

@_cdecl("rn_model_arena_lower_bound")
public func cModelArenaLowerBound(_ model: UnsafePointer<rn_model>?) -> Int {
    loadModel(model)?.arenaLowerBound ?? 0
}

@_cdecl("rn_model_op_count")
public func cModelOpCount(_ model: UnsafePointer<rn_model>?) -> Int32 {
    Int32(loadModel(model)?.opCount ?? 0)
}

@_cdecl("rn_model_input_info")
public func cModelInputInfo(_ model: UnsafePointer<rn_model>?, _ info: UnsafeMutablePointer<rn_tensor_info>?) -> Int32 {
    tensorInfo(model, info, input: true)
}

@_cdecl("rn_model_output_info")
public func cModelOutputInfo(_ model: UnsafePointer<rn_model>?, _ info: UnsafeMutablePointer<rn_tensor_info>?) -> Int32 {
    tensorInfo(model, info, input: false)
}

@inline(__always)
func tensorInfo(_ model: UnsafePointer<rn_model>?, _ info: UnsafeMutablePointer<rn_tensor_info>?, input: Bool) -> Int32 {
    guard let info else { return RNStatus.nullArgument.rawValue }
    guard let m = loadModel(model) else { return RNStatus.modelNotInitialized.rawValue }
    let t = input ? m.input : m.output
    info.pointee.rank = Int32(t.rank)
    info.pointee.dims = (Int32(t.dims.0), Int32(t.dims.1), Int32(t.dims.2), Int32(t.dims.3))
    info.pointee.scale = t.scale
    info.pointee.zero_point = t.zeroPoint
    info.pointee.bytes = Int32(t.byteCount)
    return RNStatus.ok.rawValue
}

@_cdecl("rn_quantize_image_u8")
public func cQuantizeImageU8(_ model: UnsafePointer<rn_model>?, _ pixels: UnsafePointer<UInt8>?,
                             _ input: UnsafeMutablePointer<Int8>?) -> Int32 {
    guard let pixels, let input else { return RNStatus.nullArgument.rawValue }
    guard let m = loadModel(model) else { return RNStatus.modelNotInitialized.rawValue }
    m.quantizeImage(pixels: pixels, into: input)
    return RNStatus.ok.rawValue
}

@_cdecl("rn_invoke")
public func cInvoke(_ model: UnsafePointer<rn_model>?, _ arena: UnsafeMutableRawPointer?, _ arenaLength: Int,
                    _ input: UnsafePointer<Int8>?, _ output: UnsafeMutablePointer<Int8>?) -> Int32 {
    cInvokeObserved(model, arena, arenaLength, input, output, nil, nil)
}

@_cdecl("rn_invoke_observed")
public func cInvokeObserved(_ model: UnsafePointer<rn_model>?, _ arena: UnsafeMutableRawPointer?, _ arenaLength: Int,
                            _ input: UnsafePointer<Int8>?, _ output: UnsafeMutablePointer<Int8>?,
                            _ callback: rn_layer_callback?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    guard let arena, let input, let output, arenaLength >= 0 else { return RNStatus.nullArgument.rawValue }
    guard let m = loadModel(model) else { return RNStatus.modelNotInitialized.rawValue }
    let buffer = UnsafeMutableRawBufferPointer(start: arena, count: arenaLength)
    do throws(RNError) {
        if let callback {
            try m.invoke(arena: buffer, input: input, output: output) { event in
                var c = rn_layer_event(phase: event.phase.rawValue, op_index: Int32(event.opIndex),
                                       kind: Int32(event.kind.rawValue), output_tensor: Int32(event.outputTensor),
                                       macs: UInt64(_truncatingBits: UInt(bitPattern: event.macs)),
                                       output: event.output, output_bytes: Int32(event.byteCount), reserved: 0)
                callback(user, &c)
            }
        } else {
            try m.invoke(arena: buffer, input: input, output: output)
        }
        return RNStatus.ok.rawValue
    } catch {
        return error.status.rawValue
    }
}

@_cdecl("rn_invoke_sized")
public func cInvokeSized(_ model: UnsafePointer<rn_model>?, _ arena: UnsafeMutableRawPointer?, _ arenaLength: Int,
                         _ input: UnsafePointer<Int8>?, _ inputLength: Int,
                         _ output: UnsafeMutablePointer<Int8>?, _ outputLength: Int) -> Int32 {
    guard let m = loadModel(model) else { return RNStatus.modelNotInitialized.rawValue }
    guard inputLength == m.input.byteCount else { return RNStatus.inputSizeMismatch.rawValue }
    guard outputLength >= m.output.byteCount else { return RNStatus.outputBufferTooSmall.rawValue }
    return cInvokeObserved(model, arena, arenaLength, input, output, nil, nil)
}

@_cdecl("rn_model_label")
public func cModelLabel(_ model: UnsafePointer<rn_model>?, _ index: Int32,
                        _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    guard let m = loadModel(model), index >= 0, let label = m.file.label(Int(index)),
          let start = label.baseAddress else { return nil }
    length?.pointee = label.count
    return start.assumingMemoryBound(to: CChar.self)
}

@_cdecl("rn_argmax_s8")
public func cArgmaxS8(_ values: UnsafePointer<Int8>?, _ count: Int32) -> Int32 {
    guard let values, count > 0 else { return -1 }
    var best: Int32 = 0
    for i in 1..<count where values[Int(i)] > values[Int(best)] { best = i }
    return best
}
