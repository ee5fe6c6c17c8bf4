import FuzzTargets

// libFuzzer target "cms-tsp" (docs/testing.md, "Fuzzing"). Built by `make fuzz` with -DFUZZING and
// -sanitize=fuzzer,address it runs libFuzzer; in the normal build it replays the files and
// directories named on the command line through the same function, as FuzzRegressionTests does.

#if FUZZING
import CLibFuzzer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.cmsTSP(FuzzTargets.bytes(data, size))
    return 0
}
#endif

@main
enum CMSTSPFuzzer {
    static func main() {
        #if FUZZING
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        FuzzTargets.exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            FuzzTargets.cmsTSP(FuzzTargets.bytes(data, size))
            return 0
        })
        #else
        FuzzTargets.exit(FuzzTargets.replay("cms-tsp", paths: Array(CommandLine.arguments.dropFirst())))
        #endif
    }
}
