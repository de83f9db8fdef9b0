// libFuzzer's entry point for one harness (fuzz/harnesses.h), chosen at build time by
// TALLY_FUZZ_HARNESS (fuzz/CMakeLists.txt makes one binary per harness).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/harnesses.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  TALLY_FUZZ_HARNESS(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
