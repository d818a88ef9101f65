// Tests of CmaEs on its own: strategy parameters, sampling, stop tests and convergence on the
// standard 10-D benchmark functions.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <vector>

#include "qd/cma_es.h"
#include "qd/philox.h"

namespace {

using lsi::qd::CmaEs;
using lsi::qd::CmaStopReason;
using lsi::qd::PhiloxStream;
using lsi::qd::RowMatrixXd;

using Objective = std::function<double(const Eigen::VectorXd&)>;

double sphere(const Eigen::VectorXd& x) { return x.squaredNorm(); }

double rosenbrock(const Eigen::VectorXd& x) {
  double sum = 0.0;
  for (Eigen::Index i = 0; i + 1 < x.size(); ++i) {
    const double valley = x[i + 1] - x[i] * x[i];
    const double offset = 1.0 - x[i];
    sum += 100.0 * valley * valley + offset * offset;
  }
  return sum;
}

// Axis-parallel ellipsoid with condition number 1e6: coefficients 10^(6 i / (n - 1)).
double ellipsoid(const Eigen::VectorXd& x) {
  const auto n = static_cast<double>(x.size());
  double sum = 0.0;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    sum += std::pow(10.0, 6.0 * static_cast<double>(i) / (n - 1.0)) * x[i] * x[i];
  }
  return sum;
}

struct MinimizationRun {
  std::int64_t evaluations = 0;
  double best_f = 0.0;
  CmaStopReason stop = CmaStopReason::kNone;
};

// Minimises f from mean x0 with the default population, mu = lambda / 2 parents, until the best
// value drops below target_f, a stop test fires or max_evaluations is reached.
MinimizationRun minimize(const Objective& f, const Eigen::VectorXd& x0, double sigma0,
                         std::uint64_t seed, double target_f, std::int64_t max_evaluations) {
  CmaEs es(static_cast<int>(x0.size()), 0, sigma0);
  es.reset(x0);
  PhiloxStream stream(seed, 0);
  RowMatrixXd solutions;
  MinimizationRun run;
  run.best_f = std::numeric_limits<double>::infinity();

  while (run.evaluations < max_evaluations) {
    es.ask(stream, solutions);
    const auto lambda = static_cast<int>(solutions.rows());
    Eigen::VectorXd values(lambda);
    for (int k = 0; k < lambda; ++k) {
      values[k] = f(solutions.row(k).transpose());
    }
    run.evaluations += lambda;
    run.best_f = std::min(run.best_f, values.minCoeff());
    if (run.best_f < target_f) {
      break;
    }

    std::vector<int> order(lambda);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return values[a] < values[b]; });
    es.tell(solutions, std::vector<int>(order.begin(), order.begin() + lambda / 2));

    Eigen::MatrixXd sorted_values(lambda, 1);
    for (int k = 0; k < lambda; ++k) {
      sorted_values(k, 0) = values[order[k]];
    }
    run.stop = es.check_stop(sorted_values);
    if (run.stop != CmaStopReason::kNone) {
      break;
    }
  }
  return run;
}

constexpr double kTargetF = 1e-8;
constexpr int kSeeds = 20;

}  // namespace

TEST_CASE("CmaStopReason to_string") {
  CHECK(std::string(to_string(CmaStopReason::kNone)) == "none");
  CHECK(std::string(to_string(CmaStopReason::kConditionNumber)) == "condition_number");
  CHECK(std::string(to_string(CmaStopReason::kStepTooSmall)) == "step_too_small");
  CHECK(std::string(to_string(CmaStopReason::kFlatRanking)) == "flat_ranking");
  CHECK(std::string(to_string(CmaStopReason::kNonFinite)) == "non_finite");
}

TEST_CASE("default parameters for n = 10") {
  CHECK(CmaEs::default_batch_size(10) == 10);
  CHECK(CmaEs::default_batch_size(100) == 17);
  CHECK(CmaEs::default_batch_size(128) == 18);

  // Reference values from the same formulas evaluated independently in Python for n = 10,
  // mu = 5, printed to 10 significant digits, hence the relative tolerance of 1e-8.
  const lsi::qd::CmaParameters params = CmaEs::compute_parameters(10, 5);
  REQUIRE(params.weights.size() == 5);
  CHECK(params.weights.sum() == doctest::Approx(1.0).epsilon(1e-15));
  for (int i = 0; i + 1 < 5; ++i) {
    CHECK(params.weights[i] > params.weights[i + 1]);
  }
  CHECK(params.weights[0] == doctest::Approx(0.4562726469).epsilon(1e-8));
  CHECK(params.mueff == doctest::Approx(3.167299281).epsilon(1e-8));
  CHECK(params.cc == doctest::Approx(0.294990383).epsilon(1e-8));
  CHECK(params.cs == doctest::Approx(0.2844285879).epsilon(1e-8));
  CHECK(params.c1 == doctest::Approx(0.01528382452).epsilon(1e-8));
  CHECK(params.cmu == doctest::Approx(0.02015428276).epsilon(1e-8));
  CHECK(params.damps == doctest::Approx(1.284428588).epsilon(1e-8));
}

TEST_CASE("parameters for a single parent") {
  const lsi::qd::CmaParameters params = CmaEs::compute_parameters(128, 1);
  CHECK(params.weights[0] == 1.0);
  CHECK(params.mueff == 1.0);
  CHECK(params.cmu == 0.0);
  CHECK_THROWS_AS(CmaEs::compute_parameters(128, 0), std::invalid_argument);
}

TEST_CASE("constructor validates its arguments") {
  CHECK_THROWS_AS(CmaEs(0, 10, 0.5), std::invalid_argument);
  CHECK_THROWS_AS(CmaEs(10, 1, 0.5), std::invalid_argument);
  CHECK_THROWS_AS(CmaEs(10, 10, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(CmaEs(10, 10, std::nan("")), std::invalid_argument);
  CmaEs es(10, 0, 0.5);
  CHECK(es.batch_size() == 10);
  CHECK_THROWS_AS(es.reset(Eigen::VectorXd::Zero(9)), std::invalid_argument);
}

TEST_CASE("lazy eigendecomposition gap") {
  // 0.5 * n * lambda / ((c1 + cmu) * n^2) with the learning rates of mu = lambda / 2.
  const CmaEs es(10, 10, 0.5);
  const lsi::qd::CmaParameters params = CmaEs::compute_parameters(10, 5);
  CHECK(es.lazy_gap_evals() ==
        doctest::Approx(0.5 * 10 * 10 / ((params.c1 + params.cmu) * 100)).epsilon(1e-12));
}

TEST_CASE("samples have the requested mean and spread") {
  // With C = I, every coordinate is N(mean_i, sigma^2). 20,000 draws per coordinate give a
  // standard error of 2 / sqrt(20,000) = 0.014 for the mean and about 0.04 for the variance.
  CmaEs es(3, 2000, 2.0);
  es.reset(Eigen::Vector3d(3.0, -1.0, 0.5));
  PhiloxStream stream(21, 0);
  RowMatrixXd solutions;
  Eigen::Vector3d sum = Eigen::Vector3d::Zero();
  Eigen::Vector3d sum_squares = Eigen::Vector3d::Zero();
  const int n_batches = 10;
  for (int b = 0; b < n_batches; ++b) {
    es.ask(stream, solutions);
    REQUIRE(solutions.rows() == 2000);
    REQUIRE(solutions.cols() == 3);
    sum += solutions.colwise().sum().transpose();
    sum_squares += solutions.cwiseProduct(solutions).colwise().sum().transpose();
  }
  const double n_draws = 2000.0 * n_batches;
  const Eigen::Vector3d mean = sum / n_draws;
  const Eigen::Vector3d variance = sum_squares / n_draws - mean.cwiseProduct(mean);
  CHECK(std::abs(mean[0] - 3.0) < 0.07);
  CHECK(std::abs(mean[1] + 1.0) < 0.07);
  CHECK(std::abs(mean[2] - 0.5) < 0.07);
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(std::abs(variance[i] - 4.0) < 0.2);
  }
}

TEST_CASE("same seed gives the same samples") {
  CmaEs a(5, 0, 0.3);
  CmaEs b(5, 0, 0.3);
  PhiloxStream stream_a(9, 2);
  PhiloxStream stream_b(9, 2);
  PhiloxStream stream_c(9, 3);
  RowMatrixXd xa;
  RowMatrixXd xb;
  RowMatrixXd xc;
  a.ask(stream_a, xa);
  b.ask(stream_b, xb);
  b.ask(stream_c, xc);
  CHECK(xa == xb);
  CHECK(xa != xc);
}

TEST_CASE("tell validates parents and counts evaluations") {
  CmaEs es(4, 6, 0.5);
  PhiloxStream stream(1, 0);
  RowMatrixXd solutions;
  es.ask(stream, solutions);
  CHECK_THROWS_AS(es.tell(solutions, {6}), std::invalid_argument);
  CHECK_THROWS_AS(es.tell(solutions, {-1}), std::invalid_argument);
  CHECK_THROWS_AS(es.tell(RowMatrixXd::Zero(6, 3), {0}), std::invalid_argument);

  // No parents: only the evaluation count moves.
  const Eigen::VectorXd mean_before = es.mean();
  es.tell(solutions, {});
  CHECK(es.n_evaluations() == 6);
  CHECK(es.mean() == mean_before);
  CHECK(es.sigma() == 0.5);

  // One parent at mean + sigma * e_0 moves the mean there.
  RowMatrixXd batch = RowMatrixXd::Zero(6, 4);
  batch(2, 0) = 0.5;
  es.tell(batch, {2});
  CHECK(es.n_evaluations() == 12);
  CHECK(es.mean()[0] == doctest::Approx(0.5));
  CHECK(es.mean().tail(3).isZero());
  CHECK(es.C().isApprox(es.C().transpose()));
}

TEST_CASE("flat ranking stops") {
  const CmaEs es(4, 6, 0.5);
  Eigen::MatrixXd values(6, 2);
  values.col(0).setConstant(2.0);
  values.col(1).setConstant(-0.25);
  CHECK(es.check_stop(values) == CmaStopReason::kFlatRanking);

  values(5, 1) = -0.3;
  CHECK(es.check_stop(values) == CmaStopReason::kNone);

  // A single solution cannot be flat.
  CHECK(es.check_stop(Eigen::MatrixXd::Zero(1, 1)) == CmaStopReason::kNone);
}

TEST_CASE("non-finite C stops") {
  // Two parents along e_0 whose weighted steps cancel exactly, w_0 y_0 = -w_1 y_1 with y_1 a
  // power of two, so mean, ps and sigma stay finite while the rank-mu term w_i y_i^2 overflows
  // C(0, 0). The search for y_0 makes the rounded product w_0 y_0 exactly w_1 2^520.
  CmaEs es(2, 4, 1.0);
  const lsi::qd::CmaParameters params = CmaEs::compute_parameters(2, 2);
  const double w0 = params.weights[0];
  const double target = std::ldexp(params.weights[1], 520);
  double y0 = target / w0;
  for (int step = 0; step < 16 && w0 * y0 != target; ++step) {
    y0 = std::nextafter(y0, w0 * y0 < target ? HUGE_VAL : 0.0);
  }
  REQUIRE(w0 * y0 == target);
  RowMatrixXd batch = RowMatrixXd::Zero(4, 2);
  batch(0, 0) = y0;
  batch(1, 0) = -std::ldexp(1.0, 520);
  es.tell(batch, {0, 1});

  REQUIRE(std::isfinite(es.sigma()));
  REQUIRE(es.mean().allFinite());
  CHECK(std::isinf(es.C()(0, 0)));
  CHECK(es.check_stop(Eigen::MatrixXd::Identity(4, 1)) == CmaStopReason::kNonFinite);
}

TEST_CASE("eigensystem reconstructs C") {
  // Run until an ask() decomposes C, seen as a change of B, and check that decomposition: B is
  // orthonormal, D ascending and B diag(D)^2 B^T equal to C, within 1e-13 (about 50 n eps).
  CmaEs es(8, 10, 0.5);
  PhiloxStream stream(31, 0);
  RowMatrixXd solutions;
  int n_decompositions = 0;
  while (n_decompositions < 3 && es.n_evaluations() < 10000) {
    const Eigen::MatrixXd B_before = es.B();
    es.ask(stream, solutions);
    n_decompositions += es.B() != B_before ? 1 : 0;
    es.tell(solutions, {0, 1, 2, 3, 4});
  }
  REQUIRE(n_decompositions == 3);

  // tell() changed C after the decomposition, so decompose it again for the comparison.
  const Eigen::MatrixXd B_before = es.B();
  while (es.B() == B_before && es.n_evaluations() < 20000) {
    es.ask(stream, solutions);
    if (es.B() == B_before) {
      es.tell(solutions, {0, 1, 2, 3, 4});
    }
  }
  REQUIRE(es.B() != B_before);
  const Eigen::MatrixXd& C = es.C();
  const Eigen::MatrixXd& B = es.B();
  const Eigen::VectorXd& D = es.D();
  const Eigen::MatrixXd identity = Eigen::MatrixXd::Identity(8, 8);
  CHECK((B.transpose() * B - identity).cwiseAbs().maxCoeff() < 1e-13);
  const Eigen::MatrixXd reconstructed = B * D.cwiseAbs2().asDiagonal() * B.transpose();
  CHECK((reconstructed - C).cwiseAbs().maxCoeff() < 1e-13 * C.cwiseAbs().maxCoeff());
  for (Eigen::Index i = 0; i + 1 < D.size(); ++i) {
    CAPTURE(i);
    CHECK(D[i] <= D[i + 1]);
  }
}

TEST_CASE("tiny step size stops") {
  CmaEs es(4, 6, 1e-12);
  CHECK(es.check_stop(Eigen::MatrixXd::Identity(6, 1)) == CmaStopReason::kStepTooSmall);
}

TEST_CASE("ill-conditioned C stops") {
  // Drive a 2-D CMA-ES with two parents along e_0 whose weighted mean step is zero, so the mean
  // and ps stay put. The rank-mu term keeps inflating C along e_0 while C shrinks along e_1 by
  // (1 - c1 - cmu) per generation, until the condition number passes 1e14.
  CmaEs es(2, 4, 1.0);
  const lsi::qd::CmaParameters params = CmaEs::compute_parameters(2, 2);
  const double step = 1e4;
  const Eigen::MatrixXd flat_free = (Eigen::MatrixXd(4, 1) << 3.0, 2.0, 1.0, 0.0).finished();
  PhiloxStream stream(3, 0);
  RowMatrixXd unused;

  CmaStopReason reason = CmaStopReason::kNone;
  int generation = 0;
  for (; generation < 1000 && reason == CmaStopReason::kNone; ++generation) {
    es.ask(stream, unused);  // triggers the lazy eigendecomposition
    RowMatrixXd batch = RowMatrixXd::Zero(4, 2);
    batch.row(0) = es.mean().transpose();
    batch.row(1) = es.mean().transpose();
    batch(0, 0) += es.sigma() * step;
    batch(1, 0) -= es.sigma() * step * params.weights[0] / params.weights[1];
    es.tell(batch, {0, 1});
    reason = es.check_stop(flat_free);
  }
  CAPTURE(generation);
  CHECK(reason == CmaStopReason::kConditionNumber);
  CHECK(es.condition_number() > CmaEs::kMaxConditionNumber);
}

// Convergence from the usual starts to f < 1e-8 with the default lambda = 10 and mu = 5.
// Bounds: 2,000 evaluations for the sphere and 10,000 for Rosenbrock, the upper ends of the
// ranges usually quoted for CMA-ES with default population in 10-D. No exact published table
// backs them, so they are orders of magnitude, not reproduced figures. The ellipsoid bound of
// 10,000 is ours. Measured with this code over seeds 1-20 (2-core x86-64):
// sphere 1,200-1,550, Rosenbrock 5,290-6,420, ellipsoid 5,390-6,290 evaluations. The lower
// bounds guard against a test that passes because f or the count is wrong.
TEST_CASE("10-D sphere converges") {
  for (int seed = 1; seed <= kSeeds; ++seed) {
    CAPTURE(seed);
    const MinimizationRun run =
        minimize(sphere, Eigen::VectorXd::Ones(10), 0.5, seed, kTargetF, 100000);
    CHECK(run.best_f < kTargetF);
    CHECK(run.evaluations <= 2000);
    CHECK(run.evaluations >= 500);
  }
}

TEST_CASE("10-D Rosenbrock converges") {
  for (int seed = 1; seed <= kSeeds; ++seed) {
    CAPTURE(seed);
    const MinimizationRun run =
        minimize(rosenbrock, Eigen::VectorXd::Constant(10, 0.1), 0.1, seed, kTargetF, 100000);
    CHECK(run.best_f < kTargetF);
    CHECK(run.evaluations <= 10000);
    CHECK(run.evaluations >= 2000);
  }
}

TEST_CASE("10-D ellipsoid converges") {
  for (int seed = 1; seed <= kSeeds; ++seed) {
    CAPTURE(seed);
    const MinimizationRun run =
        minimize(ellipsoid, Eigen::VectorXd::Ones(10), 0.5, seed, kTargetF, 100000);
    CHECK(run.best_f < kTargetF);
    CHECK(run.evaluations <= 10000);
    CHECK(run.evaluations >= 2000);
  }
}
