// The device eigendecomposition step (kernels/search_eigen_steps.h) on a GPU, through
// CudaExecutor, against LAPACK's dsyevd: the cases and checks of search_eigen_checks.h, with each
// batch copied to device memory and back. Needs a usable CUDA device: without one the program
// prints why and exits with 77, which ctest reports as skipped.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "kernels/cuda_backend.h"
#include "kernels/cuda_check.h"
#include "kernels/device_buffer.h"
#include "kernels/search_eigen_steps.h"
#include "search_eigen_checks.h"

namespace lsi_test {

// Defined in test_cuda_search_eigen.cu; it runs on `stream` and returns without waiting.
void decompose_due_on_device(const lsi::search::EigenView& view, cudaStream_t stream);

}  // namespace lsi_test

namespace {

using lsi::DeviceBuffer;
using lsi_test::EigenBatch;
using lsi_test::EigenRunner;

// ctest's SKIP_RETURN_CODE for this program.
constexpr int kSkipExitCode = 77;

template <typename T>
void download(const DeviceBuffer<T>& device, std::vector<T>& host, cudaStream_t stream) {
  LSI_CUDA_CHECK(cudaMemcpyAsync(host.data(), device.data(), host.size() * sizeof(T),
                                 cudaMemcpyDeviceToHost, stream));
}

// A batch's arrays in device memory.
struct DeviceBatch {
  DeviceBuffer<int> due;
  DeviceBuffer<double> C;
  DeviceBuffer<double> B;
  DeviceBuffer<double> D;
  DeviceBuffer<int> eigen_identity;
  DeviceBuffer<int> n_sweeps;

  void upload(const EigenBatch& batch, cudaStream_t stream) {
    due.upload(batch.due.data(), batch.due.size(), stream);
    C.upload(batch.C.data(), batch.C.size(), stream);
    B.upload(batch.B.data(), batch.B.size(), stream);
    D.upload(batch.D.data(), batch.D.size(), stream);
    eigen_identity.upload(batch.eigen_identity.data(), batch.eigen_identity.size(), stream);
    n_sweeps.upload(batch.n_sweeps.data(), batch.n_sweeps.size(), stream);
  }

  void download_into(EigenBatch& batch, cudaStream_t stream) const {
    download(C, batch.C, stream);
    download(B, batch.B, stream);
    download(D, batch.D, stream);
    download(eigen_identity, batch.eigen_identity, stream);
    download(n_sweeps, batch.n_sweeps, stream);
  }

  lsi::search::EigenView view(int n, int n_emitters) {
    lsi::search::EigenView v;
    v.n = n;
    v.n_emitters = n_emitters;
    v.due = due.data();
    v.C = C.data();
    v.B = B.data();
    v.D = D.data();
    v.eigen_identity = eigen_identity.data();
    v.n_sweeps = n_sweeps.data();
    return v;
  }
};

// Copies a batch to the device, decomposes it there and copies it back.
EigenRunner device_runner() {
  return [](EigenBatch& batch) {
    cudaStream_t stream = nullptr;
    LSI_CUDA_CHECK(cudaStreamCreate(&stream));
    DeviceBatch device;
    device.upload(batch, stream);
    lsi_test::decompose_due_on_device(device.view(batch.n, batch.n_emitters), stream);
    device.download_into(batch, stream);
    LSI_CUDA_CHECK(cudaStreamSynchronize(stream));
    LSI_CUDA_CHECK(cudaStreamDestroy(stream));
  };
}

TEST_CASE("eigen step on GPU: cold starts and an emitter not due") {
  for (const int n : lsi_test::eigen_test_sizes()) {
    lsi_test::run_cold_case(device_runner(), n, "gpu: ");
  }
}

TEST_CASE("eigen step on GPU: warm starts") {
  for (const int n : lsi_test::eigen_test_sizes()) {
    lsi_test::run_warm_case(device_runner(), n, "gpu: ");
  }
}

TEST_CASE("eigen step on GPU: identity, repeated and negative eigenvalues") {
  for (const int n : lsi_test::eigen_test_sizes()) {
    lsi_test::run_special_case(device_runner(), n, "gpu: ");
  }
}

TEST_CASE("eigen step on GPU: non-finite C stays untouched") {
  for (const int n : lsi_test::eigen_test_sizes()) {
    lsi_test::run_non_finite_case(device_runner(), n, "gpu: ");
  }
}

TEST_CASE("eigen step on GPU: repeated warm starts") {
  lsi_test::run_repeated_warm_case(device_runner(), 128, 100, "gpu: ");
}

// Times cold and warm decompositions of five emitters at n = 128, the kernel alone.
TEST_CASE("eigen step on GPU: time per decomposition") {
  constexpr int kN = 128;
  constexpr int kEmitters = 5;
  constexpr int kRepeats = 5;
  std::mt19937_64 rng(6000);
  EigenBatch cold(kN, kEmitters);
  for (int e = 0; e < kEmitters; ++e) lsi_test::write_conditioned(kN, 1e6, rng, cold.C_of(e));
  EigenBatch warm = cold;
  for (int e = 0; e < kEmitters; ++e) {
    lsi_test::set_warm_start(warm, e);
    lsi_test::apply_rank_one_update(kN, 0.5 / kN, rng, warm.C_of(e));
  }

  cudaStream_t stream = nullptr;
  LSI_CUDA_CHECK(cudaStreamCreate(&stream));
  cudaEvent_t start = nullptr;
  cudaEvent_t stop = nullptr;
  LSI_CUDA_CHECK(cudaEventCreate(&start));
  LSI_CUDA_CHECK(cudaEventCreate(&stop));
  for (EigenBatch* batch : {&cold, &warm}) {
    DeviceBatch device;
    float best_ms = 1e30f;
    for (int repeat = 0; repeat < kRepeats; ++repeat) {
      device.upload(*batch, stream);
      LSI_CUDA_CHECK(cudaEventRecord(start, stream));
      lsi_test::decompose_due_on_device(device.view(kN, kEmitters), stream);
      LSI_CUDA_CHECK(cudaEventRecord(stop, stream));
      LSI_CUDA_CHECK(cudaEventSynchronize(stop));
      float ms = 0.0f;
      LSI_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
      best_ms = ms < best_ms ? ms : best_ms;
    }
    EigenBatch result = *batch;
    device.download_into(result, stream);
    LSI_CUDA_CHECK(cudaStreamSynchronize(stream));
    std::printf("%s start, %d emitters, n = %d: %.3f ms (best of %d), sweeps %d\n",
                batch == &cold ? "cold" : "warm", kEmitters, kN, best_ms, kRepeats,
                result.n_sweeps[0]);
  }
  LSI_CUDA_CHECK(cudaEventDestroy(start));
  LSI_CUDA_CHECK(cudaEventDestroy(stop));
  LSI_CUDA_CHECK(cudaStreamDestroy(stream));
}

}  // namespace

int main(int argc, char** argv) {
  std::string reason;
  if (!lsi::cuda_device_usable(&reason)) {
    std::cout << "SKIPPED: test_cuda_search_eigen needs a usable CUDA device: " << reason << "\n";
    return kSkipExitCode;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
