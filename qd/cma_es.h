// CMA-ES with a parent count that may change on every update, as CMA-ME's emitters need.
//
// Written against N. Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772; each
// update in cma_es.cpp names the tutorial equation it implements, and the symbols (mean, sigma,
// pc, ps, C, B, D, mueff, cc, cs, c1, cmu, damps, chiN) are the tutorial's. The state is kept in
// double precision. Shapes: n is the solution size, lambda the batch size (population).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "qd/matrix_types.h"
#include "qd/philox.h"

namespace lsi::qd {

// Reason returned by check_stop() for a restart. The tolerances are pyribs's CMA-ES defaults.
enum class CmaStopReason {
  kNone,
  kConditionNumber,  // max/min eigenvalue of C above 1e14
  kStepTooSmall,     // sigma * sqrt(max eigenvalue of C) below 1e-11
  kFlatRanking,      // best and worst ranking values of the batch closer than 1e-12
  kNonFinite,        // sigma, mean or C contains a NaN or an infinity
};

// Returns "none", "condition_number", "step_too_small", "flat_ranking" or "non_finite".
const char* to_string(CmaStopReason reason);

// Recombination weights and learning rates for a given solution size and parent count.
struct CmaParameters {
  Eigen::VectorXd weights;  // (mu,) positive, decreasing, summing to 1
  double mueff = 0.0;
  double cc = 0.0;
  double cs = 0.0;
  double c1 = 0.0;
  double cmu = 0.0;
  double damps = 0.0;
};

class CmaEs {
 public:
  static constexpr double kMaxConditionNumber = 1e14;
  static constexpr double kMinStepSize = 1e-11;
  static constexpr double kFlatRankingTolerance = 1e-12;

  // Returns the tutorial's default population size 4 + floor(3 ln n).
  static int default_batch_size(int solution_dim);

  // Computes the tutorial's default weights and learning rates for mu parents, with
  // alpha_mu = 2 and positive weights only: w_i = ln(mu + 1/2) - ln(i), normalised.
  static CmaParameters compute_parameters(int solution_dim, int mu);

  // batch_size 0 selects default_batch_size(solution_dim); otherwise it must be at least 2.
  // The state starts at mean 0; call reset() to start elsewhere.
  CmaEs(int solution_dim, int batch_size, double sigma0);

  // Restarts from mean x0 (n,) with sigma0, C = I, zero evolution paths and zero evaluations.
  void reset(const Eigen::Ref<const Eigen::VectorXd>& x0);

  // Samples lambda solutions x = mean + sigma * B * (D .* z), z standard normal, as one
  // (lambda x n) matrix product. Updates the eigendecomposition of C first when more than
  // lazy_gap_evals() evaluations have passed since the last one. The decomposition is LAPACK's
  // dsyevd; when that comes from OpenBLAS, the first one sets OpenBLAS to one thread for the
  // whole process.
  //   solutions (lambda x n), resized if needed
  void ask(PhiloxStream& stream, RowMatrixXd& solutions);

  // Updates the distribution from one evaluated batch, with weights and learning rates
  // recomputed for the number of parents. As in pyribs (ribs/emitters/opt/_cma_es.py), mueff,
  // cc, cs, c1, cmu and damps all follow the parent count, and the population size lambda only
  // enters the hsig test (through the generation count evaluations / lambda) and the lazy
  // eigendecomposition gap.
  //   solutions           (lambda' x n) the batch, whose lambda' rows count as evaluations
  //   parents_best_first  row indices of the selected parents, best first. When it is empty,
  //                       only the evaluation count changes.
  void tell(const Eigen::Ref<const RowMatrixXd>& solutions,
            const std::vector<int>& parents_best_first);

  // Checks the restart conditions after tell().
  //   ranking_values_sorted  (lambda' x k) the batch's ranking values in rank order. The
  //                          flat-ranking test compares the first and last rows.
  CmaStopReason check_stop(const Eigen::Ref<const Eigen::MatrixXd>& ranking_values_sorted) const;

  int solution_dim() const { return n_; }
  int batch_size() const { return lambda_; }
  double sigma0() const { return sigma0_; }
  double lazy_gap_evals() const { return lazy_gap_evals_; }
  std::int64_t n_evaluations() const { return counteval_; }
  // n_evaluations() at the last eigendecomposition (or attempt, when C was not finite).
  std::int64_t eigen_evaluations() const { return eigeneval_; }
  // True from a reset until the first eigendecomposition, while B = I and D = 1.
  bool eigensystem_is_identity() const { return eigensystem_is_identity_; }
  double chiN() const { return chiN_; }

  const Eigen::VectorXd& mean() const { return mean_; }
  double sigma() const { return sigma_; }
  const Eigen::MatrixXd& C() const { return C_; }
  const Eigen::MatrixXd& B() const { return B_; }
  const Eigen::VectorXd& D() const { return D_; }
  const Eigen::VectorXd& pc() const { return pc_; }
  const Eigen::VectorXd& ps() const { return ps_; }

  // Condition number of C at the last eigendecomposition.
  double condition_number() const;

 private:
  void update_eigensystem();

  int n_;
  int lambda_;
  double sigma0_;
  double chiN_;            // E||N(0, I)||
  double lazy_gap_evals_;  // evaluations between eigendecompositions

  Eigen::VectorXd mean_;
  double sigma_ = 0.0;
  Eigen::VectorXd pc_;
  Eigen::VectorXd ps_;
  Eigen::MatrixXd C_;
  Eigen::MatrixXd B_;   // eigenvectors of C, one per column
  Eigen::VectorXd D_;   // square roots of the eigenvalues of C, ascending
  Eigen::MatrixXd BD_;  // B * diag(D), the sampling transform
  // True from a reset until the first eigendecomposition, while B = BD = I and D = 1, so that
  // ask() and tell() can skip their products with B.
  bool eigensystem_is_identity_ = true;
  std::int64_t counteval_ = 0;
  std::int64_t eigeneval_ = 0;  // counteval_ at the last eigendecomposition

  // Scratch reused across calls.
  Eigen::MatrixXd eigen_scratch_;        // (n x n) dsyevd's input, then its eigenvectors
  Eigen::VectorXd eigenvalues_scratch_;  // (n,)
  std::vector<double> eigen_work_;       // dsyevd's workspace
  std::vector<int> eigen_iwork_;         // dsyevd's integer workspace
  RowMatrixXd z_;               // (lambda x n) standard normal draws
  RowMatrixXd weighted_steps_;  // (mu x n) rows sqrt(w_i) * y_i for the rank-mu update
};

}  // namespace lsi::qd
