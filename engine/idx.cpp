// IDX reading through zlib, which reads plain files as they are and gzip'd ones decompressed.
#include "engine/idx.h"

#include <memory>
#include <stdexcept>

#include <zlib.h>

namespace lsi {

namespace {

// The largest IDX file we accept (the MNIST training images are 47 MB).
constexpr size_t kMaxIdxBytes = size_t{1} << 31;

std::vector<uint8_t> read_all(const std::string& path) {
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), gzclose);
  if (!file) throw std::runtime_error(path + ": cannot open the IDX file");

  std::vector<uint8_t> bytes;
  uint8_t block[1 << 16];
  while (true) {
    const int n_read = gzread(file.get(), block, sizeof block);
    if (n_read < 0) throw std::runtime_error(path + ": read failed (corrupt gzip data?)");
    if (n_read == 0) break;
    bytes.insert(bytes.end(), block, block + n_read);
    if (bytes.size() > kMaxIdxBytes) throw std::runtime_error(path + ": larger than 2 GiB");
  }
  return bytes;
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  const std::vector<uint8_t> bytes = read_all(path);
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0) {
    throw std::runtime_error(path + ": not an IDX file (bad magic number)");
  }
  if (bytes[2] != 0x08) {
    throw std::runtime_error(path + ": IDX type " + std::to_string(bytes[2]) +
                             " is not unsigned bytes (0x08)");
  }

  IdxArray array;
  const int n_dims = bytes[3];
  const size_t header_bytes = 4 + 4 * static_cast<size_t>(n_dims);
  if (n_dims == 0 || bytes.size() < header_bytes) {
    throw std::runtime_error(path + ": IDX header is truncated");
  }
  size_t n_values = 1;
  for (int d = 0; d < n_dims; ++d) {
    const uint8_t* p = bytes.data() + 4 + 4 * d;
    const int64_t dim = (int64_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
    array.shape.push_back(dim);
    n_values *= static_cast<size_t>(dim);
    if (n_values > kMaxIdxBytes) throw std::runtime_error(path + ": IDX shape is too large");
  }
  if (bytes.size() != header_bytes + n_values) {
    throw std::runtime_error(path + ": " + std::to_string(bytes.size() - header_bytes) +
                             " data bytes, but the header's shape needs " +
                             std::to_string(n_values));
  }
  array.values.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header_bytes), bytes.end());
  return array;
}

}  // namespace lsi
