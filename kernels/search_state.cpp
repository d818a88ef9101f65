// SearchLayout: one block of memory for a device search, its views and its initial state.
#include "kernels/search_state.h"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "engine/backend.h"
#include "kernels/search_host_executor.h"
#include "qd/cma_es.h"
#include "qd/grid_archive.h"

namespace lsi::search {

namespace {

// Every array starts a multiple of 256 bytes after the base, as cudaMalloc aligns allocations.
// On the host, a base aligned as operator new aligns its memory is enough.
constexpr std::size_t kAlignBytes = 256;
constexpr std::size_t kMinBaseAlignBytes = alignof(std::max_align_t);

// Hands out consecutive aligned arrays from `base`; with base null it only counts bytes.
class Carver {
 public:
  explicit Carver(unsigned char* base) : base_(base) {}

  template <typename T>
  T* take(std::size_t n_elements) {
    offset_ = (offset_ + kAlignBytes - 1) / kAlignBytes * kAlignBytes;
    T* pointer = base_ == nullptr ? nullptr : reinterpret_cast<T*>(base_ + offset_);
    offset_ += n_elements * sizeof(T);
    return pointer;
  }

  std::size_t size_bytes() const { return offset_; }

 private:
  unsigned char* base_;
  std::size_t offset_ = 0;
};

RankerKind device_ranker(qd::RankerKind ranker) {
  return ranker == qd::RankerKind::kImprovement ? RankerKind::kImprovement
                                                : RankerKind::kTwoStageImprovement;
}

}  // namespace

SearchLayout::SearchLayout(const DeviceSearchConfig& config) : config_(config) {
  config_.validate();
  const qd::CmaEs cma_es(kLatentDim, config_.batch_size, config_.sigma0);
  chiN_ = cma_es.chiN();
  lazy_gap_evals_ = cma_es.lazy_gap_evals();
  SearchViews unused{};
  size_bytes_ = carve(nullptr, {}, unused);
}

std::size_t SearchLayout::carve(unsigned char* base, const EvaluatorBuffers& evaluator,
                                SearchViews& v) const {
  const auto n = static_cast<std::size_t>(kLatentDim);
  const auto n_emitters = static_cast<std::size_t>(config_.n_emitters);
  const auto n_rows = static_cast<std::size_t>(this->n_rows());
  const auto n_cells = static_cast<std::size_t>(config_.n_cells[0]) * config_.n_cells[1];
  Carver carver(base);

  // Iteration counter and snapshot first, so they sit together.
  v.iteration = carver.take<long long>(1);
  v.snapshot = carver.take<SearchSnapshotData>(1);

  // The archive.
  ArchiveView& a = v.archive;
  a.solution_dim = kLatentDim;
  for (int i = 0; i < kMeasureDim; ++i) {
    a.dims[i] = config_.n_cells[i];
    a.lower[i] = config_.lower[i];
    a.upper[i] = config_.upper[i];
  }
  a.n_cells = static_cast<long long>(n_cells);
  a.batch_capacity_rows = static_cast<long long>(n_rows);
  a.occupied = carver.take<unsigned char>(n_cells);
  a.objectives = carver.take<double>(n_cells);
  a.measures = carver.take<double>(n_cells * kMeasureDim);
  a.solutions = carver.take<float>(n_cells * n);
  a.iterations = carver.take<long long>(n_cells);
  a.occupied_cells = carver.take<long long>(n_cells);
  a.counters = carver.take<unsigned long long>(kArchiveCounters);
  a.winner_key = carver.take<unsigned long long>(n_cells);
  a.first_candidate = carver.take<int>(n_cells);
  a.first_candidate_flags = carver.take<int>(n_rows);

  // The batch, as the sampler writes it and the evaluator scores it, and its add result.
  v.batch.n_batch = static_cast<long long>(n_rows);
  v.batch.solutions = evaluator.latents;
  v.batch.objectives = evaluator.objectives;
  v.batch.boldness = evaluator.boldness;
  v.batch.lightness = evaluator.lightness;
  v.batch.iteration = v.iteration;
  v.add_result.status = carver.take<signed char>(n_rows);
  v.add_result.value = carver.take<double>(n_rows);
  v.add_result.cell = carver.take<long long>(n_rows);

  // The emitters: configuration, CMA-ES state, per-iteration buffers, and the archive they read.
  EmitterView& e = v.emitters;
  e.n = kLatentDim;
  e.lambda = config_.batch_size;
  e.n_emitters = config_.n_emitters;
  e.ranker = device_ranker(config_.ranker);
  e.selection_rule = SelectionRule::kFilter;
  e.restart_rule = RestartRule::kNoImprovement;
  e.sigma0 = config_.sigma0;
  e.chiN = chiN_;
  e.lazy_gap_evals = lazy_gap_evals_;
  e.seed = config_.seed;
  double* x0 = carver.take<double>(n);
  e.x0 = x0;
  e.mean = carver.take<double>(n_emitters * n);
  e.sigma = carver.take<double>(n_emitters);
  e.pc = carver.take<double>(n_emitters * n);
  e.ps = carver.take<double>(n_emitters * n);
  e.C = carver.take<double>(n_emitters * n * n);
  e.B = carver.take<double>(n_emitters * n * n);
  e.D = carver.take<double>(n_emitters * n);
  e.counteval = carver.take<long long>(n_emitters);
  e.eigeneval = carver.take<long long>(n_emitters);
  e.eigen_identity = carver.take<int>(n_emitters);
  e.due = carver.take<int>(n_emitters);
  e.block_index = carver.take<unsigned long long>(n_emitters);
  e.restarts = carver.take<long long>(n_emitters);
  e.last_stop_reason = carver.take<int>(n_emitters);
  e.latents = evaluator.latents;
  e.samples = carver.take<double>(n_rows * n);
  e.z = carver.take<double>(n_rows * n);
  e.ranking = carver.take<int>(n_rows);
  e.n_entered = carver.take<int>(n_emitters);
  e.parents = carver.take<int>(n_rows);
  e.n_parents = carver.take<int>(n_emitters);
  e.weights = carver.take<double>(n_rows);
  e.rates = carver.take<CmaRates>(n_emitters);
  e.weighted_steps = carver.take<double>(n_rows * n);
  e.y_w = carver.take<double>(n_emitters * n);
  e.scaled_bt_y_w = carver.take<double>(n_emitters * n);
  e.invsqrtC_y_w = carver.take<double>(n_emitters * n);
  e.ps_norm = carver.take<double>(n_emitters);
  e.hsig = carver.take<double>(n_emitters);
  e.C_finite = carver.take<int>(n_emitters);
  e.restart = carver.take<int>(n_emitters);
  e.restart_cell = carver.take<long long>(n_emitters);
  e.occupied_cells = a.occupied_cells;
  e.counters = a.counters;
  e.solutions = a.solutions;

  // The deferred eigendecompositions' slots.
  const auto n_slots = static_cast<std::size_t>(config_.eigen_delay_iterations);
  EigenSlotsView& g = v.eigen_slots;
  g.n = kLatentDim;
  g.n_emitters = config_.n_emitters;
  g.n_slots = config_.eigen_delay_iterations;
  g.iteration = v.iteration;
  g.due = carver.take<int>(n_slots * n_emitters);
  g.C = carver.take<double>(n_slots * n_emitters * n * n);
  g.B = carver.take<double>(n_slots * n_emitters * n * n);
  g.D = carver.take<double>(n_slots * n_emitters * n);
  g.eigen_identity = carver.take<int>(n_slots * n_emitters);
  g.n_sweeps = carver.take<int>(n_slots * n_emitters);
  g.restart_stamp = carver.take<long long>(n_slots * n_emitters);

  // The statistics of a progress row.
  v.stats = {a.occupied_cells, a.counters + kCounterOccupiedCells, a.objectives, e.restarts,
             config_.n_emitters, v.iteration, v.snapshot};
  return carver.size_bytes();
}

SearchViews SearchLayout::views(unsigned char* base, const EvaluatorBuffers& evaluator) const {
  if (base == nullptr || reinterpret_cast<std::uintptr_t>(base) % kMinBaseAlignBytes != 0) {
    throw std::invalid_argument("SearchLayout::views: base must be non-null and " +
                                std::to_string(kMinBaseAlignBytes) + "-byte aligned");
  }
  SearchViews views{};
  carve(base, evaluator, views);
  return views;
}

std::vector<unsigned char> SearchLayout::initial_image() const {
  std::vector<unsigned char> image(size_bytes_, 0);
  const SearchViews v = views(image.data(), {});

  // An empty archive with its scratch at rest.
  clear_archive(HostExecutor(), v.archive);

  // Every emitter as qd::CmaEs::reset(x0 = 0) leaves it: sigma0, C = B = I, D = 1, zero paths
  // and counts. The vectors and counts are zero already.
  const EmitterView& e = v.emitters;
  const auto n = static_cast<std::size_t>(e.n);
  for (int emitter = 0; emitter < e.n_emitters; ++emitter) {
    e.sigma[emitter] = e.sigma0;
    e.eigen_identity[emitter] = 1;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t diagonal = emitter * n * n + i * n + i;
      e.C[diagonal] = 1.0;
      e.B[diagonal] = 1.0;
      e.D[emitter * n + i] = 1.0;
    }
  }
  *v.iteration = 1;
  return image;
}

DeviceSearchSnapshot read_snapshot(const SearchViews& views, const CopyToHost& copy) {
  SearchSnapshotData data{};
  copy(&data, views.snapshot, sizeof(data));
  DeviceSearchSnapshot snapshot;
  snapshot.iterations = data.iterations_done;
  snapshot.num_elites = data.num_elites;
  snapshot.restarts = data.restarts;
  snapshot.qd_score = data.qd_score;
  snapshot.obj_max = data.obj_max;
  return snapshot;
}

void read_archive(const SearchViews& views, const CopyToHost& copy, qd::GridArchive& archive) {
  const ArchiveView& a = views.archive;
  if (archive.n_cells() != a.n_cells || archive.solution_dim() != a.solution_dim ||
      archive.measure_dim() != kMeasureDim) {
    throw std::invalid_argument("read_archive: the host archive's shape differs from the state's");
  }
  const auto n_cells = static_cast<std::size_t>(a.n_cells);
  const auto n_solution = static_cast<std::size_t>(a.solution_dim);

  unsigned long long counters[kArchiveCounters];
  copy(counters, a.counters, sizeof(counters));
  std::vector<std::int64_t> occupied_cells(counters[kCounterOccupiedCells]);
  std::vector<double> objectives(n_cells);
  std::vector<double> measures(n_cells * kMeasureDim);
  std::vector<float> solutions(n_cells * n_solution);
  std::vector<std::int64_t> iterations(n_cells);
  static_assert(sizeof(std::int64_t) == sizeof(long long), "cells are copied as long long");
  copy(occupied_cells.data(), a.occupied_cells, occupied_cells.size() * sizeof(long long));
  copy(objectives.data(), a.objectives, objectives.size() * sizeof(double));
  copy(measures.data(), a.measures, measures.size() * sizeof(double));
  copy(solutions.data(), a.solutions, solutions.size() * sizeof(float));
  copy(iterations.data(), a.iterations, iterations.size() * sizeof(long long));
  archive.assign(occupied_cells, objectives, measures, solutions, iterations,
                 static_cast<std::int64_t>(counters[kCounterRejectedNonFinite]));
}

std::vector<std::int64_t> read_restarts(const SearchViews& views, const CopyToHost& copy) {
  std::vector<std::int64_t> restarts(views.emitters.n_emitters);
  copy(restarts.data(), views.emitters.restarts, restarts.size() * sizeof(long long));
  return restarts;
}

}  // namespace lsi::search
