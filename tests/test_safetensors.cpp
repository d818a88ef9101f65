// Tests of the safetensors loader: a valid file round-trips, and each kind of corrupt or
// mismatched file is rejected with a WeightFileError that names the file, the tensor and the fault.
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "engine/safetensors.h"

namespace {

namespace fs = std::filesystem;

// A folder under the system temp dir, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "lsi_test_safetensors_XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

struct TestTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

std::string u64_le_bytes(uint64_t value) {
  std::string bytes;
  for (int i = 0; i < 8; ++i) {
    bytes += static_cast<char>((value >> (8 * i)) & 0xff);
  }
  return bytes;
}

std::string f32_le_bytes(const std::vector<float>& values) {
  std::string bytes;
  for (const float value : values) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    for (int i = 0; i < 4; ++i) {
      bytes += static_cast<char>((bits >> (8 * i)) & 0xff);
    }
  }
  return bytes;
}

// Frames a header text and a data area as a safetensors file, with the header length in front.
std::string frame(const std::string& header_json, const std::string& data) {
  return u64_le_bytes(header_json.size()) + header_json + data;
}

std::string format_dims(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t axis = 0; axis < shape.size(); ++axis) {
    text += (axis > 0 ? "," : "") + std::to_string(shape[axis]);
  }
  return text + "]";
}

// Builds a valid F32 safetensors file with the tensors stored one after another, in order.
std::string build_safetensors(const std::vector<TestTensor>& tensors,
                              const std::map<std::string, std::string>& metadata = {}) {
  std::string header = "{";
  std::string data;
  for (const TestTensor& tensor : tensors) {
    const size_t begin_byte = data.size();
    data += f32_le_bytes(tensor.values);
    header += "\"" + tensor.name + "\":{\"dtype\":\"F32\",\"shape\":" + format_dims(tensor.shape) +
              ",\"data_offsets\":[" + std::to_string(begin_byte) + "," +
              std::to_string(data.size()) + "]},";
  }
  header += "\"__metadata__\":{";
  for (const auto& [key, value] : metadata) {
    header += "\"" + key + "\":\"" + value + "\",";
  }
  if (!metadata.empty()) {
    header.pop_back();
  }
  header += "}}";
  header.append((8 - header.size() % 8) % 8, ' ');
  return frame(header, data);
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// A small two-tensor network, in the layout of one linear layer.
const std::vector<TestTensor> kLayer = {
    {"fc.weight", {2, 3}, {1.0f, -2.0f, 3.5f, 0.0f, -0.25f, 1e-30f}},
    {"fc.bias", {2}, {0.5f, -0.5f}},
};
const std::vector<lsi::TensorSpec> kLayerSpecs = {{"fc.weight", {2, 3}}, {"fc.bias", {2}}};

// Loads `path` and returns the WeightFileError's message, or "" when the file was accepted.
std::string load_error(const std::string& path, const std::vector<lsi::TensorSpec>* expected) {
  try {
    if (expected != nullptr) {
      lsi::WeightFile::load(path, *expected);
    } else {
      lsi::WeightFile::load(path);
    }
  } catch (const lsi::WeightFileError& error) {
    return error.what();
  }
  return "";
}

// Writes `bytes`, loads them, and checks that the error names the file and contains each fragment.
void check_rejected(const std::string& bytes, const std::vector<std::string>& fragments,
                    const std::vector<lsi::TensorSpec>* expected = nullptr) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  write_file(path, bytes);
  const std::string message = load_error(path, expected);
  INFO("message: ", message);
  REQUIRE(!message.empty());
  CHECK(message.rfind(path + ": ", 0) == 0);
  for (const std::string& fragment : fragments) {
    CHECK_MESSAGE(message.find(fragment) != std::string::npos, "missing: ", fragment);
  }
}

// A header entry as text, for the hand-written headers of the corrupt files.
std::string entry(const std::string& name, const std::string& shape, uint64_t begin_byte,
                  uint64_t end_byte, const std::string& dtype = "F32") {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":[" + std::to_string(begin_byte) + "," + std::to_string(end_byte) +
         "]}";
}

}  // namespace

TEST_CASE("valid file round trip") {
  TempDir dir;
  const std::string path = dir.file("layer.safetensors");
  write_file(path, build_safetensors(kLayer, {{"format", "lsi-cuda-weights"}, {"network", "x"}}));

  const lsi::WeightFile file = lsi::WeightFile::load(path, kLayerSpecs);

  CHECK(file.path() == path);
  CHECK(file.sha256().size() == 64);
  REQUIRE(file.tensors().size() == 2);
  for (const TestTensor& tensor : kLayer) {
    const lsi::StoredTensor& stored = file.tensors().at(tensor.name);
    CHECK(stored.dtype == "F32");
    CHECK(stored.shape == tensor.shape);
    CHECK(stored.values == tensor.values);  // exact: the bytes are copied, not computed
    CHECK(file.values(tensor.name) == tensor.values);
  }
  CHECK(file.metadata().at("format") == "lsi-cuda-weights");
  CHECK(file.metadata().at("network") == "x");
}

TEST_CASE("empty file sha256 known answer") {
  // The digest was computed independently with Python's hashlib over the same 10 bytes.
  TempDir dir;
  const std::string path = dir.file("empty.safetensors");
  write_file(path, frame("{}", ""));

  const lsi::WeightFile file = lsi::WeightFile::load(path);

  CHECK(file.tensors().empty());
  CHECK(file.metadata().empty());
  CHECK(file.sha256() == "411a485216e432ece6b9af94fa32154cf79a2a56d4f81266baa50063f45092bd");
}

TEST_CASE("zero-size tensor accepted") {
  TempDir dir;
  const std::string path = dir.file("zero.safetensors");
  write_file(path, build_safetensors({{"empty", {0, 3}, {}}, {"one", {1}, {2.0f}}}));

  const lsi::WeightFile file = lsi::WeightFile::load(path);

  CHECK(file.values("empty").empty());
  CHECK(file.values("one") == std::vector<float>{2.0f});
}

TEST_CASE("values of unknown tensor") {
  TempDir dir;
  const std::string path = dir.file("layer.safetensors");
  write_file(path, build_safetensors(kLayer));
  const lsi::WeightFile file = lsi::WeightFile::load(path);

  CHECK_THROWS_AS(file.values("fc.missing"), lsi::WeightFileError);
}

TEST_CASE("missing file rejected") {
  TempDir dir;
  const std::string message = load_error(dir.file("absent.safetensors"), nullptr);
  CHECK(message.find("absent.safetensors: file not found") != std::string::npos);
}

TEST_CASE("file shorter than header length") {
  check_rejected(std::string("\x02\x00\x00", 3), {"3 bytes long", "too short"});
}

TEST_CASE("truncated file rejected") {
  const std::string good = build_safetensors(kLayer);
  check_rejected(good.substr(0, good.size() - 3),
                 {"tensor \"fc.bias\"", "past the end of the data area", "truncated"});
}

TEST_CASE("header longer than file") {
  const std::string header = "{}";
  check_rejected(u64_le_bytes(4096) + header, {"header length field says 4096 bytes",
                                               "only 2 bytes follow it"});
}

TEST_CASE("huge header length") {
  check_rejected(u64_le_bytes(std::numeric_limits<uint64_t>::max()) + "{}",
                 {"header length field says 18446744073709551615 bytes"});
}

TEST_CASE("bad JSON rejected") {
  check_rejected(frame("{\"fc.bias\": {\"dtype\": ", ""), {"not valid JSON", "syntax error"});
}

TEST_CASE("header not an object") {
  check_rejected(frame("[1, 2]", ""), {"header is a JSON array", "not an object"});
}

TEST_CASE("entry not an object") {
  check_rejected(frame("{\"fc.bias\": 7}", ""), {"entry of tensor \"fc.bias\" is not a JSON"});
}

TEST_CASE("entry missing field") {
  check_rejected(frame("{\"fc.bias\": {\"dtype\": \"F32\", \"shape\": [2]}}", std::string(8, 0)),
                 {"tensor \"fc.bias\" has no \"data_offsets\" field"});
}

TEST_CASE("field of wrong type") {
  check_rejected(frame("{\"fc.bias\": {\"dtype\": 32, \"shape\": [2], \"data_offsets\": [0, 8]}}",
                       std::string(8, 0)),
                 {"tensor \"fc.bias\"", "\"dtype\" is not a string"});
  check_rejected(frame("{" + entry("fc.bias", "[2.5]", 0, 8) + "}", std::string(8, 0)),
                 {"tensor \"fc.bias\"", "dimension 0 is not an integer"});
  check_rejected(frame("{" + entry("fc.bias", "2", 0, 8) + "}", std::string(8, 0)),
                 {"tensor \"fc.bias\"", "\"shape\" is not an array"});
}

TEST_CASE("wrong dtype rejected") {
  check_rejected(frame("{" + entry("fc.weight", "[2, 3]", 0, 12, "F16") + "}", std::string(12, 0)),
                 {"tensor \"fc.weight\" has dtype \"F16\"", "only F32",
                  "tools/convert_weights.py"});
}

TEST_CASE("negative dimension rejected") {
  check_rejected(frame("{" + entry("fc.bias", "[-2]", 0, 8) + "}", std::string(8, 0)),
                 {"tensor \"fc.bias\"", "dimension 0 is negative (-2)"});
}

TEST_CASE("shape overflow rejected") {
  check_rejected(frame("{" + entry("big", "[4294967296, 4294967296]", 0, 8) + "}",
                       std::string(8, 0)),
                 {"tensor \"big\"", "does not fit in 64 bits"});
}

TEST_CASE("offsets begin after end") {
  check_rejected(frame("{" + entry("fc.bias", "[2]", 8, 0) + "}", std::string(8, 0)),
                 {"tensor \"fc.bias\"", "begin is after its end"});
}

TEST_CASE("offsets past the end") {
  check_rejected(frame("{" + entry("fc.bias", "[2]", 1000, 1008) + "}", std::string(8, 0)),
                 {"tensor \"fc.bias\" ends at byte 1008",
                  "past the end of the data area (8 bytes)"});
}

TEST_CASE("byte count differs from shape") {
  check_rejected(frame("{" + entry("fc.bias", "[3]", 0, 8) + "}", std::string(8, 0)),
                 {"tensor \"fc.bias\" has shape [3] (3 F32 values)", "span 8 bytes"});
}

TEST_CASE("overlapping tensors rejected") {
  const std::string header = "{" + entry("a", "[2]", 0, 8) + "," + entry("b", "[2]", 4, 12) + "}";
  check_rejected(frame(header, std::string(12, 0)),
                 {"tensor \"b\" (bytes 4 to 12) overlaps tensor \"a\""});
}

TEST_CASE("gap between tensors rejected") {
  const std::string header = "{" + entry("a", "[1]", 0, 4) + "," + entry("b", "[1]", 8, 12) + "}";
  check_rejected(frame(header, std::string(12, 0)),
                 {"bytes 4 to 8 of the data area", "before tensor \"b\"", "belong to no tensor"});
}

TEST_CASE("trailing data bytes rejected") {
  check_rejected(frame("{" + entry("a", "[1]", 0, 4) + "}", std::string(10, 0)),
                 {"last 6 bytes of the data area belong to no tensor"});
}

TEST_CASE("duplicate tensor name rejected") {
  const std::string header = "{" + entry("a", "[1]", 0, 4) + "," + entry("a", "[1]", 4, 8) + "}";
  check_rejected(frame(header, std::string(8, 0)), {"key \"a\" twice"});
}

TEST_CASE("metadata of wrong type") {
  check_rejected(frame("{\"__metadata__\": {\"format_version\": 1}}", ""),
                 {"\"__metadata__\" value for \"format_version\" is not a string"});
  check_rejected(frame("{\"__metadata__\": [\"x\"]}", ""),
                 {"\"__metadata__\" is not a JSON object"});
}

TEST_CASE("deeply nested header rejected") {
  const std::string header = "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}";
  check_rejected(frame(header, ""), {"nests deeper than 64 levels"});
}

TEST_CASE("missing tensor rejected") {
  check_rejected(build_safetensors({kLayer[0]}, {{"network", "generator"}}),
                 {"tensor \"fc.bias\" (shape [2]) is missing",
                  "metadata names the generator network"},
                 &kLayerSpecs);
}

TEST_CASE("unexpected tensor rejected") {
  std::vector<TestTensor> tensors = kLayer;
  tensors.push_back({"fc.extra", {1}, {0.0f}});
  check_rejected(build_safetensors(tensors), {"unexpected tensor \"fc.extra\" (shape [1])"},
                 &kLayerSpecs);
}

TEST_CASE("wrong shape rejected") {
  std::vector<TestTensor> tensors = kLayer;
  tensors[0].shape = {3, 2};
  check_rejected(build_safetensors(tensors),
                 {"tensor \"fc.weight\" has shape [3, 2], expected [2, 3]"}, &kLayerSpecs);
}

TEST_CASE("NaN values rejected") {
  std::vector<TestTensor> tensors = kLayer;
  tensors[0].values[4] = std::numeric_limits<float>::quiet_NaN();
  check_rejected(build_safetensors(tensors),
                 {"tensor \"fc.weight\" has a non-finite value (nan) at flat index 4"},
                 &kLayerSpecs);
}

TEST_CASE("infinite values rejected") {
  std::vector<TestTensor> tensors = kLayer;
  tensors[1].values[1] = -std::numeric_limits<float>::infinity();
  check_rejected(build_safetensors(tensors),
                 {"tensor \"fc.bias\" has a non-finite value (-inf) at flat index 1"},
                 &kLayerSpecs);
}

TEST_CASE("format_shape output") {
  CHECK(lsi::format_shape({6, 1, 5, 5}) == "[6, 1, 5, 5]");
  CHECK(lsi::format_shape({}) == "[]");
}
