// Helpers shared by the CUDA backend's tests.
#include "test_cuda_support.h"

#include <stdlib.h>

#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace lsi_test {

namespace {

namespace fs = std::filesystem;

const std::string kWeightSuffix = ".weight";

std::string f32_le_bytes(const std::vector<float>& values) {
  std::string bytes;
  bytes.reserve(values.size() * 4);
  for (const float value : values) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    for (int i = 0; i < 4; ++i) bytes += static_cast<char>((bits >> (8 * i)) & 0xff);
  }
  return bytes;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "lsi_test_cuda_XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed for " + pattern);
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

void write_random_weights(const std::string& path, const std::vector<lsi::TensorSpec>& specs,
                          const std::map<std::string, double>& gains, unsigned seed) {
  std::mt19937 generator(seed);
  std::map<std::string, int64_t> fan_in_of_prefix;
  for (const lsi::TensorSpec& spec : specs) {
    if (!ends_with(spec.name, kWeightSuffix)) continue;
    int64_t fan_in = 1;
    for (size_t axis = 1; axis < spec.shape.size(); ++axis) fan_in *= spec.shape[axis];
    fan_in_of_prefix[spec.name.substr(0, spec.name.size() - kWeightSuffix.size())] = fan_in;
  }

  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const lsi::TensorSpec& spec : specs) {
    const std::string prefix = spec.name.substr(0, spec.name.rfind('.'));
    const auto gain_entry = gains.find(prefix);
    const double gain = gain_entry == gains.end() ? 1.0 : gain_entry->second;
    const double bound = gain / std::sqrt(static_cast<double>(fan_in_of_prefix.at(prefix)));
    std::uniform_real_distribution<float> uniform(static_cast<float>(-bound),
                                                  static_cast<float>(bound));
    int64_t n_values = 1;
    for (const int64_t dim : spec.shape) n_values *= dim;
    std::vector<float> values(static_cast<size_t>(n_values));
    for (float& value : values) value = uniform(generator);

    const size_t begin_byte = data.size();
    data += f32_le_bytes(values);
    header[spec.name] = {{"dtype", "F32"},
                         {"shape", spec.shape},
                         {"data_offsets", {begin_byte, data.size()}}};
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  std::ofstream out(path, std::ios::binary);
  const uint64_t n_header_bytes = header_text.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n_header_bytes >> (8 * i)) & 0xff));
  out << header_text << data;
  if (!out.good()) throw std::runtime_error("could not write " + path);
}

std::string source_dir() {
  const char* dir = std::getenv("LSI_SOURCE_DIR");
  return dir != nullptr ? dir : LSI_SOURCE_DIR;
}

std::vector<float> normal_values(size_t n_values, unsigned seed) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(n_values);
  for (float& value : values) value = normal(generator);
  return values;
}

std::vector<float> uniform01_values(size_t n_values, unsigned seed) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<float> values(n_values);
  for (float& value : values) value = uniform(generator);
  return values;
}

}  // namespace lsi_test
