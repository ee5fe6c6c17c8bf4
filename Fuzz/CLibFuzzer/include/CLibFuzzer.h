#ifndef SIGND_CLIBFUZZER_H
#define SIGND_CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver (compiler-rt, linked by `-sanitize=fuzzer`). The fuzz executables keep their
// own `main` (SwiftPM links executables with an entry point of their own) and hand over to it.
// Only referenced when the fuzzers are built with -DFUZZING, so the normal build needs no libFuzzer.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
