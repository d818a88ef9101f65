// Scheduler: batch assembly, one archive add per iteration and the ask/tell order checks.
#include "qd/scheduler.h"

#include <exception>

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

template <typename Fn>
void Scheduler::for_each_emitter(Fn fn) {
  // Between two archive adds the emitters are independent: each has its own CMA-ES state and
  // random stream and only reads the archive. So they run in parallel on OpenMP's threads, in any
  // order, with the same results as one after another. The first exception is rethrown here.
  const auto n_emitters = static_cast<std::int64_t>(emitters_.size());
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 1) if (n_emitters > 1)
  for (std::int64_t e = 0; e < n_emitters; ++e) {
    try {
      fn(static_cast<std::size_t>(e));
    } catch (...) {
#pragma omp critical(lsi_qd_scheduler_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

const RowMatrixXf& Scheduler::ask() {
  if (awaiting_tell_) {
    throw std::logic_error(
        "Scheduler::ask called twice without tell; pass the objectives and measures of the "
        "previous batch to tell() first");
  }
  for_each_emitter([this](std::size_t e) {
    emitters_[e].ask(solutions_.middleRows(first_rows_[e], emitters_[e].batch_size()));
  });
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
  for_each_emitter([this](std::size_t e) { emitters_[e].tell(add_result_, first_rows_[e]); });

  awaiting_tell_ = false;
  ++iterations_;
  n_evaluations_ += batch_size();
  evaluations_per_iteration_.push_back(batch_size());
}

}  // namespace lsi::qd
