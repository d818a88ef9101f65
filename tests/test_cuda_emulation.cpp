// The LeNet-5 kernel's stages, run on the CPU by test_cuda_emulation_stages.cu, against the CPU
// engine's LeNet-5 with the same random weights. These run without a GPU and check the kernel's
// index math, tile tails and shared-memory layout. The GPU's own arithmetic (tanhf, expf, FMA)
// is checked only by test_cuda_evaluator, on a GPU.
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "engine/cpu_backend.h"
#include "engine/lenet5.h"
#include "engine/safetensors.h"
#include "kernels/device_weights.h"
#include "tests/tolerance.h"
#include "test_cuda_emulation_stages.h"
#include "test_cuda_support.h"

namespace {

using lsi::kClasses;
using lsi::kPixels;

// The emulation and the engine both run FP32 on the CPU but sum in different orders, Eigen's
// products against the kernel's loops. This is the GPU tests' tolerance for log-probabilities.
constexpr double kLogProbTolerance = 1e-4;

// Batches that fill no tile, one tile, one tile and one image, and several tiles with a tail.
const std::vector<int> kBatchSizes = {1, 7, 8, 9, 150};

struct LeNetFixture {
  lsi_test::TempDir dir;
  std::string path = dir.file("lenet5.safetensors");

  LeNetFixture() {
    // A gain of 4 on the last layer makes the probabilities far from uniform.
    lsi_test::write_random_weights(path, lsi::LeNet5::specs(), {{"11", 4.0}}, 3);
  }
};

// Images in [0, 1] with exact 0 and 1 pixels, as MNIST digits have.
std::vector<float> test_images(int n_batch, unsigned seed) {
  std::vector<float> images =
      lsi_test::uniform01_values(static_cast<size_t>(n_batch) * kPixels, seed);
  for (size_t i = 0; i < images.size(); ++i) {
    if (i % 5 == 0) images[i] = 0.0f;
    if (i % 11 == 0) images[i] = 1.0f;
  }
  return images;
}

// A copy of `values` that ends right before an inaccessible page, so that a read past its end
// stops the test with a segmentation fault instead of reading whatever follows.
class PageGuardedCopy {
 public:
  explicit PageGuardedCopy(const std::vector<float>& values) {
    const size_t page_bytes = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t n_bytes = values.size() * sizeof(float);
    const size_t n_data_pages = (n_bytes + page_bytes - 1) / page_bytes;
    n_mapped_bytes_ = (n_data_pages + 1) * page_bytes;
    void* mapped = mmap(nullptr, n_mapped_bytes_, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) throw std::runtime_error("mmap failed");
    mapped_ = static_cast<char*>(mapped);
    char* guard_page = mapped_ + n_data_pages * page_bytes;
    if (mprotect(guard_page, page_bytes, PROT_NONE) != 0) {
      munmap(mapped_, n_mapped_bytes_);
      throw std::runtime_error("mprotect failed");
    }
    data_ = reinterpret_cast<float*>(guard_page - n_bytes);
    std::memcpy(data_, values.data(), n_bytes);
  }
  ~PageGuardedCopy() { munmap(mapped_, n_mapped_bytes_); }
  PageGuardedCopy(const PageGuardedCopy&) = delete;
  PageGuardedCopy& operator=(const PageGuardedCopy&) = delete;

  const float* data() const { return data_; }

 private:
  char* mapped_ = nullptr;
  size_t n_mapped_bytes_ = 0;
  float* data_ = nullptr;
};

bool bits_all_ones(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits == 0xffffffffu;
}

// A host buffer of n_rows + 3 guard rows, every byte 0xff, so guard rows show any write.
std::vector<float> guarded(int n_rows, int row_width) {
  std::vector<float> values(static_cast<size_t>(n_rows + 3) * row_width);
  std::memset(values.data(), 0xff, values.size() * sizeof(float));
  return values;
}

}  // namespace

TEST_CASE("lenet5 stages match the CPU engine") {
  const LeNetFixture fixture;
  const lsi::HostLeNet5 net = lsi::load_lenet5_host(fixture.path);
  lsi::WeightPaths paths;
  paths.lenet5 = fixture.path;
  lsi::CpuBackend cpu(paths);

  for (const int n_batch : kBatchSizes) {
    CAPTURE(n_batch);
    const int digit = n_batch % kClasses;
    const std::vector<float> images = test_images(n_batch, 100 + n_batch);
    std::vector<float> expected(static_cast<size_t>(n_batch) * kClasses);
    cpu.classify(images.data(), n_batch, expected.data());

    // The images end at an inaccessible page: the last tile must not read past the batch.
    const PageGuardedCopy guarded_images(images);
    std::vector<float> log_probs = guarded(n_batch, kClasses);
    std::vector<float> objectives = guarded(n_batch, 1);
    lsi_test::emulate_lenet5_forward(net.conv, net.linear_weights(), guarded_images.data(),
                                     n_batch, digit, log_probs.data(), objectives.data(), false);

    const std::vector<float> in_batch(log_probs.begin(), log_probs.begin() + expected.size());
    CHECK(lsi::test::compare_arrays("log_probs", in_batch, expected, kLogProbTolerance)
              .n_mismatches == 0);
    for (int row = 0; row < n_batch; ++row) {
      CAPTURE(row);
      const float expected_objective = std::exp(expected[row * kClasses + digit]);
      CHECK(std::abs(objectives[row] - expected_objective) <= kLogProbTolerance);
    }
    for (size_t i = expected.size(); i < log_probs.size(); ++i) {
      CHECK(bits_all_ones(log_probs[i]));
    }
    for (size_t i = n_batch; i < objectives.size(); ++i) CHECK(bits_all_ones(objectives[i]));
  }
}

TEST_CASE("lenet5 stages ignore thread order") {
  // Within a stage no thread reads what another writes, so the order of threads must not change
  // a single bit.
  const LeNetFixture fixture;
  const lsi::HostLeNet5 net = lsi::load_lenet5_host(fixture.path);
  const int n_batch = 13;
  const std::vector<float> images = test_images(n_batch, 7);
  std::vector<float> forward(static_cast<size_t>(n_batch) * kClasses);
  std::vector<float> reverse(forward.size());
  lsi_test::emulate_lenet5_forward(net.conv, net.linear_weights(), images.data(), n_batch, 0,
                                   forward.data(), nullptr, false);
  lsi_test::emulate_lenet5_forward(net.conv, net.linear_weights(), images.data(), n_batch, 0,
                                   reverse.data(), nullptr, true);
  CHECK(std::memcmp(forward.data(), reverse.data(), forward.size() * sizeof(float)) == 0);
}

TEST_CASE("lenet5 stages write only what is asked") {
  // Null outputs are skipped: objectives alone, then log-probabilities alone.
  const LeNetFixture fixture;
  const lsi::HostLeNet5 net = lsi::load_lenet5_host(fixture.path);
  const int n_batch = 9;
  const std::vector<float> images = test_images(n_batch, 8);
  std::vector<float> log_probs(static_cast<size_t>(n_batch) * kClasses);
  std::vector<float> objectives = guarded(n_batch, 1);
  lsi_test::emulate_lenet5_forward(net.conv, net.linear_weights(), images.data(), n_batch, 2,
                                   nullptr, objectives.data(), false);
  lsi_test::emulate_lenet5_forward(net.conv, net.linear_weights(), images.data(), n_batch, 2,
                                   log_probs.data(), nullptr, false);
  for (int row = 0; row < n_batch; ++row) {
    CAPTURE(row);
    CHECK(objectives[row] == doctest::Approx(std::exp(log_probs[row * kClasses + 2])));
  }
  CHECK(bits_all_ones(objectives[n_batch]));
}

TEST_CASE("lenet5 stages match PyTorch digits") {
  // The trained LeNet-5 on real MNIST digits, against PyTorch's log-probabilities in
  // tests/data/reference.safetensors (written by tools/make_reference.py).
  const std::string source_dir = lsi_test::source_dir();
  const std::string reference_path = source_dir + "/tests/data/reference.safetensors";
  const std::string lenet5_path = source_dir + "/weights/lenet5.safetensors";
  for (const std::string& path : {reference_path, lenet5_path}) {
    if (!std::filesystem::exists(path)) {
      MESSAGE("not run: ", path, " is missing");
      return;
    }
  }
  const lsi::WeightFile reference = lsi::WeightFile::load(reference_path);
  const lsi::HostLeNet5 net = lsi::load_lenet5_host(lenet5_path);
  const std::vector<float>& images = reference.values("real_images");
  const auto n_batch = static_cast<int>(reference.values("real_labels").size());
  std::vector<float> log_probs(static_cast<size_t>(n_batch) * kClasses);
  lsi_test::emulate_lenet5_forward(net.conv, net.linear_weights(), images.data(), n_batch, 0,
                                   log_probs.data(), nullptr, false);
  CHECK(lsi::test::compare_arrays("real_log_probs", log_probs, reference.values("real_log_probs"),
                                  kLogProbTolerance)
            .n_mismatches == 0);
}
