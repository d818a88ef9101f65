// The device archive's steps (kernels/search_archive_steps.h) on a GPU, through CudaExecutor,
// against qd::GridArchive, with the scenarios and exact checks of search_archive_cases.h. The
// archive stays in device memory across the batches of a scenario and is copied back after
// each batch for the comparison. Needs a usable CUDA device: without one the program prints
// why and exits with 77, which ctest reports as skipped.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cuda_runtime.h>

#include <iostream>
#include <string>
#include <vector>

#include "kernels/cuda_backend.h"
#include "kernels/cuda_check.h"
#include "kernels/device_buffer.h"
#include "kernels/search_archive_steps.h"
#include "search_archive_cases.h"

namespace lsi_test {

// Defined in test_cuda_search_archive.cu; they run on `stream` and return without waiting.
void clear_archive_on_device(const lsi::search::ArchiveView& archive, cudaStream_t stream);
void add_batch_on_device(const lsi::search::ArchiveView& archive,
                         const lsi::search::BatchView& batch,
                         const lsi::search::AddResultView& result, cudaStream_t stream);

}  // namespace lsi_test

namespace {

using lsi::DeviceBuffer;
using lsi_test::ArchiveEngine;
using lsi_test::HostAddResult;
using lsi_test::HostArchive;
using lsi_test::HostBatch;

// ctest's SKIP_RETURN_CODE for this program.
constexpr int kSkipExitCode = 77;

template <typename T>
void upload(DeviceBuffer<T>& device, const std::vector<T>& host, cudaStream_t stream) {
  if (!host.empty()) device.upload(host.data(), host.size(), stream);
}

template <typename T>
void download(const DeviceBuffer<T>& device, std::vector<T>& host, cudaStream_t stream) {
  if (host.empty()) return;
  LSI_CUDA_CHECK(cudaMemcpyAsync(host.data(), device.data(), host.size() * sizeof(T),
                                 cudaMemcpyDeviceToHost, stream));
}

class CudaStream {
 public:
  CudaStream() { LSI_CUDA_CHECK(cudaStreamCreate(&stream_)); }
  ~CudaStream() { LSI_CUDA_CHECK_LOG(cudaStreamDestroy(stream_)); }
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

// The archive in device memory for the whole scenario; each batch is uploaded, added with
// CudaExecutor, and the archive and the result are copied back.
class DeviceEngine : public ArchiveEngine {
 public:
  void start(HostArchive& archive) override {
    const cudaStream_t stream = stream_.get();
    upload(occupied_, archive.occupied, stream);
    upload(objectives_, archive.objectives, stream);
    upload(measures_, archive.measures, stream);
    upload(solutions_, archive.solutions, stream);
    upload(iterations_, archive.iterations, stream);
    upload(occupied_cells_, archive.occupied_cells, stream);
    upload(counters_, archive.counters, stream);
    upload(winner_key_, archive.winner_key, stream);
    upload(first_candidate_, archive.first_candidate, stream);
    upload(first_candidate_flags_, archive.first_candidate_flags, stream);

    view_ = archive.view();
    view_.occupied = occupied_.data();
    view_.objectives = objectives_.data();
    view_.measures = measures_.data();
    view_.solutions = solutions_.data();
    view_.iterations = iterations_.data();
    view_.occupied_cells = occupied_cells_.data();
    view_.counters = counters_.data();
    view_.winner_key = winner_key_.data();
    view_.first_candidate = first_candidate_.data();
    view_.first_candidate_flags = first_candidate_flags_.data();

    lsi_test::clear_archive_on_device(view_, stream);
    download_archive(archive);
  }

  void add(const HostBatch& batch, HostAddResult& result, HostArchive& archive) override {
    const cudaStream_t stream = stream_.get();
    const long long n_batch = batch.n_batch();
    upload(batch_solutions_, batch.solutions, stream);
    upload(batch_objectives_, batch.objectives, stream);
    upload(batch_boldness_, batch.boldness, stream);
    upload(batch_lightness_, batch.lightness, stream);
    iteration_.upload(&batch.iteration, 1, stream);
    // Rows that no step writes keep these values and show as mismatches.
    result.reset(n_batch);
    upload(status_, result.status, stream);
    upload(value_, result.value, stream);
    upload(cell_, result.cell, stream);

    const lsi::search::BatchView batch_view{n_batch,
                                            batch_solutions_.data(),
                                            batch_objectives_.data(),
                                            batch_boldness_.data(),
                                            batch_lightness_.data(),
                                            iteration_.data()};
    const lsi::search::AddResultView result_view{status_.data(), value_.data(), cell_.data()};
    lsi_test::add_batch_on_device(view_, batch_view, result_view, stream);

    download(status_, result.status, stream);
    download(value_, result.value, stream);
    download(cell_, result.cell, stream);
    download_archive(archive);
  }

 private:
  void download_archive(HostArchive& archive) {
    const cudaStream_t stream = stream_.get();
    download(occupied_, archive.occupied, stream);
    download(objectives_, archive.objectives, stream);
    download(measures_, archive.measures, stream);
    download(solutions_, archive.solutions, stream);
    download(iterations_, archive.iterations, stream);
    download(occupied_cells_, archive.occupied_cells, stream);
    download(counters_, archive.counters, stream);
    download(winner_key_, archive.winner_key, stream);
    download(first_candidate_, archive.first_candidate, stream);
    download(first_candidate_flags_, archive.first_candidate_flags, stream);
    LSI_CUDA_CHECK(cudaStreamSynchronize(stream));
  }

  CudaStream stream_;
  lsi::search::ArchiveView view_{};
  DeviceBuffer<unsigned char> occupied_;
  DeviceBuffer<double> objectives_;
  DeviceBuffer<double> measures_;
  DeviceBuffer<float> solutions_;
  DeviceBuffer<long long> iterations_;
  DeviceBuffer<long long> occupied_cells_;
  DeviceBuffer<unsigned long long> counters_;
  DeviceBuffer<unsigned long long> winner_key_;
  DeviceBuffer<int> first_candidate_;
  DeviceBuffer<int> first_candidate_flags_;
  DeviceBuffer<float> batch_solutions_;
  DeviceBuffer<float> batch_objectives_;
  DeviceBuffer<float> batch_boldness_;
  DeviceBuffer<float> batch_lightness_;
  DeviceBuffer<long long> iteration_;
  DeviceBuffer<signed char> status_;
  DeviceBuffer<double> value_;
  DeviceBuffer<long long> cell_;
};

}  // namespace

TEST_CASE("program grid on the GPU matches GridArchive") {
  DeviceEngine engine;
  const lsi_test::ScenarioSummary summary =
      lsi_test::run_scenario(lsi_test::program_grid_scenario(), engine, "CudaExecutor");
  CHECK(summary.n_mismatches == 0);
  lsi_test::check_scenario_coverage(summary);
}

TEST_CASE("small grid on the GPU matches GridArchive") {
  DeviceEngine engine;
  const lsi_test::ScenarioSummary summary =
      lsi_test::run_scenario(lsi_test::small_grid_scenario(), engine, "CudaExecutor");
  CHECK(summary.n_mismatches == 0);
  lsi_test::check_scenario_coverage(summary);
}

int main(int argc, char** argv) {
  std::string reason;
  if (!lsi::cuda_device_usable(&reason)) {
    std::cout << "SKIPPED: test_cuda_search_archive needs a usable CUDA device: " << reason
              << "\n";
    return kSkipExitCode;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
