// Reads safetensors weight files and checks every length, offset, dtype and shape in them before
// any tensor data is read (the format and the list of checks are in safetensors.h).
#include "engine/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <new>
#include <set>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

namespace lsi {
namespace {

using nlohmann::json;

constexpr uint64_t kHeaderLengthBytes = 8;  // the little-endian u64 before the JSON header
constexpr uint64_t kF32Bytes = 4;

// A header for our networks is under 1 KB. The cap only stops a corrupt length field from
// allocating gigabytes or from being taken for a valid header.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// A valid header nests three levels deep (header, entry, shape). The cap stops a crafted header
// from building a deeply nested value.
constexpr int kMaxJsonDepth = 64;

const char* const kMetadataKey = "__metadata__";
const char* const kRegenerateHint = "Regenerate the file with tools/convert_weights.py.";

// One tensor entry of the header, after its fields were checked.
struct HeaderEntry {
  std::string name;
  std::vector<int64_t> shape;
  uint64_t n_values = 0;
  uint64_t begin_byte = 0;  // offsets relative to the start of the data area
  uint64_t end_byte = 0;
};

[[noreturn]] void fail(const std::string& path, const std::string& message) {
  throw WeightFileError(path + ": " + message);
}

// Formats a JSON value for a message, with control characters escaped, cut to a readable length
// because a crafted header can hold megabyte-long names and values.
std::string excerpt(const json& value) {
  constexpr size_t kMaxChars = 100;
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > kMaxChars) {
    text = text.substr(0, kMaxChars) + "...";
  }
  return text;
}

// Quotes a tensor name or JSON key for a message.
std::string quote(const std::string& text) { return excerpt(json(text)); }

std::string tensor_label(const std::string& name) { return "tensor " + quote(name); }

std::vector<unsigned char> read_whole_file(const std::string& path) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (!std::filesystem::exists(status)) {
    fail(path, "file not found.");
  }
  if (!std::filesystem::is_regular_file(status)) {
    fail(path, "not a regular file.");
  }

  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fail(path, std::string("could not open the file: ") + std::strerror(errno) + ".");
  }
  in.seekg(0, std::ios::end);
  const std::streamoff n_bytes = in.tellg();
  in.seekg(0, std::ios::beg);
  if (n_bytes < 0) {
    fail(path, "could not find the size of the file.");
  }

  std::vector<unsigned char> bytes;
  try {
    bytes.resize(static_cast<size_t>(n_bytes));
  } catch (const std::bad_alloc&) {
    fail(path, "the file (" + std::to_string(n_bytes) + " bytes) does not fit in memory.");
  }
  in.read(reinterpret_cast<char*>(bytes.data()), n_bytes);
  if (in.gcount() != n_bytes) {
    fail(path, "could not read the whole file (read " + std::to_string(in.gcount()) + " of " +
                   std::to_string(n_bytes) + " bytes).");
  }
  return bytes;
}

std::string sha256_hex(const std::vector<unsigned char>& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n_digest_bytes = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &n_digest_bytes, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL's EVP_Digest failed to compute a SHA-256 digest");
  }

  static const char kHexDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < n_digest_bytes; ++i) {
    hex += kHexDigits[digest[i] >> 4];
    hex += kHexDigits[digest[i] & 0xf];
  }
  return hex;
}

uint64_t read_u64_le(const unsigned char* bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) {
    value = (value << 8) | bytes[i];
  }
  return value;
}

float read_f32_le(const unsigned char* bytes) {
  const uint32_t bits = static_cast<uint32_t>(bytes[0]) | (static_cast<uint32_t>(bytes[1]) << 8) |
                        (static_cast<uint32_t>(bytes[2]) << 16) |
                        (static_cast<uint32_t>(bytes[3]) << 24);
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// Parses the JSON header text. nlohmann::json keeps only the last of two equal keys, so the
// callback rejects duplicates, which would otherwise hide a tensor. It also caps the nesting depth.
json parse_header_json(const std::string& path, const unsigned char* text, uint64_t n_bytes) {
  std::vector<std::set<std::string>> keys_per_open_object;
  int depth = 0;
  const auto check_structure = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        keys_per_open_object.emplace_back();
        ++depth;
        break;
      case json::parse_event_t::array_start:
        ++depth;
        break;
      case json::parse_event_t::object_end:
        keys_per_open_object.pop_back();
        --depth;
        break;
      case json::parse_event_t::array_end:
        --depth;
        break;
      case json::parse_event_t::key:
        if (!keys_per_open_object.back().insert(parsed.get<std::string>()).second) {
          fail(path, "the header contains the key " + quote(parsed.get<std::string>()) +
                         " twice in one object. " + kRegenerateHint);
        }
        break;
      case json::parse_event_t::value:
        break;
    }
    if (depth > kMaxJsonDepth) {
      fail(path, "the header nests deeper than " + std::to_string(kMaxJsonDepth) +
                     " levels, so it is not a safetensors header.");
    }
    return true;
  };

  try {
    return json::parse(text, text + n_bytes, check_structure);
  } catch (const json::exception& error) {
    // Besides syntax errors, nlohmann::json throws out_of_range for numbers such as 1E400.
    // Drop its "[json.exception.parse_error.101] " prefix.
    std::string reason = error.what();
    const size_t prefix_end = reason.find("] ");
    if (prefix_end != std::string::npos) {
      reason = reason.substr(prefix_end + 2);
    }
    constexpr size_t kMaxReasonChars = 300;
    if (reason.size() > kMaxReasonChars) {
      reason = reason.substr(0, kMaxReasonChars) + "...";
    }
    fail(path, "the header is not valid JSON: " + reason + ". The file is corrupt or not a "
               "safetensors file. " + kRegenerateHint);
  }
}

// Reads a JSON integer that must be >= 0. The error names the value as `what`.
uint64_t read_nonnegative_integer(const std::string& path, const json& value,
                                  const std::string& what) {
  if (value.is_number_unsigned()) {
    return value.get<uint64_t>();
  }
  if (value.is_number_integer()) {
    fail(path, what + " is negative (" + excerpt(value) + ").");
  }
  fail(path, what + " is not an integer (found " + excerpt(value) + ").");
}

// Returns a * b, or false when the product does not fit in 64 bits.
bool multiply_checked(uint64_t a, uint64_t b, uint64_t& product) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) {
    return false;
  }
  product = a * b;
  return true;
}

const json& require_field(const std::string& path, const std::string& name, const json& entry,
                          const char* field) {
  const auto it = entry.find(field);
  if (it == entry.end()) {
    fail(path, tensor_label(name) + " has no \"" + field + "\" field. " + kRegenerateHint);
  }
  return *it;
}

std::vector<int64_t> parse_shape(const std::string& path, const std::string& name,
                                 const json& shape_json) {
  if (!shape_json.is_array()) {
    fail(path, tensor_label(name) + ": \"shape\" is not an array (found " + excerpt(shape_json) +
                   ").");
  }
  std::vector<int64_t> shape;
  for (size_t axis = 0; axis < shape_json.size(); ++axis) {
    const std::string what = tensor_label(name) + ": dimension " + std::to_string(axis);
    const uint64_t dim = read_nonnegative_integer(path, shape_json[axis], what);
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      fail(path, what + " (" + std::to_string(dim) + ") is too large.");
    }
    shape.push_back(static_cast<int64_t>(dim));
  }
  return shape;
}

// Counts the values of `shape`. A zero dimension gives 0 even when the others would overflow.
uint64_t count_values(const std::string& path, const std::string& name,
                      const std::vector<int64_t>& shape) {
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) {
    return 0;
  }
  uint64_t n_values = 1;
  for (const int64_t dim : shape) {
    if (!multiply_checked(n_values, static_cast<uint64_t>(dim), n_values)) {
      fail(path, tensor_label(name) + " has shape " + format_shape(shape) +
                     ", whose number of values does not fit in 64 bits.");
    }
  }
  return n_values;
}

HeaderEntry parse_entry(const std::string& path, const std::string& name, const json& entry,
                        uint64_t n_data_bytes) {
  // Step 1: every field is present and of the right JSON type.
  if (!entry.is_object()) {
    fail(path, "the header entry of " + tensor_label(name) + " is not a JSON object (found " +
                   excerpt(entry) + "). " + kRegenerateHint);
  }
  const json& dtype = require_field(path, name, entry, "dtype");
  const json& shape_json = require_field(path, name, entry, "shape");
  const json& offsets = require_field(path, name, entry, "data_offsets");
  if (!dtype.is_string()) {
    fail(path, tensor_label(name) + ": \"dtype\" is not a string (found " + excerpt(dtype) + ").");
  }
  if (!offsets.is_array() || offsets.size() != 2) {
    fail(path, tensor_label(name) + ": \"data_offsets\" is not an array of two integers (found " +
                   excerpt(offsets) + ").");
  }

  // Step 2: the dtype, before anything is computed from it.
  if (dtype.get<std::string>() != "F32") {
    fail(path, tensor_label(name) + " has dtype " + excerpt(dtype) +
                   ", but lsi-cuda reads only F32 weights. " + kRegenerateHint);
  }

  HeaderEntry parsed;
  parsed.name = name;
  parsed.shape = parse_shape(path, name, shape_json);
  parsed.n_values = count_values(path, name, parsed.shape);

  // Step 3: the offsets lie inside the data area and cover exactly the tensor's bytes.
  const std::string label = tensor_label(name);
  parsed.begin_byte = read_nonnegative_integer(path, offsets[0], label + ": begin offset");
  parsed.end_byte = read_nonnegative_integer(path, offsets[1], label + ": end offset");
  if (parsed.begin_byte > parsed.end_byte) {
    fail(path, tensor_label(name) + " has data_offsets [" + std::to_string(parsed.begin_byte) +
                   ", " + std::to_string(parsed.end_byte) + "], whose begin is after its end. " +
                   kRegenerateHint);
  }
  if (parsed.end_byte > n_data_bytes) {
    fail(path, tensor_label(name) + " ends at byte " + std::to_string(parsed.end_byte) +
                   ", past the end of the data area (" + std::to_string(n_data_bytes) +
                   " bytes). The file is truncated or corrupt. " + kRegenerateHint);
  }
  uint64_t n_bytes = 0;
  if (!multiply_checked(parsed.n_values, kF32Bytes, n_bytes) ||
      n_bytes != parsed.end_byte - parsed.begin_byte) {
    fail(path, tensor_label(name) + " has shape " + format_shape(parsed.shape) + " (" +
                   std::to_string(parsed.n_values) + " F32 values) but data_offsets span " +
                   std::to_string(parsed.end_byte - parsed.begin_byte) + " bytes. " +
                   kRegenerateHint);
  }
  return parsed;
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const json& metadata) {
  if (!metadata.is_object()) {
    fail(path, "the header's \"__metadata__\" is not a JSON object (found " + excerpt(metadata) +
                   ").");
  }
  std::map<std::string, std::string> parsed;
  for (const auto& [key, value] : metadata.items()) {
    if (!value.is_string()) {
      fail(path, "the header's \"__metadata__\" value for " + quote(key) +
                     " is not a string (found " + excerpt(value) + ").");
    }
    parsed[key] = value.get<std::string>();
  }
  return parsed;
}

// Checks that the tensors tile the data area: no two share a byte and no byte is left over,
// which the safetensors format requires.
void check_layout(const std::string& path, std::vector<HeaderEntry> entries,
                  uint64_t n_data_bytes) {
  std::sort(entries.begin(), entries.end(), [](const HeaderEntry& a, const HeaderEntry& b) {
    return std::tie(a.begin_byte, a.end_byte, a.name) < std::tie(b.begin_byte, b.end_byte, b.name);
  });

  uint64_t covered_end_byte = 0;
  std::string last_owner;  // the tensor whose bytes end at covered_end_byte
  for (const HeaderEntry& entry : entries) {
    if (entry.begin_byte < covered_end_byte) {
      fail(path, tensor_label(entry.name) + " (bytes " + std::to_string(entry.begin_byte) + " to " +
                     std::to_string(entry.end_byte) + ") overlaps " + tensor_label(last_owner) +
                     ", which ends at byte " + std::to_string(covered_end_byte) + ". " +
                     kRegenerateHint);
    }
    if (entry.begin_byte > covered_end_byte) {
      fail(path, "bytes " + std::to_string(covered_end_byte) + " to " +
                     std::to_string(entry.begin_byte) + " of the data area, before " +
                     tensor_label(entry.name) + ", belong to no tensor. " + kRegenerateHint);
    }
    covered_end_byte = entry.end_byte;
    last_owner = entry.name;
  }
  if (covered_end_byte < n_data_bytes) {
    fail(path, "the last " + std::to_string(n_data_bytes - covered_end_byte) +
                   " bytes of the data area belong to no tensor. " + kRegenerateHint);
  }
}

// Returns the index of the first NaN or infinity in `values`, or values.size() if there is none.
size_t find_non_finite(const std::vector<float>& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return i;
    }
  }
  return values.size();
}

}  // namespace

std::string format_shape(const std::vector<int64_t>& shape) {
  std::ostringstream text;
  text << "[";
  for (size_t axis = 0; axis < shape.size(); ++axis) {
    text << (axis > 0 ? ", " : "") << shape[axis];
  }
  text << "]";
  return text.str();
}

WeightFile WeightFile::load(const std::string& path) {
  WeightFile file;
  file.path_ = path;

  // Step 1: the whole file in memory, and its digest.
  const std::vector<unsigned char> bytes = read_whole_file(path);
  file.sha256_ = sha256_hex(bytes);

  // Step 2: the header length, checked against the file before the header is read.
  const uint64_t n_file_bytes = bytes.size();
  if (n_file_bytes < kHeaderLengthBytes) {
    fail(path, "the file is " + std::to_string(n_file_bytes) + " bytes long, too short for the " +
                   "8-byte header length of a safetensors file. " + kRegenerateHint);
  }
  const uint64_t n_header_bytes = read_u64_le(bytes.data());
  if (n_header_bytes > n_file_bytes - kHeaderLengthBytes) {
    fail(path, "the header length field says " + std::to_string(n_header_bytes) +
                   " bytes, but only " + std::to_string(n_file_bytes - kHeaderLengthBytes) +
                   " bytes follow it. The file is truncated or not a safetensors file. " +
                   kRegenerateHint);
  }
  if (n_header_bytes > kMaxHeaderBytes) {
    fail(path, "the header length field says " + std::to_string(n_header_bytes) +
                   " bytes, more than the " + std::to_string(kMaxHeaderBytes) +
                   " this reader accepts, so the file is corrupt or not a safetensors file.");
  }
  const unsigned char* data_area = bytes.data() + kHeaderLengthBytes + n_header_bytes;
  const uint64_t n_data_bytes = n_file_bytes - kHeaderLengthBytes - n_header_bytes;

  // Step 3: the header's JSON, entry by entry.
  const json header = parse_header_json(path, bytes.data() + kHeaderLengthBytes, n_header_bytes);
  if (!header.is_object()) {
    fail(path, std::string("the header is a JSON ") + header.type_name() +
                   ", not an object that maps tensor names to entries. " + kRegenerateHint);
  }
  std::vector<HeaderEntry> entries;
  for (const auto& [name, entry] : header.items()) {
    if (name == kMetadataKey) {
      file.metadata_ = parse_metadata(path, entry);
    } else {
      entries.push_back(parse_entry(path, name, entry, n_data_bytes));
    }
  }
  check_layout(path, entries, n_data_bytes);

  // Step 4: the values, now that every range is known to lie inside the data area.
  for (const HeaderEntry& entry : entries) {
    StoredTensor& tensor = file.tensors_[entry.name];
    tensor.dtype = "F32";
    tensor.shape = entry.shape;
    tensor.values.resize(entry.n_values);
    const unsigned char* source = data_area + entry.begin_byte;
    for (uint64_t i = 0; i < entry.n_values; ++i) {
      tensor.values[i] = read_f32_le(source + i * kF32Bytes);
    }
  }
  return file;
}

WeightFile WeightFile::load(const std::string& path, const std::vector<TensorSpec>& expected) {
  WeightFile file = load(path);

  // The network named in the file's metadata helps when a file for another network was passed.
  std::string network_hint;
  const auto network = file.metadata_.find("network");
  if (network != file.metadata_.end()) {
    network_hint = " The file's metadata names the " + network->second + " network.";
  }

  // Step 1: the names, both ways.
  std::set<std::string> expected_names;
  for (const TensorSpec& spec : expected) {
    expected_names.insert(spec.name);
    if (file.tensors_.count(spec.name) == 0) {
      fail(path, tensor_label(spec.name) + " (shape " + format_shape(spec.shape) +
                     ") is missing." + network_hint + " " + kRegenerateHint);
    }
  }
  for (const auto& [name, tensor] : file.tensors_) {
    if (expected_names.count(name) == 0) {
      fail(path, "unexpected " + tensor_label(name) + " (shape " + format_shape(tensor.shape) +
                     "): the network has no such tensor." + network_hint + " " + kRegenerateHint);
    }
  }

  // Step 2: the shapes, then the values.
  for (const TensorSpec& spec : expected) {
    const StoredTensor& tensor = file.tensors_.at(spec.name);
    if (tensor.shape != spec.shape) {
      fail(path, tensor_label(spec.name) + " has shape " + format_shape(tensor.shape) +
                     ", expected " + format_shape(spec.shape) + "." + network_hint + " " +
                     kRegenerateHint);
    }
    const size_t index = find_non_finite(tensor.values);
    if (index < tensor.values.size()) {
      std::ostringstream value;
      value << tensor.values[index];
      fail(path, tensor_label(spec.name) + " has a non-finite value (" + value.str() +
                     ") at flat index " + std::to_string(index) +
                     ". Non-finite weights usually come from a training run that diverged. "
                     "Convert an earlier checkpoint.");
    }
  }
  return file;
}

const std::vector<float>& WeightFile::values(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    fail(path_, tensor_label(name) + " is not in the file.");
  }
  return it->second.values;
}

}  // namespace lsi
