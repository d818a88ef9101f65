// Host arrays behind an lsi::search::EmitterView, and the interface through which the emitter
// tests run its phases on the CPU (HostExecutor) or on a GPU (CudaExecutor).
//
// Shape legend as in kernels/search_emitter_steps.h: E emitters, lambda batch size, n solution
// size, N = E * lambda, C archive cells.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/search_emitter_steps.h"

namespace lsi_test {

// Every array of an EmitterView, as host vectors, and the view's configuration.
struct EmitterBuffers {
  lsi::search::EmitterView config;  // configuration fields only; array pointers unused

  std::vector<double> x0;  // (n)

  std::vector<double> mean, sigma, pc, ps, C, B, D;
  std::vector<long long> counteval, eigeneval;
  std::vector<int> eigen_identity, due;
  std::vector<unsigned long long> block_index;
  std::vector<long long> restarts;
  std::vector<int> last_stop_reason;

  std::vector<float> latents;
  std::vector<double> samples, z;
  std::vector<int> ranking, n_entered, parents, n_parents;
  std::vector<double> weights;
  std::vector<lsi::search::CmaRates> rates;
  std::vector<double> weighted_steps, y_w, scaled_bt_y_w, invsqrtC_y_w, ps_norm, hsig;
  std::vector<int> C_finite, restart;
  std::vector<long long> restart_cell;

  std::vector<long long> occupied_cells;     // (C)
  std::vector<unsigned long long> counters;  // (1)
  std::vector<float> archive_solutions;      // (C x n)

  // Sizes every array for config's n, lambda and n_emitters and the archive's n_cells.
  void resize(long long n_cells) {
    const std::size_t E = config.n_emitters;
    const std::size_t n = config.n;
    const std::size_t rows = E * config.lambda;
    x0.resize(n);
    for (auto* vector : {&mean, &pc, &ps, &D, &y_w, &scaled_bt_y_w, &invsqrtC_y_w}) {
      vector->resize(E * n);
    }
    for (auto* vector : {&C, &B}) vector->resize(E * n * n);
    for (auto* vector : {&sigma, &ps_norm, &hsig}) vector->resize(E);
    for (auto* vector : {&counteval, &eigeneval, &restarts, &restart_cell}) vector->resize(E);
    for (auto* vector :
         {&eigen_identity, &due, &last_stop_reason, &n_entered, &n_parents, &C_finite, &restart}) {
      vector->resize(E);
    }
    block_index.resize(E);
    latents.resize(rows * n);
    samples.resize(rows * n);
    z.resize(rows * n);
    weighted_steps.resize(rows * n);
    for (auto* vector : {&ranking, &parents}) vector->resize(rows);
    weights.resize(rows);
    rates.resize(E);
    occupied_cells.resize(static_cast<std::size_t>(n_cells));
    counters.resize(1);
    archive_solutions.resize(static_cast<std::size_t>(n_cells) * n);
  }

  // Returns the view of these host arrays.
  lsi::search::EmitterView view() {
    lsi::search::EmitterView v = config;
    v.x0 = x0.data();

    v.mean = mean.data();
    v.sigma = sigma.data();
    v.pc = pc.data();
    v.ps = ps.data();
    v.C = C.data();
    v.B = B.data();
    v.D = D.data();
    v.counteval = counteval.data();
    v.eigeneval = eigeneval.data();
    v.eigen_identity = eigen_identity.data();
    v.due = due.data();
    v.block_index = block_index.data();
    v.restarts = restarts.data();
    v.last_stop_reason = last_stop_reason.data();

    v.latents = latents.data();
    v.samples = samples.data();
    v.z = z.data();
    v.ranking = ranking.data();
    v.n_entered = n_entered.data();
    v.parents = parents.data();
    v.n_parents = n_parents.data();
    v.weights = weights.data();
    v.rates = rates.data();
    v.weighted_steps = weighted_steps.data();
    v.y_w = y_w.data();
    v.scaled_bt_y_w = scaled_bt_y_w.data();
    v.invsqrtC_y_w = invsqrtC_y_w.data();
    v.ps_norm = ps_norm.data();
    v.hsig = hsig.data();
    v.C_finite = C_finite.data();
    v.restart = restart.data();
    v.restart_cell = restart_cell.data();

    v.occupied_cells = occupied_cells.data();
    v.counters = counters.data();
    v.solutions = archive_solutions.data();
    return v;
  }
};

// One array field of a view: the address of its pointer and the array's size in bytes.
struct ViewArray {
  void** pointer;
  std::size_t bytes;
};

template <typename T, typename U>
ViewArray view_array(T*& field, const std::vector<U>& vector) {
  static_assert(sizeof(std::remove_const_t<T>) == sizeof(U), "field and vector types differ");
  return ViewArray{reinterpret_cast<void**>(const_cast<std::remove_const_t<T>**>(&field)),
                   vector.size() * sizeof(U)};
}

// Lists every array of a view made by buffers.view(), so that a GPU runner can replace each
// host pointer by a device copy.
inline std::vector<ViewArray> view_arrays(lsi::search::EmitterView& v, const EmitterBuffers& b) {
  return {view_array(v.x0, b.x0),
          view_array(v.mean, b.mean),
          view_array(v.sigma, b.sigma),
          view_array(v.pc, b.pc),
          view_array(v.ps, b.ps),
          view_array(v.C, b.C),
          view_array(v.B, b.B),
          view_array(v.D, b.D),
          view_array(v.counteval, b.counteval),
          view_array(v.eigeneval, b.eigeneval),
          view_array(v.eigen_identity, b.eigen_identity),
          view_array(v.due, b.due),
          view_array(v.block_index, b.block_index),
          view_array(v.restarts, b.restarts),
          view_array(v.last_stop_reason, b.last_stop_reason),
          view_array(v.latents, b.latents),
          view_array(v.samples, b.samples),
          view_array(v.z, b.z),
          view_array(v.ranking, b.ranking),
          view_array(v.n_entered, b.n_entered),
          view_array(v.parents, b.parents),
          view_array(v.n_parents, b.n_parents),
          view_array(v.weights, b.weights),
          view_array(v.rates, b.rates),
          view_array(v.weighted_steps, b.weighted_steps),
          view_array(v.y_w, b.y_w),
          view_array(v.scaled_bt_y_w, b.scaled_bt_y_w),
          view_array(v.invsqrtC_y_w, b.invsqrtC_y_w),
          view_array(v.ps_norm, b.ps_norm),
          view_array(v.hsig, b.hsig),
          view_array(v.C_finite, b.C_finite),
          view_array(v.restart, b.restart),
          view_array(v.restart_cell, b.restart_cell),
          view_array(v.occupied_cells, b.occupied_cells),
          view_array(v.counters, b.counters),
          view_array(v.solutions, b.archive_solutions)};
}

// Runs the emitter phases on the arrays of an EmitterBuffers, reading and writing them in
// place: schedule_eigen(), sample() and tell() of kernels/search_emitter_steps.h.
class EmitterRunner {
 public:
  virtual ~EmitterRunner() = default;
  virtual std::string name() const = 0;
  virtual void schedule_eigen(EmitterBuffers& buffers) = 0;
  virtual void sample(EmitterBuffers& buffers) = 0;
  // status (N) and value (N): the archive's verdict on each batch row.
  virtual void tell(EmitterBuffers& buffers, const std::vector<signed char>& status,
                    const std::vector<double>& value) = 0;
};

}  // namespace lsi_test
