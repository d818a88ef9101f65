// The output folder of a run: never an earlier run's.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <unistd.h>

#include "app/run_output.h"
#include "engine/cpu_backend.h"

namespace fs = std::filesystem;

namespace {

// Runs the test inside a fresh temporary folder and restores the working folder afterwards.
struct InTemporaryFolder {
  fs::path previous = fs::current_path();
  fs::path folder = fs::temp_directory_path() / ("lsi_run_output_" + std::to_string(getpid()));
  InTemporaryFolder() {
    fs::remove_all(folder);
    fs::create_directories(folder);
    fs::current_path(folder);
  }
  ~InTemporaryFolder() {
    fs::current_path(previous);
    fs::remove_all(folder);
  }
};

}  // namespace

TEST_CASE_FIXTURE(InTemporaryFolder, "default folders never repeat") {
  const std::string first = lsi::create_output_dir("");
  const std::string second = lsi::create_output_dir("");
  const std::string third = lsi::create_output_dir("");
  CHECK(first != second);
  CHECK(second != third);
  CHECK(first != third);
  CHECK(fs::is_directory(first));
  CHECK(fs::is_directory(third));
}

TEST_CASE_FIXTURE(InTemporaryFolder, "requested folder must be new or empty") {
  CHECK(lsi::create_output_dir("new/nested") == "new/nested");
  CHECK(fs::is_directory("new/nested"));
  CHECK(lsi::create_output_dir("new/nested") == "new/nested");

  std::ofstream("new/nested/archive.csv") << "index\n";
  CHECK_THROWS_WITH_AS(lsi::create_output_dir("new/nested"),
                       doctest::Contains("already exists and is not empty"), std::runtime_error);
  std::ofstream("a_file") << "x";
  CHECK_THROWS_AS(lsi::create_output_dir("a_file"), std::runtime_error);
}

TEST_CASE("evaluator rejects a negative batch") {
  lsi::CpuBackend cpu(lsi::WeightPaths::in_folder(std::string(LSI_SOURCE_DIR) + "/weights"));
  lsi::Evaluation out;
  float scores[1];
  CHECK_THROWS_AS(cpu.evaluate(nullptr, -1, 8, out), std::invalid_argument);
  CHECK_THROWS_AS(cpu.discriminate(nullptr, -1, scores), std::invalid_argument);
  CHECK_THROWS_AS(cpu.classify(nullptr, -1, scores), std::invalid_argument);
  cpu.evaluate(nullptr, 0, 8, out);
  CHECK(out.n_batch() == 0);
}
