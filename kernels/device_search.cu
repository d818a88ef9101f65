// DeviceSearch: the state in one device allocation, one iteration captured as a CUDA graph.
#include "kernels/device_search.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <cuda_runtime.h>

#include "kernels/cuda_backend.h"
#include "kernels/cuda_check.h"
#include "kernels/cuda_evaluator.h"
#include "kernels/cuda_handles.h"
#include "kernels/device_buffer.h"
#include "kernels/search_iteration.h"
#include "kernels/search_launch.cuh"

namespace lsi {

namespace {

// Owners of a captured graph and its executable form.
struct GraphDeleter {
  void operator()(cudaGraph_t graph) const { LSI_CUDA_CHECK_LOG(cudaGraphDestroy(graph)); }
};
struct GraphExecDeleter {
  void operator()(cudaGraphExec_t exec) const { LSI_CUDA_CHECK_LOG(cudaGraphExecDestroy(exec)); }
};
using GraphPtr = std::unique_ptr<std::remove_pointer_t<cudaGraph_t>, GraphDeleter>;
using GraphExecPtr = std::unique_ptr<std::remove_pointer_t<cudaGraphExec_t>, GraphExecDeleter>;

// The search needs the generator and LeNet-5 only; the discriminator scores the archive later,
// in the backend that `lsi-cuda run` keeps for that.
WeightPaths search_networks(WeightPaths paths) {
  paths.discriminator.clear();
  return paths;
}

DeviceSearchConfig checked(const DeviceSearchConfig& config) {
  config.validate();
  std::string reason;
  if (!cuda_device_usable(&reason)) {
    throw std::runtime_error("DeviceSearch: no usable CUDA device: " + reason);
  }

  // The eigensolver keeps a 128 x 128 matrix and its eigenvectors in one block's shared memory,
  // which needs a Hopper-class opt-in limit (227 KB on the H100 and H200).
  int device = 0;
  int max_shared_bytes = 0;
  LSI_CUDA_CHECK(cudaGetDevice(&device));
  LSI_CUDA_CHECK(cudaDeviceGetAttribute(&max_shared_bytes,
                                        cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  search::EigenView eigen_view;
  eigen_view.n = kLatentDim;
  const std::size_t needed_bytes = search::EigenStep{eigen_view}.shared_bytes();
  if (static_cast<std::size_t>(max_shared_bytes) < needed_bytes) {
    throw std::runtime_error(
        "the GPU search needs " + std::to_string(needed_bytes) +
        " bytes of shared memory per block for its eigensolver, and this GPU allows " +
        std::to_string(max_shared_bytes) + "; use --device cpu");
  }
  return config;
}

}  // namespace

struct DeviceSearch::Impl {
  Impl(const DeviceSearchConfig& config, const WeightPaths& paths)
      : config(checked(config)),
        layout(config),
        evaluator(search_networks(paths), MathPrecision::kFp32, layout.n_rows()),
        executor(evaluator.stream()),
        eigen_executor(eigen_stream.get()),
        iteration_done(cudaEventDisableTiming) {
    slot_done.reserve(static_cast<std::size_t>(config.eigen_delay_iterations));
    for (int slot = 0; slot < config.eigen_delay_iterations; ++slot) {
      slot_done.push_back(std::make_unique<CudaEvent>(cudaEventDisableTiming));
    }
  }

  // The eigensolver may still run on its stream; the memory must outlive it.
  ~Impl() {
    LSI_CUDA_CHECK_LOG(cudaStreamSynchronize(eigen_stream.get()));
    LSI_CUDA_CHECK_LOG(cudaStreamSynchronize(stream()));
  }

  cudaStream_t stream() const { return evaluator.stream(); }

  // Copies n_bytes at `source` (in `memory`) to the host, after the work queued so far.
  void copy_out(void* destination, const void* source, std::size_t n_bytes) const {
    LSI_CUDA_CHECK(cudaMemcpyAsync(destination, source, n_bytes, cudaMemcpyDeviceToHost,
                                   stream()));
    LSI_CUDA_CHECK(cudaStreamSynchronize(stream()));
  }

  DeviceSearchConfig config;
  search::SearchLayout layout;
  CudaEvaluator evaluator;
  search::CudaExecutor executor;
  CudaStream eigen_stream;  // the deferred eigendecompositions, beside the loop
  search::CudaExecutor eigen_executor;
  CudaEvent iteration_done;          // recorded after each iteration on the loop's stream
  std::vector<std::unique_ptr<CudaEvent>> slot_done;  // (d) after each slot's decomposition
  long long next_iteration = 1;      // the host's count, in step with views.iteration
  DeviceBuffer<unsigned char> memory;
  search::SearchViews views{};
  GraphPtr graph;
  GraphExecPtr graph_exec;
};

DeviceSearch::DeviceSearch(const DeviceSearchConfig& config, const WeightPaths& paths)
    : impl_(std::make_unique<Impl>(config, paths)) {
  Impl& s = *impl_;
  const int n_rows = s.layout.n_rows();

  // The initial state is built on the host and copied in one piece. The latents are zeroed
  // because cudaMalloc leaves memory uninitialised and time_evaluator_s() may run before the
  // first iteration samples them.
  s.evaluator.reserve(n_rows);
  const std::vector<unsigned char> image = s.layout.initial_image();
  s.memory.upload(image.data(), image.size(), s.stream());
  LSI_CUDA_CHECK(cudaMemsetAsync(s.evaluator.d_latents(), 0,
                                 static_cast<std::size_t>(n_rows) * kLatentDim * sizeof(float),
                                 s.stream()));
  s.views = s.layout.views(s.memory.data(),
                           {s.evaluator.d_latents(), s.evaluator.d_objectives_out(),
                            s.evaluator.d_boldness_out(), s.evaluator.d_lightness_out()});
  LSI_CUDA_CHECK(cudaStreamSynchronize(s.stream()));

  // One evaluation outside the capture, so that loading the kernels' modules and cuBLAS's first
  // call happen before it.
  s.evaluator.run_evaluate(n_rows, s.config.digit);
  LSI_CUDA_CHECK(cudaStreamSynchronize(s.stream()));

  // Capture one iteration. Relaxed mode lets the launchers set kernel attributes meanwhile. A
  // failure ends the capture before it propagates, so the stream stays usable.
  const int digit = s.config.digit;
  LSI_CUDA_CHECK(cudaStreamBeginCapture(s.stream(), cudaStreamCaptureModeRelaxed));
  cudaGraph_t graph = nullptr;
  try {
    search::run_iteration(s.executor, s.views, [&] { s.evaluator.run_evaluate(n_rows, digit); });
  } catch (...) {
    cudaStreamEndCapture(s.stream(), &graph);
    if (graph != nullptr) cudaGraphDestroy(graph);
    throw;
  }
  LSI_CUDA_CHECK(cudaStreamEndCapture(s.stream(), &graph));
  s.graph.reset(graph);
  cudaGraphExec_t exec = nullptr;
  LSI_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  s.graph_exec.reset(exec);
}

DeviceSearch::~DeviceSearch() = default;

void DeviceSearch::launch_iterations(std::int64_t n_iterations) {
  Impl& s = *impl_;
  const int n_slots = s.config.eigen_delay_iterations;
  for (std::int64_t i = 0; i < n_iterations; ++i) {
    // Iteration t commits slot t mod d, filled d iterations ago: its decomposition must be done.
    const long long iteration = s.next_iteration;
    const int slot = search::eigen_slot_of(iteration, n_slots);
    if (iteration > n_slots) {
      LSI_CUDA_CHECK(cudaStreamWaitEvent(s.stream(), s.slot_done[slot]->get(), 0));
    }
    LSI_CUDA_CHECK(cudaGraphLaunch(s.graph_exec.get(), s.stream()));
    // Counted only once the graph is queued, so that a failed call above leaves the host's count
    // equal to the device's.
    ++s.next_iteration;

    // Then the slot's new requests are decomposed beside the next iterations.
    LSI_CUDA_CHECK(cudaEventRecord(s.iteration_done.get(), s.stream()));
    LSI_CUDA_CHECK(cudaStreamWaitEvent(s.eigen_stream.get(), s.iteration_done.get(), 0));
    search::decompose_slot(s.eigen_executor, s.views.eigen_slots, slot);
    LSI_CUDA_CHECK(cudaEventRecord(s.slot_done[slot]->get(), s.eigen_stream.get()));
  }
}

void DeviceSearch::synchronize() { LSI_CUDA_CHECK(cudaStreamSynchronize(impl_->stream())); }

DeviceSearchSnapshot DeviceSearch::snapshot() {
  const Impl& s = *impl_;
  search::compute_snapshot(s.executor, s.views);
  return search::read_snapshot(s.views, [&s](void* destination, const void* source,
                                             std::size_t n_bytes) {
    s.copy_out(destination, source, n_bytes);
  });
}

void DeviceSearch::copy_archive(qd::GridArchive& archive) {
  const Impl& s = *impl_;
  search::read_archive(s.views,
                       [&s](void* destination, const void* source, std::size_t n_bytes) {
                         s.copy_out(destination, source, n_bytes);
                       },
                       archive);
}

std::vector<std::int64_t> DeviceSearch::restarts_per_emitter() {
  const Impl& s = *impl_;
  return search::read_restarts(s.views, [&s](void* destination, const void* source,
                                             std::size_t n_bytes) {
    s.copy_out(destination, source, n_bytes);
  });
}

double DeviceSearch::time_evaluator_s(int n_repeats) {
  Impl& s = *impl_;
  if (n_repeats < 1) {
    throw std::invalid_argument("DeviceSearch::time_evaluator_s: n_repeats must be positive");
  }

  // The evaluator reads the last sampled latents and overwrites only its own outputs, which the
  // next iteration's sampling and archive add do not read before rewriting them.
  const int n_rows = s.layout.n_rows();
  CudaEvent start;
  CudaEvent stop;
  s.evaluator.run_evaluate(n_rows, s.config.digit);
  LSI_CUDA_CHECK(cudaEventRecord(start.get(), s.stream()));
  for (int i = 0; i < n_repeats; ++i) s.evaluator.run_evaluate(n_rows, s.config.digit);
  LSI_CUDA_CHECK(cudaEventRecord(stop.get(), s.stream()));
  LSI_CUDA_CHECK(cudaEventSynchronize(stop.get()));
  float elapsed_ms = 0.0f;
  LSI_CUDA_CHECK(cudaEventElapsedTime(&elapsed_ms, start.get(), stop.get()));
  return 1e-3 * elapsed_ms / n_repeats;
}

}  // namespace lsi
