import Foundation
import RNFuzz

// rn-fuzz: the fuzz targets of RNFuzz. Built by Tools/fuzz with -sanitize=fuzzer,address and
// -D RN_FUZZ, it is a libFuzzer binary whose target is RN_FUZZ_TARGET; built normally, it
// replays files: `rn-fuzz TARGET FILE...` runs each through the target and reports the time;
// `rn-fuzz seeds DIR` writes the seeds the fixtures lack.

#if RN_FUZZ
nonisolated(unsafe) var target: FuzzTarget? = nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if target == nil {
        let name = ProcessInfo.processInfo.environment["RN_FUZZ_TARGET"] ?? ""
        guard let t = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("rn-fuzz: RN_FUZZ_TARGET=\(name) is not one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
            exit(2)
        }
        target = t
    }
    target!.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
@main struct Replay {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        if args.count == 2, args[0] == "seeds" {   // rn-fuzz seeds DIR: the seeds Tools/fuzz adds to the fixtures
            do { try writeFuzzSeeds(to: args[1]) } catch {
                FileHandle.standardError.write(Data("rn-fuzz: \(error)\n".utf8))
                exit(1)
            }
            return
        }
        guard let name = args.first, let target = FuzzTarget(rawValue: name), args.count >= 2 else {
            FileHandle.standardError.write(Data("usage: rn-fuzz TARGET FILE...  (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))\n".utf8))
            exit(2)
        }
        for file in args.dropFirst() {
            guard let data = FileManager.default.contents(atPath: file) else {
                FileHandle.standardError.write(Data("rn-fuzz: \(file): cannot read\n".utf8))
                exit(1)
            }
            let start = Date()
            target.run([UInt8](data))
            print(String(format: "%@: %.3f s", file, Date().timeIntervalSince(start)))
        }
    }
}
#endif
