// ImprovementEmitter: the CMA-ES emitter of CMA-ME (Fontaine et al. 2020), with the semantics
// of pyribs's EvolutionStrategyEmitter and no solution bounds.
//
// Each tell() ranks the emitter's batch by its add statuses and values and updates CMA-ES with
// the selected parents in rank order. With the defaults (pyribs's selection_rule="filter" and
// restart_rule="no_improvement") the parents are the solutions that entered the archive
// (status > 0), and CMA-ES restarts when none entered or when a CMA-ES stop test fires. A
// restart draws the new mean uniformly from the archive's elites (x0 while the archive is
// empty) and resets sigma, C and the paths.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include "qd/add_result.h"
#include "qd/cma_es.h"
#include "qd/grid_archive.h"
#include "qd/matrix_types.h"
#include "qd/philox.h"
#include "qd/ranker.h"

namespace lsi::qd {

// Parent selection, as pyribs's selection_rule.
enum class SelectionRule {
  kFilter,  // "filter": the solutions that entered the archive
  kMu,      // "mu": the best batch_size / 2 solutions of the ranking
};

// Restart rule besides the CMA-ES stop tests, as pyribs's restart_rule.
enum class RestartRule {
  kNoImprovement,  // "no_improvement": also restart when no solution of the batch entered
  kBasic,          // "basic": restart on the CMA-ES stop tests only
};

// Return pyribs's names: "filter", "mu", "no_improvement" and "basic".
const char* to_string(SelectionRule rule);
const char* to_string(RestartRule rule);

// Parse pyribs's names; throw std::invalid_argument on any other name.
SelectionRule parse_selection_rule(const std::string& name);
RestartRule parse_restart_rule(const std::string& name);

struct ImprovementEmitterConfig {
  Eigen::VectorXd x0;  // (S,) initial mean; empty selects zeros
  double sigma0 = 0.5;
  int batch_size = 0;  // lambda; 0 selects CMA-ES's default 4 + floor(3 ln S)
  RankerKind ranker = RankerKind::kTwoStageImprovement;
  SelectionRule selection_rule = SelectionRule::kFilter;
  RestartRule restart_rule = RestartRule::kNoImprovement;
};

class ImprovementEmitter {
 public:
  // Creates an emitter that draws its restart means from archive, so archive must outlive it.
  // Its random stream is PhiloxStream(seed, stream_id), so emitters that share a seed need
  // distinct stream ids. Throws std::invalid_argument on a bad config.
  ImprovementEmitter(const GridArchive& archive, const ImprovementEmitterConfig& config,
                     std::uint64_t seed, std::uint64_t stream_id);

  // Samples the next batch into out (batch_size x S). The float values written are also the
  // values passed to CMA-ES's tell(), so the update uses exactly the latents that were evaluated.
  void ask(Eigen::Ref<RowMatrixXf> out);

  // Takes the archive's verdict on the batch of the last ask(), found in rows
  // [first_row, first_row + batch_size) of add_result, and updates or restarts CMA-ES.
  // Throws std::logic_error when no ask() precedes it.
  void tell(const AddResult& add_result, std::int64_t first_row);

  int batch_size() const { return cma_es_.batch_size(); }
  int solution_dim() const { return cma_es_.solution_dim(); }
  const GridArchive& archive() const { return *archive_; }
  const CmaEs& cma_es() const { return cma_es_; }
  const PhiloxStream& stream() const { return stream_; }
  const Eigen::VectorXd& x0() const { return x0_; }
  RankerKind ranker() const { return ranker_; }
  SelectionRule selection_rule() const { return selection_rule_; }
  RestartRule restart_rule() const { return restart_rule_; }

  std::int64_t restarts() const { return restarts_; }
  std::int64_t iterations() const { return iterations_; }

  // The CMA-ES stop test that caused the last restart. It is kNone when the last restart came
  // from the no-improvement rule or no restart has happened.
  CmaStopReason last_stop_reason() const { return last_stop_reason_; }

  // Batch indices of the last tell(), best first, and the parents CMA-ES was updated with.
  const std::vector<int>& last_ranking() const { return ranking_; }
  const std::vector<int>& last_parents() const { return parents_; }

 private:
  void restart();

  const GridArchive* archive_;
  Eigen::VectorXd x0_;
  RankerKind ranker_;
  SelectionRule selection_rule_;
  RestartRule restart_rule_;
  CmaEs cma_es_;
  PhiloxStream stream_;
  std::int64_t restarts_ = 0;
  std::int64_t iterations_ = 0;
  CmaStopReason last_stop_reason_ = CmaStopReason::kNone;
  bool awaiting_tell_ = false;

  RowMatrixXd samples_;             // (lambda x S) the last batch, rounded to float precision
  std::vector<int> ranking_;        // (lambda,)
  std::vector<int> parents_;        // (n_parents,)
  Eigen::MatrixXd ranking_values_;  // (lambda x k) ranking values in rank order
};

// Builds n_emitters emitters that share one config and base seed, with stream ids 0..n-1.
std::vector<ImprovementEmitter> make_improvement_emitters(const GridArchive& archive,
                                                          const ImprovementEmitterConfig& config,
                                                          int n_emitters, std::uint64_t base_seed);

}  // namespace lsi::qd
