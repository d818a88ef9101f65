// Tests of the rankers and the ImprovementEmitter: ranking of hand-made batches, parent
// selection, restarts and determinism.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "qd/add_result.h"
#include "qd/grid_archive.h"
#include "qd/improvement_emitter.h"
#include "qd/ranker.h"

namespace {

using lsi::qd::AddResult;
using lsi::qd::AddStatus;
using lsi::qd::CmaStopReason;
using lsi::qd::GridArchive;
using lsi::qd::ImprovementEmitter;
using lsi::qd::ImprovementEmitterConfig;
using lsi::qd::RankerKind;
using lsi::qd::RowMatrixXd;
using lsi::qd::RowMatrixXf;

AddResult make_add_result(const std::vector<AddStatus>& status, const std::vector<double>& value) {
  return AddResult{status, value};
}

// Seven solutions: two new with equal value 5 (rows 1 and 3), one new with a negative
// objective (row 6), two improvements (rows 2 and 5) and two not added (rows 0 and 4).
AddResult hand_made_batch() {
  constexpr AddStatus kNot = AddStatus::kNotAdded;
  constexpr AddStatus kImp = AddStatus::kImproveExisting;
  constexpr AddStatus kNew = AddStatus::kNew;
  return make_add_result({kNot, kNew, kImp, kNew, kNot, kImp, kNew},
                         {-1.0, 5.0, 0.5, 5.0, -0.2, 3.0, -3.0});
}

GridArchive make_archive(int solution_dim) { return GridArchive(solution_dim, {10}, {{0.0, 1.0}}); }

ImprovementEmitterConfig make_config(int batch_size, RankerKind ranker) {
  ImprovementEmitterConfig config;
  config.sigma0 = 0.5;
  config.batch_size = batch_size;
  config.ranker = ranker;
  return config;
}

}  // namespace

TEST_CASE("ranker names") {
  CHECK(std::string(to_string(RankerKind::kTwoStageImprovement)) == "2imp");
  CHECK(std::string(to_string(RankerKind::kImprovement)) == "imp");
  CHECK(lsi::qd::parse_ranker_kind("2imp") == RankerKind::kTwoStageImprovement);
  CHECK(lsi::qd::parse_ranker_kind("imp") == RankerKind::kImprovement);
  CHECK_THROWS_AS(lsi::qd::parse_ranker_kind("obj"), std::invalid_argument);
}

TEST_CASE("2imp ranks status then value") {
  std::vector<int> order;
  lsi::qd::rank_batch(RankerKind::kTwoStageImprovement, hand_made_batch(), 0, 7, order);
  CHECK(order == std::vector<int>{3, 1, 6, 5, 2, 4, 0});
}

TEST_CASE("imp ranks by value alone") {
  std::vector<int> order;
  lsi::qd::rank_batch(RankerKind::kImprovement, hand_made_batch(), 0, 7, order);
  CHECK(order == std::vector<int>{3, 1, 5, 2, 4, 0, 6});
}

TEST_CASE("rank_batch ranks a slice") {
  // Rows 2..4 of the batch: statuses (imp, new, not) with values (0.5, 5, -0.2).
  std::vector<int> order;
  lsi::qd::rank_batch(RankerKind::kTwoStageImprovement, hand_made_batch(), 2, 3, order);
  CHECK(order == std::vector<int>{1, 0, 2});
  CHECK_THROWS_AS(lsi::qd::rank_batch(RankerKind::kImprovement, hand_made_batch(), 5, 3, order),
                  std::invalid_argument);

  AddResult with_nan = hand_made_batch();
  with_nan.value[4] = std::nan("");
  CHECK_THROWS_AS(lsi::qd::rank_batch(RankerKind::kImprovement, with_nan, 0, 7, order),
                  std::invalid_argument);
}

TEST_CASE("emitter parents in rank order") {
  const GridArchive archive = make_archive(3);
  ImprovementEmitter two_stage(archive, make_config(7, RankerKind::kTwoStageImprovement), 1, 0);
  ImprovementEmitter value_only(archive, make_config(7, RankerKind::kImprovement), 1, 1);
  RowMatrixXf batch(7, 3);

  two_stage.ask(batch);
  two_stage.tell(hand_made_batch(), 0);
  CHECK(two_stage.last_ranking() == std::vector<int>{3, 1, 6, 5, 2, 4, 0});
  CHECK(two_stage.last_parents() == std::vector<int>{3, 1, 6, 5, 2});
  CHECK(two_stage.restarts() == 0);

  value_only.ask(batch);
  value_only.tell(hand_made_batch(), 0);
  CHECK(value_only.last_ranking() == std::vector<int>{3, 1, 5, 2, 4, 0, 6});
  CHECK(value_only.last_parents() == std::vector<int>{3, 1, 5, 2, 6});
  CHECK(value_only.iterations() == 1);
}

TEST_CASE("emitter restarts when no solution enters") {
  // A one-cell archive whose elite has objective 1e6: a batch of small objectives cannot enter.
  GridArchive archive(3, {1}, {{0.0, 1.0}});
  AddResult result;
  const RowMatrixXf elite_solution = (RowMatrixXf(1, 3) << 7.0f, -2.0f, 0.25f).finished();
  archive.add(elite_solution, Eigen::VectorXd::Constant(1, 1e6), RowMatrixXd::Zero(1, 1), 1,
              result);

  ImprovementEmitter emitter(archive, make_config(5, RankerKind::kTwoStageImprovement), 3, 0);
  RowMatrixXf batch(5, 3);
  emitter.ask(batch);
  // Distinct objectives keep the ranking from being flat, so only the no-improvement rule fires.
  const Eigen::VectorXd objectives = (Eigen::VectorXd(5) << 0.0, 1.0, 2.0, 3.0, 4.0).finished();
  archive.add(batch, objectives, RowMatrixXd::Constant(5, 1, 0.5), 2, result);
  emitter.tell(result, 0);

  CHECK(emitter.restarts() == 1);
  CHECK(emitter.last_stop_reason() == CmaStopReason::kNone);
  CHECK(emitter.last_parents().empty());
  CHECK(emitter.cma_es().mean() == elite_solution.row(0).transpose().cast<double>());
  CHECK(emitter.cma_es().sigma() == 0.5);
  CHECK(emitter.cma_es().n_evaluations() == 0);
  CHECK(emitter.cma_es().C().isIdentity());
  CHECK(emitter.cma_es().ps().isZero());
  CHECK(emitter.cma_es().pc().isZero());
}

TEST_CASE("empty archive restarts from x0") {
  const GridArchive archive = make_archive(2);
  ImprovementEmitterConfig config = make_config(4, RankerKind::kTwoStageImprovement);
  config.x0 = Eigen::Vector2d(1.5, -0.5);
  ImprovementEmitter emitter(archive, config, 3, 0);
  RowMatrixXf batch(4, 2);
  emitter.ask(batch);

  const AddStatus kNot = AddStatus::kNotAdded;
  emitter.tell(make_add_result({kNot, kNot, kNot, kNot}, {0.0, -1.0, -2.0, -3.0}), 0);
  CHECK(emitter.restarts() == 1);
  CHECK(emitter.cma_es().mean() == Eigen::Vector2d(1.5, -0.5));
}

TEST_CASE("no restart while solutions enter") {
  const GridArchive archive = make_archive(2);
  ImprovementEmitter emitter(archive, make_config(4, RankerKind::kTwoStageImprovement), 3, 0);
  RowMatrixXf batch(4, 2);
  emitter.ask(batch);

  const AddStatus kNot = AddStatus::kNotAdded;
  emitter.tell(make_add_result({kNot, AddStatus::kNew, kNot, kNot}, {-1.0, 2.0, -0.5, -3.0}), 0);
  CHECK(emitter.restarts() == 0);
  CHECK(emitter.last_parents() == std::vector<int>{1});
  // One parent: the new mean is that parent, up to the rounding of mean + sigma * y_w.
  const Eigen::Vector2d parent = batch.row(1).transpose().cast<double>();
  CHECK((emitter.cma_es().mean() - parent).norm() < 1e-12);
}

TEST_CASE("emitter restarts on a flat ranking") {
  const GridArchive archive = make_archive(2);
  ImprovementEmitter emitter(archive, make_config(4, RankerKind::kTwoStageImprovement), 3, 0);
  RowMatrixXf batch(4, 2);
  emitter.ask(batch);

  const AddStatus kNew = AddStatus::kNew;
  emitter.tell(make_add_result({kNew, kNew, kNew, kNew}, {1.0, 1.0, 1.0, 1.0}), 0);
  CHECK(emitter.restarts() == 1);
  CHECK(emitter.last_stop_reason() == CmaStopReason::kFlatRanking);
}

TEST_CASE("emitter enforces ask then tell") {
  const GridArchive archive = make_archive(2);
  ImprovementEmitter emitter(archive, make_config(4, RankerKind::kTwoStageImprovement), 3, 0);
  RowMatrixXf batch(4, 2);
  const AddResult result = hand_made_batch();
  CHECK_THROWS_AS(emitter.tell(result, 0), std::logic_error);

  RowMatrixXf wrong_shape(3, 2);
  CHECK_THROWS_AS(emitter.ask(wrong_shape), std::invalid_argument);
  emitter.ask(batch);
  CHECK_THROWS_AS(emitter.ask(batch), std::logic_error);
}

TEST_CASE("emitter config is validated") {
  const GridArchive archive = make_archive(3);
  ImprovementEmitterConfig config = make_config(4, RankerKind::kTwoStageImprovement);
  config.x0 = Eigen::Vector2d(0.0, 0.0);
  CHECK_THROWS_AS(ImprovementEmitter(archive, config, 1, 0), std::invalid_argument);
  config.x0 = Eigen::VectorXd::Zero(3);
  config.x0[1] = std::nan("");
  CHECK_THROWS_AS(ImprovementEmitter(archive, config, 1, 0), std::invalid_argument);
  config.x0 = Eigen::VectorXd();
  config.sigma0 = -1.0;
  CHECK_THROWS_AS(ImprovementEmitter(archive, config, 1, 0), std::invalid_argument);
  config.sigma0 = 0.5;
  config.batch_size = 1;
  CHECK_THROWS_AS(ImprovementEmitter(archive, config, 1, 0), std::invalid_argument);
  config.batch_size = 0;
  CHECK(ImprovementEmitter(archive, config, 1, 0).batch_size() == 7);  // 4 + floor(3 ln 3)
}

TEST_CASE("emitter samples follow seed and stream") {
  const GridArchive archive = make_archive(4);
  const ImprovementEmitterConfig config = make_config(6, RankerKind::kTwoStageImprovement);
  const std::vector<ImprovementEmitter> emitters =
      lsi::qd::make_improvement_emitters(archive, config, 3, 42);
  REQUIRE(emitters.size() == 3);

  ImprovementEmitter first = emitters[0];
  ImprovementEmitter second = emitters[1];
  ImprovementEmitter first_again(archive, config, 42, 0);
  RowMatrixXf a(6, 4);
  RowMatrixXf b(6, 4);
  RowMatrixXf c(6, 4);
  first.ask(a);
  second.ask(b);
  first_again.ask(c);
  CHECK(a == c);
  CHECK(a != b);
  CHECK_THROWS_AS(lsi::qd::make_improvement_emitters(archive, config, 0, 42),
                  std::invalid_argument);
}

TEST_CASE("selection and restart rule names") {
  using lsi::qd::RestartRule;
  using lsi::qd::SelectionRule;
  CHECK(std::string(to_string(SelectionRule::kFilter)) == "filter");
  CHECK(std::string(to_string(SelectionRule::kMu)) == "mu");
  CHECK(std::string(to_string(RestartRule::kNoImprovement)) == "no_improvement");
  CHECK(std::string(to_string(RestartRule::kBasic)) == "basic");
  CHECK(lsi::qd::parse_selection_rule("mu") == SelectionRule::kMu);
  CHECK(lsi::qd::parse_selection_rule("filter") == SelectionRule::kFilter);
  CHECK(lsi::qd::parse_restart_rule("basic") == RestartRule::kBasic);
  CHECK(lsi::qd::parse_restart_rule("no_improvement") == RestartRule::kNoImprovement);
  CHECK_THROWS_AS(lsi::qd::parse_selection_rule("all"), std::invalid_argument);
  CHECK_THROWS_AS(lsi::qd::parse_restart_rule("never"), std::invalid_argument);
}

TEST_CASE("mu selection takes the top half") {
  const GridArchive archive = make_archive(3);
  ImprovementEmitterConfig config = make_config(7, RankerKind::kTwoStageImprovement);
  config.selection_rule = lsi::qd::SelectionRule::kMu;
  ImprovementEmitter emitter(archive, config, 1, 0);
  RowMatrixXf batch(7, 3);
  emitter.ask(batch);
  emitter.tell(hand_made_batch(), 0);
  CHECK(emitter.last_parents() == std::vector<int>{3, 1, 6});
}

TEST_CASE("basic restart rule ignores no improvement") {
  const GridArchive archive = make_archive(2);
  ImprovementEmitterConfig config = make_config(4, RankerKind::kTwoStageImprovement);
  config.selection_rule = lsi::qd::SelectionRule::kMu;
  config.restart_rule = lsi::qd::RestartRule::kBasic;
  ImprovementEmitter emitter(archive, config, 3, 0);
  RowMatrixXf batch(4, 2);
  emitter.ask(batch);

  const AddStatus kNot = AddStatus::kNotAdded;
  emitter.tell(make_add_result({kNot, kNot, kNot, kNot}, {0.0, -1.0, -2.0, -3.0}), 0);
  CHECK(emitter.restarts() == 0);
  CHECK(emitter.last_parents() == std::vector<int>{0, 1});
  CHECK(emitter.cma_es().n_evaluations() == 4);
}
