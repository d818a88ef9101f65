// The location of the default weights.
#pragma once

#include <cstdlib>
#include <string>

namespace lsi {

// $LSI_WEIGHTS_DIR if set, else the weights/ folder of the source tree the program was built from.
inline std::string default_weights_dir() {
  if (const char* dir = std::getenv("LSI_WEIGHTS_DIR")) return dir;
  return std::string(LSI_SOURCE_DIR) + "/weights";
}

}  // namespace lsi
