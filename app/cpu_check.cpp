// Compiled without the build's -march flags (see app/CMakeLists.txt), so that this check itself
// runs on any x86-64 CPU. The LSI_BUILD_* definitions carry what the rest of the build assumes.
#include "app/cpu_check.h"

namespace lsi {

std::string missing_cpu_features() {
  std::string missing;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  struct Feature {
    bool assumed;
    bool present;
    const char* name;
  };
  const Feature features[] = {
#ifdef LSI_BUILD_AVX2
      {true, __builtin_cpu_supports("avx2") != 0, "AVX2"},
#endif
#ifdef LSI_BUILD_FMA
      {true, __builtin_cpu_supports("fma") != 0, "FMA"},
#endif
#ifdef LSI_BUILD_AVX512F
      {true, __builtin_cpu_supports("avx512f") != 0, "AVX-512F"},
#endif
      {false, true, ""},
  };
  for (const Feature& feature : features) {
    if (feature.assumed && !feature.present) missing += std::string(" ") + feature.name;
  }
#endif
  if (missing.empty()) return missing;
  return "this CPU lacks" + missing + ", which this build of lsi-cuda was tuned for " +
         "(-march=native on the build machine); rebuild here, or with -DLSI_NATIVE=OFF for a " +
         "portable binary";
}

}  // namespace lsi
