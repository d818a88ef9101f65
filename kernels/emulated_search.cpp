// EmulatedSearch: DeviceSearch's iteration on the CPU, with host memory in place of the GPU's.
#include "kernels/emulated_search.h"

#include <cstring>

#include "kernels/search_iteration.h"

namespace lsi {

namespace {

void copy_host(void* destination, const void* source, std::size_t n_bytes) {
  std::memcpy(destination, source, n_bytes);
}

}  // namespace

EmulatedSearch::EmulatedSearch(const DeviceSearchConfig& config, Backend& evaluator,
                               bool reverse_order)
    : config_(config),
      evaluator_(&evaluator),
      executor_(reverse_order),
      layout_(config),
      memory_(layout_.initial_image()) {
  // Sized once, so that the pointers in the views stay valid: evaluate() resizes to the same size.
  const auto n_rows = static_cast<std::size_t>(layout_.n_rows());
  latents_.assign(n_rows * kLatentDim, 0.0f);
  evaluation_.images.resize(n_rows * kPixels);
  evaluation_.objectives.resize(n_rows);
  evaluation_.boldness.resize(n_rows);
  evaluation_.lightness.resize(n_rows);
  views_ = layout_.views(memory_.data(),
                         {latents_.data(), evaluation_.objectives.data(),
                          evaluation_.boldness.data(), evaluation_.lightness.data()});
}

void EmulatedSearch::run_iterations(std::int64_t n_iterations) {
  const auto evaluate = [this] {
    evaluator_->evaluate(latents_.data(), layout_.n_rows(), config_.digit, evaluation_);
  };
  // Each iteration's eigendecomposition requests are served at once; DeviceSearch serves them
  // beside the next iterations, with the same results, since they are committed d iterations
  // after the request either way.
  for (std::int64_t i = 0; i < n_iterations; ++i) {
    const long long iteration = *views_.iteration;
    search::run_iteration(executor_, views_, evaluate);
    search::decompose_slot(executor_, views_.eigen_slots,
                           search::eigen_slot_of(iteration, views_.eigen_slots.n_slots));
  }
}

DeviceSearchSnapshot EmulatedSearch::snapshot() {
  search::compute_snapshot(executor_, views_);
  return search::read_snapshot(views_, copy_host);
}

void EmulatedSearch::copy_archive(qd::GridArchive& archive) const {
  search::read_archive(views_, copy_host, archive);
}

std::vector<std::int64_t> EmulatedSearch::restarts_per_emitter() const {
  return search::read_restarts(views_, copy_host);
}

}  // namespace lsi
