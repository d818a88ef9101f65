// Helpers shared by the CUDA backend's tests: a temporary folder, random weight files in the
// safetensors format, and seeded random inputs.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/safetensors.h"

namespace lsi_test {

// A folder under the system temp dir, removed with everything in it at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Writes a safetensors file with every tensor of `specs`, drawn as PyTorch initialises layers:
// uniform in +-gain / sqrt(fan_in), the bias with its weight's fan_in. `gains` maps a layer
// prefix ("main.6") to its gain, 1 when absent.
void write_random_weights(const std::string& path, const std::vector<lsi::TensorSpec>& specs,
                          const std::map<std::string, double>& gains, unsigned seed);

// The source tree: $LSI_SOURCE_DIR when set (ctest sets it), else the one this was built from.
std::string source_dir();

// n_values draws from N(0, 1) or U(0, 1), from std::mt19937 seeded with `seed`.
std::vector<float> normal_values(size_t n_values, unsigned seed);
std::vector<float> uniform01_values(size_t n_values, unsigned seed);

}  // namespace lsi_test
