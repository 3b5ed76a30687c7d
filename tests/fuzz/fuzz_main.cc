// The libFuzzer driver of one entry (fuzz_entries.h). LMZ_FUZZ_ENTRY, set by
// tests/fuzz/CMakeLists.txt, names it; each fuzz executable is this file
// built with another name.
#include <cstdlib>

#include "tests/fuzz/fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A FuzzFinding (or any other exception) escapes: std::terminate aborts
  // and libFuzzer saves the input as a crash.
  lmz::fuzz::LMZ_FUZZ_ENTRY(data, size);
  return 0;
}
