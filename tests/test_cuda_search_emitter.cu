// Runs the emitter phases of kernels/search_emitter_steps.h through CudaExecutor: every array of
// an EmitterBuffers is copied to the device, the phase runs as CUDA kernels, and every array is
// copied back, so that the checks of search_emitter_checks.h read the GPU's results.
#include <cuda_runtime.h>

#include <memory>
#include <string>
#include <vector>

#include "kernels/cuda_check.h"
#include "kernels/device_buffer.h"
#include "kernels/search_emitter_steps.h"
#include "kernels/search_launch.cuh"
#include "search_emitter_buffers.h"

namespace lsi_test {
namespace {

class CudaEmitterRunner : public EmitterRunner {
 public:
  std::string name() const override { return "cuda"; }

  void schedule_eigen(EmitterBuffers& b) override {
    run_on_device(b,
                  [](const lsi::search::CudaExecutor& executor, const lsi::search::EmitterView& v) {
                    lsi::search::schedule_eigen(executor, v);
                  });
  }

  void sample(EmitterBuffers& b) override {
    run_on_device(b, [](const lsi::search::CudaExecutor& executor,
                        const lsi::search::EmitterView& v) { lsi::search::sample(executor, v); });
  }

  void tell(EmitterBuffers& b, const std::vector<signed char>& status,
            const std::vector<double>& value) override {
    lsi::DeviceBuffer<signed char> d_status;
    lsi::DeviceBuffer<double> d_value;
    d_status.upload(status.data(), status.size(), nullptr);
    d_value.upload(value.data(), value.size(), nullptr);
    run_on_device(
        b, [&](const lsi::search::CudaExecutor& executor, const lsi::search::EmitterView& v) {
          lsi::search::tell(executor, v, d_status.data(), d_value.data());
        });
  }

 private:
  // Copies every array of b to the device, runs phase(executor, device view) on the default
  // stream, and copies every array back.
  template <typename Phase>
  void run_on_device(EmitterBuffers& b, Phase phase) {
    lsi::search::EmitterView v = b.view();
    const std::vector<ViewArray> arrays = view_arrays(v, b);
    std::vector<void*> host_pointers;
    std::vector<lsi::DeviceBuffer<unsigned char>> device_arrays;
    for (const ViewArray& array : arrays) {
      host_pointers.push_back(*array.pointer);
      device_arrays.emplace_back(array.bytes);
      LSI_CUDA_CHECK(cudaMemcpy(device_arrays.back().data(), *array.pointer, array.bytes,
                                cudaMemcpyHostToDevice));
      *array.pointer = device_arrays.back().data();
    }
    phase(lsi::search::CudaExecutor(nullptr), v);
    LSI_CUDA_CHECK(cudaDeviceSynchronize());
    for (std::size_t i = 0; i < arrays.size(); ++i) {
      LSI_CUDA_CHECK(cudaMemcpy(host_pointers[i], device_arrays[i].data(), arrays[i].bytes,
                                cudaMemcpyDeviceToHost));
    }
  }
};

}  // namespace

std::unique_ptr<EmitterRunner> make_cuda_emitter_runner() {
  return std::make_unique<CudaEmitterRunner>();
}

}  // namespace lsi_test
