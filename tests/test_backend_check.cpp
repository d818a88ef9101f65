// The start-up check that compares a backend with the CPU one.
#include <doctest/doctest.h>

#include <string>

#include "app/backend_check.h"
#include "engine/cpu_backend.h"

namespace {

lsi::WeightPaths default_paths() {
  return lsi::WeightPaths::in_folder(std::string(LSI_SOURCE_DIR) + "/weights");
}

// A CPU backend whose outputs are shifted by `offset`, standing in for a broken GPU path.
class OffsetBackend : public lsi::CpuBackend {
 public:
  OffsetBackend(const lsi::WeightPaths& paths, float image_offset, float score_offset)
      : CpuBackend(paths), image_offset_(image_offset), score_offset_(score_offset) {}

  std::string name() const override { return "offset"; }

  void evaluate(const float* latents, int n, int digit, lsi::Evaluation& out) override {
    CpuBackend::evaluate(latents, n, digit, out);
    for (float& v : out.images) v += image_offset_;
  }

  void discriminate(const float* images, int n, float* scores) override {
    CpuBackend::discriminate(images, n, scores);
    for (int i = 0; i < n; ++i) scores[i] += score_offset_;
  }

 private:
  float image_offset_;
  float score_offset_;
};

}  // namespace

TEST_CASE("backend check accepts the CPU itself") {
  lsi::CpuBackend cpu(default_paths());
  CHECK(lsi::disagreement_with_cpu(cpu, default_paths()) == "");
}

TEST_CASE("backend check rejects wrong images") {
  OffsetBackend broken(default_paths(), 1e-3f, 0.0f);
  const std::string message = lsi::disagreement_with_cpu(broken, default_paths());
  CHECK(message.find("offset backend disagrees with the CPU") != std::string::npos);
  CHECK(message.find("images") != std::string::npos);
}

TEST_CASE("backend check rejects wrong scores") {
  OffsetBackend broken(default_paths(), 0.0f, 1e-2f);
  const std::string message = lsi::disagreement_with_cpu(broken, default_paths());
  CHECK(message.find("discriminator scores") != std::string::npos);
}

TEST_CASE("backend check tolerates rounding") {
  OffsetBackend close(default_paths(), 1e-6f, 1e-5f);
  CHECK(lsi::disagreement_with_cpu(close, default_paths()) == "");
}
