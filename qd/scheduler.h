// Scheduler: the ask/tell loop of CMA-ME over one archive and a set of emitters.
//
// ask() gathers every emitter's batch into one float matrix. The program evaluates it, because
// qd does not depend on the networks, and passes the objectives and measures to tell(). tell()
// adds the whole batch to the archive at once and hands each emitter its slice of the add result.
// Shapes: N is the total batch size (the sum of the emitters' batch sizes), S the solution size
// and M the number of measures.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "qd/add_result.h"
#include "qd/grid_archive.h"
#include "qd/improvement_emitter.h"
#include "qd/matrix_types.h"

namespace lsi::qd {

class Scheduler {
 public:
  // Every emitter must draw from `archive`, which must outlive the scheduler.
  // Throws std::invalid_argument when there are no emitters or one uses another archive.
  Scheduler(GridArchive& archive, std::vector<ImprovementEmitter> emitters);

  // Returns the next batch of latents (N x S), emitter by emitter in order. The reference stays
  // valid until the next ask(). Throws std::logic_error when the previous batch is still
  // waiting for tell().
  const RowMatrixXf& ask();

  // Adds the batch of the last ask() to the archive and updates the emitters.
  //   objectives (N)
  //   measures   (N x M)
  // Throws std::logic_error without a pending ask(), and std::invalid_argument on mismatched
  // shapes; in both cases nothing changes and the pending batch stays pending.
  void tell(const Eigen::Ref<const Eigen::VectorXd>& objectives,
            const Eigen::Ref<const RowMatrixXd>& measures);

  std::int64_t batch_size() const { return solutions_.rows(); }
  const GridArchive& archive() const { return *archive_; }
  const std::vector<ImprovementEmitter>& emitters() const { return emitters_; }

  // Completed ask/tell iterations; the archive stores this number (from 1) with each elite.
  std::int64_t iterations() const { return iterations_; }

  // Solutions evaluated so far, and per completed iteration.
  std::int64_t n_evaluations() const { return n_evaluations_; }
  const std::vector<std::int64_t>& evaluations_per_iteration() const {
    return evaluations_per_iteration_;
  }

  // Statuses and values of the last tell(), in batch order.
  const AddResult& last_add_result() const { return add_result_; }

 private:
  // Calls fn(e) for every emitter index e, in parallel across OpenMP threads.
  template <typename Fn>
  void for_each_emitter(Fn fn);

  GridArchive* archive_;
  std::vector<ImprovementEmitter> emitters_;
  std::vector<std::int64_t> first_rows_;  // first batch row of each emitter
  RowMatrixXf solutions_;                 // (N x S)
  AddResult add_result_;
  bool awaiting_tell_ = false;
  std::int64_t iterations_ = 0;
  std::int64_t n_evaluations_ = 0;
  std::vector<std::int64_t> evaluations_per_iteration_;
};

}  // namespace lsi::qd
