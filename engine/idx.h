// MNIST's IDX files of unsigned bytes, plain or gzip'd.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lsi {

struct IdxArray {
  std::vector<int64_t> shape;    // e.g. {10000, 28, 28} for images, {10000} for labels
  std::vector<uint8_t> values;   // row-major
};

// Reads an IDX file of unsigned bytes (type 0x08), gzip'd or not. Throws std::runtime_error
// naming the file if it is missing, not IDX, or its size does not match its header.
IdxArray read_idx(const std::string& path);

}  // namespace lsi
