// The three weight files an evaluator loads.
#pragma once

#include <string>

namespace lsi {

// Paths of the three weight files; an empty path leaves that network out, and a call that
// needs it throws std::logic_error.
struct WeightPaths {
  std::string generator;
  std::string discriminator;
  std::string lenet5;

  // The default file names inside a weights folder.
  static WeightPaths in_folder(const std::string& folder) {
    return {folder + "/generator.safetensors", folder + "/discriminator.safetensors",
            folder + "/lenet5.safetensors"};
  }
};

}  // namespace lsi
