// Weight files in the safetensors format: an 8-byte little-endian header length, a JSON header
// that maps each tensor's name to its dtype, shape and data_offsets, then the raw data area.
//
// The loader trusts nothing in the file: it checks the header length against the file size, the
// JSON syntax, each dtype, each pair of offsets against the data area and the tensor's shape, that
// no two tensors overlap, and (when given the network's expectations) each tensor's name and
// shape, and that every value is finite. Every error names the file and, where there is one, the
// tensor.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace lsi {

// A tensor that a network needs: its state_dict name and its shape.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
};

// A weight file that was rejected; what() names the file and, where there is one, the tensor.
class WeightFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One tensor as stored in the file.
struct StoredTensor {
  std::string dtype;             // as written in the header, e.g. "F32"
  std::vector<int64_t> shape;
  std::vector<float> values;     // row-major, converted from little-endian F32
};

class WeightFile {
 public:
  // Loads every tensor of `path` with all the structural checks; only F32 is accepted.
  static WeightFile load(const std::string& path);

  // Loads `path` and also checks that it holds exactly the tensors of `expected`, each with its
  // shape, and that every value is finite.
  static WeightFile load(const std::string& path, const std::vector<TensorSpec>& expected);

  // The values of tensor `name`; throws WeightFileError if there is none.
  const std::vector<float>& values(const std::string& name) const;

  const std::map<std::string, StoredTensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }
  const std::string& sha256() const { return sha256_; }

 private:
  std::string path_;
  std::string sha256_;  // hex digest of the whole file, for results that cite their weights
  std::map<std::string, StoredTensor> tensors_;
  std::map<std::string, std::string> metadata_;  // the optional "__metadata__" entry
};

// Formats a shape as "[6, 1, 5, 5]" (a scalar as "[]"), for messages and listings.
std::string format_shape(const std::vector<int64_t>& shape);

}  // namespace lsi
