#if FUZZING
#if canImport(Glibc)
import Glibc
#endif

// libFuzzer's entry points. NAME is taken out of the arguments before libFuzzer reads its options.

@_cdecl("LLVMFuzzerInitialize")
func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>,
                      _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    let count = Int(argc.pointee)
    let old = argv.pointee!
    let arguments = (0..<count).map { String(cString: old[$0]!) }
    FuzzTargets.selected = FuzzTargets.select(arguments).run
    // argv without NAME; libFuzzer keeps using it for the whole run, so it is never freed.
    let shifted = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: count)
    shifted[0] = old[0]
    for i in 2..<count { shifted[i - 1] = old[i] }
    shifted[count - 1] = nil
    argv.pointee = shifted
    argc.pointee = Int32(count - 1)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzTargets.selected(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#endif
