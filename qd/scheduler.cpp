// Scheduler: batch assembly, one archive add per iteration and the ask/tell order checks.
#include "qd/scheduler.h"

#include <stdexcept>
#include <string>
#include <utility>

namespace lsi::qd {

Scheduler::Scheduler(GridArchive& archive, std::vector<ImprovementEmitter> emitters)
    : archive_(&archive), emitters_(std::move(emitters)) {
  if (emitters_.empty()) {
    throw std::invalid_argument("Scheduler: at least one emitter is required");
  }

  std::int64_t n_rows = 0;
  for (std::size_t e = 0; e < emitters_.size(); ++e) {
    if (&emitters_[e].archive() != archive_) {
      throw std::invalid_argument("Scheduler: emitter " + std::to_string(e) +
                                  " draws from a different archive than the scheduler's");
    }
    first_rows_.push_back(n_rows);
    n_rows += emitters_[e].batch_size();
  }
  solutions_.resize(n_rows, archive.solution_dim());
}

const RowMatrixXf& Scheduler::ask() {
  if (awaiting_tell_) {
    throw std::logic_error(
        "Scheduler::ask called twice without tell; pass the objectives and measures of the "
        "previous batch to tell() first");
  }
  for (std::size_t e = 0; e < emitters_.size(); ++e) {
    emitters_[e].ask(solutions_.middleRows(first_rows_[e], emitters_[e].batch_size()));
  }
  awaiting_tell_ = true;
  return solutions_;
}

void Scheduler::tell(const Eigen::Ref<const Eigen::VectorXd>& objectives,
                     const Eigen::Ref<const RowMatrixXd>& measures) {
  if (!awaiting_tell_) {
    throw std::logic_error(
        "Scheduler::tell called without a pending ask; call ask() and evaluate its batch "
        "first");
  }
  if (objectives.size() != batch_size() || measures.rows() != batch_size()) {
    throw std::invalid_argument("Scheduler::tell: expected " + std::to_string(batch_size()) +
                                " objectives and measure rows, got " +
                                std::to_string(objectives.size()) + " and " +
                                std::to_string(measures.rows()));
  }
  if (measures.cols() != archive_->measure_dim()) {
    throw std::invalid_argument("Scheduler::tell: measures has " + std::to_string(measures.cols()) +
                                " columns, expected " + std::to_string(archive_->measure_dim()));
  }

  // One archive add for the whole batch, then each emitter reads its slice of the result.
  archive_->add(solutions_, objectives, measures, iterations_ + 1, add_result_);
  for (std::size_t e = 0; e < emitters_.size(); ++e) {
    emitters_[e].tell(add_result_, first_rows_[e]);
  }

  awaiting_tell_ = false;
  ++iterations_;
  n_evaluations_ += batch_size();
  evaluations_per_iteration_.push_back(batch_size());
}

}  // namespace lsi::qd
