// ImprovementEmitter: sampling, ranking, filtered CMA-ES update and restarts.
#include "qd/improvement_emitter.h"

#include <stdexcept>
#include <string>

namespace lsi::qd {

ImprovementEmitter::ImprovementEmitter(const GridArchive& archive,
                                       const ImprovementEmitterConfig& config,
                                       std::uint64_t seed, std::uint64_t stream_id)
    : archive_(&archive),
      x0_(config.x0.size() == 0 ? Eigen::VectorXd::Zero(archive.solution_dim()) : config.x0),
      ranker_(config.ranker),
      cma_es_(archive.solution_dim(), config.batch_size, config.sigma0),
      stream_(seed, stream_id) {
  if (x0_.size() != archive.solution_dim()) {
    throw std::invalid_argument("ImprovementEmitter: x0 has " + std::to_string(x0_.size()) +
                                " entries, expected the archive's solution_dim " +
                                std::to_string(archive.solution_dim()));
  }
  if (!x0_.allFinite()) {
    throw std::invalid_argument("ImprovementEmitter: x0 contains a NaN or an infinity");
  }
  cma_es_.reset(x0_);
}

void ImprovementEmitter::ask(Eigen::Ref<RowMatrixXf> out) {
  if (awaiting_tell_) {
    throw std::logic_error("ImprovementEmitter::ask: the previous batch was never told; call "
                           "tell() with its add result first");
  }
  if (out.rows() != batch_size() || out.cols() != solution_dim()) {
    throw std::invalid_argument("ImprovementEmitter::ask: output is " +
                                std::to_string(out.rows()) + " x " + std::to_string(out.cols()) +
                                ", expected " + std::to_string(batch_size()) + " x " +
                                std::to_string(solution_dim()));
  }

  // Round the samples to float and keep the rounded values for the CMA-ES update.
  cma_es_.ask(stream_, samples_);
  out = samples_.cast<float>();
  samples_ = out.cast<double>();
  awaiting_tell_ = true;
}

void ImprovementEmitter::tell(const AddResult& add_result, std::int64_t first_row) {
  if (!awaiting_tell_) {
    throw std::logic_error("ImprovementEmitter::tell: no batch is waiting; call ask() first");
  }
  const int lambda = batch_size();

  // Rank the batch; the parents are the solutions that entered the archive, in rank order.
  rank_batch(ranker_, add_result, first_row, lambda, ranking_);
  parents_.clear();
  for (const int index : ranking_) {
    if (add_result.status[first_row + index] != AddStatus::kNotAdded) {
      parents_.push_back(index);
    }
  }
  // NOTE: for "2imp" these are exactly pyribs's first num_parents ranked solutions. For "imp"
  // pyribs takes the top num_parents by value, which can include a solution that did not
  // enter; we keep only solutions that entered.

  cma_es_.tell(samples_, parents_);
  awaiting_tell_ = false;
  ++iterations_;

  // Ranking values in rank order for the flat-ranking test: (status, value) pairs for "2imp"
  // and values alone for "imp", as pyribs's rankers return them.
  const bool two_stage = ranker_ == RankerKind::kTwoStageImprovement;
  ranking_values_.resize(lambda, two_stage ? 2 : 1);
  for (int r = 0; r < lambda; ++r) {
    const std::int64_t row = first_row + ranking_[r];
    if (two_stage) {
      ranking_values_(r, 0) = static_cast<double>(add_result.status[row]);
      ranking_values_(r, 1) = add_result.value[row];
    } else {
      ranking_values_(r, 0) = add_result.value[row];
    }
  }

  // Restart on a CMA-ES stop test or when nothing entered the archive.
  const CmaStopReason stop_reason = cma_es_.check_stop(ranking_values_);
  if (stop_reason != CmaStopReason::kNone || parents_.empty()) {
    last_stop_reason_ = stop_reason;
    restart();
  }
}

void ImprovementEmitter::restart() {
  if (archive_->empty()) {
    cma_es_.reset(x0_);
  } else {
    const std::int64_t cell = archive_->sample_elites(1, stream_)[0];
    cma_es_.reset(archive_->elite(cell).solution.cast<double>());
  }
  ++restarts_;
}

std::vector<ImprovementEmitter> make_improvement_emitters(const GridArchive& archive,
                                                          const ImprovementEmitterConfig& config,
                                                          int n_emitters,
                                                          std::uint64_t base_seed) {
  if (n_emitters <= 0) {
    throw std::invalid_argument("make_improvement_emitters: n_emitters must be positive, got " +
                                std::to_string(n_emitters));
  }
  std::vector<ImprovementEmitter> emitters;
  emitters.reserve(n_emitters);
  for (int i = 0; i < n_emitters; ++i) {
    emitters.emplace_back(archive, config, base_seed, static_cast<std::uint64_t>(i));
  }
  return emitters;
}

}  // namespace lsi::qd
