// ImprovementEmitter: sampling, ranking, filtered CMA-ES update and restarts.
#include "qd/improvement_emitter.h"

#include <stdexcept>
#include <string>

namespace lsi::qd {

const char* to_string(SelectionRule rule) {
  switch (rule) {
    case SelectionRule::kFilter:
      return "filter";
    case SelectionRule::kMu:
      return "mu";
  }
  return "invalid";
}

const char* to_string(RestartRule rule) {
  switch (rule) {
    case RestartRule::kNoImprovement:
      return "no_improvement";
    case RestartRule::kBasic:
      return "basic";
  }
  return "invalid";
}

SelectionRule parse_selection_rule(const std::string& name) {
  if (name == "filter") {
    return SelectionRule::kFilter;
  }
  if (name == "mu") {
    return SelectionRule::kMu;
  }
  throw std::invalid_argument("unknown selection rule \"" + name +
                              "\"; expected \"filter\" or \"mu\"");
}

RestartRule parse_restart_rule(const std::string& name) {
  if (name == "no_improvement") {
    return RestartRule::kNoImprovement;
  }
  if (name == "basic") {
    return RestartRule::kBasic;
  }
  throw std::invalid_argument("unknown restart rule \"" + name +
                              "\"; expected \"no_improvement\" or \"basic\"");
}

ImprovementEmitter::ImprovementEmitter(const GridArchive& archive,
                                       const ImprovementEmitterConfig& config, std::uint64_t seed,
                                       std::uint64_t stream_id)
    : archive_(&archive),
      x0_(config.x0.size() == 0 ? Eigen::VectorXd::Zero(archive.solution_dim()) : config.x0),
      ranker_(config.ranker),
      selection_rule_(config.selection_rule),
      restart_rule_(config.restart_rule),
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
    throw std::logic_error(
        "ImprovementEmitter::ask called twice without tell; call tell() with the add result "
        "of the previous batch first");
  }
  if (out.rows() != batch_size() || out.cols() != solution_dim()) {
    throw std::invalid_argument("ImprovementEmitter::ask: output is " + std::to_string(out.rows()) +
                                " x " + std::to_string(out.cols()) + ", expected " +
                                std::to_string(batch_size()) + " x " +
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

  // Rank the batch and select the parents in rank order.
  rank_batch(ranker_, add_result, first_row, lambda, ranking_);
  int n_entered = 0;
  for (int i = 0; i < lambda; ++i) {
    n_entered += add_result.status[first_row + i] != AddStatus::kNotAdded ? 1 : 0;
  }
  parents_.clear();
  if (selection_rule_ == SelectionRule::kMu) {
    parents_.assign(ranking_.begin(), ranking_.begin() + lambda / 2);
  } else {
    // NOTE: for "2imp" these are exactly pyribs's first n_entered ranked solutions. For "imp"
    // pyribs takes the top n_entered by value, which can include a solution that did not
    // enter, whereas we keep only solutions that entered.
    for (const int index : ranking_) {
      if (add_result.status[first_row + index] != AddStatus::kNotAdded) {
        parents_.push_back(index);
      }
    }
  }

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

  // Restart on a CMA-ES stop test, or under the no-improvement rule when nothing entered.
  const CmaStopReason stop_reason = cma_es_.check_stop(ranking_values_);
  const bool no_improvement = restart_rule_ == RestartRule::kNoImprovement && n_entered == 0;
  if (stop_reason != CmaStopReason::kNone || no_improvement) {
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
                                                          int n_emitters, std::uint64_t base_seed) {
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
