// CMA-ES updates, each labelled with its equation in Hansen's tutorial (arXiv:1604.00772).
#include "qd/cma_es.h"

#include <lapack.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace lsi::qd {
namespace {

static_assert(std::is_same_v<lapack_int, int>, "eigen_iwork_ assumes 32-bit LAPACK integers");

#ifdef LSI_HAVE_OPENBLAS
extern "C" void openblas_set_num_threads(int n_threads);
#endif

// Pins OpenBLAS to one thread, once per process. OpenBLAS splits its work, and so its rounding,
// by thread count, so without this a seed's run would depend on the core count and on
// OPENBLAS_NUM_THREADS.
void use_single_threaded_lapack() {
#ifdef LSI_HAVE_OPENBLAS
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
#endif
}

// True when every entry is finite: 0 * x is NaN for an infinite or NaN x and +-0 otherwise, and
// the sum is a vectorised reduction, unlike Eigen 3.4's allFinite().
bool all_finite(const Eigen::MatrixXd& matrix) { return (matrix.array() * 0.0).sum() == 0.0; }

}  // namespace

const char* to_string(CmaStopReason reason) {
  switch (reason) {
    case CmaStopReason::kNone:
      return "none";
    case CmaStopReason::kConditionNumber:
      return "condition_number";
    case CmaStopReason::kStepTooSmall:
      return "step_too_small";
    case CmaStopReason::kFlatRanking:
      return "flat_ranking";
    case CmaStopReason::kNonFinite:
      return "non_finite";
  }
  return "invalid";
}

int CmaEs::default_batch_size(int solution_dim) {
  return 4 + static_cast<int>(std::floor(3.0 * std::log(static_cast<double>(solution_dim))));
}

CmaParameters CmaEs::compute_parameters(int solution_dim, int mu) {
  if (solution_dim <= 0 || mu <= 0) {
    throw std::invalid_argument(
        "CmaEs::compute_parameters: solution_dim and mu must be positive, got " +
        std::to_string(solution_dim) + " and " + std::to_string(mu));
  }
  const double n = solution_dim;
  CmaParameters params;

  // Positive recombination weights, normalised to sum to 1.
  params.weights.resize(mu);
  for (int i = 0; i < mu; ++i) {
    params.weights[i] = std::log(mu + 0.5) - std::log(i + 1.0);
  }
  params.weights /= params.weights.sum();
  params.mueff = 1.0 / params.weights.squaredNorm();

  // Learning rates and damping; alpha_mu = 2 turns the rank-mu denominator
  // (n + 2)^2 + alpha_mu * mueff / 2 into (n + 2)^2 + mueff.
  const double mueff = params.mueff;
  params.cc = (4.0 + mueff / n) / (n + 4.0 + 2.0 * mueff / n);
  params.cs = (mueff + 2.0) / (n + mueff + 5.0);
  params.c1 = 2.0 / ((n + 1.3) * (n + 1.3) + mueff);
  params.cmu = std::min(1.0 - params.c1,
                        2.0 * (mueff - 2.0 + 1.0 / mueff) / ((n + 2.0) * (n + 2.0) + mueff));
  params.damps = 1.0 + 2.0 * std::max(0.0, std::sqrt((mueff - 1.0) / (n + 1.0)) - 1.0) + params.cs;
  return params;
}

CmaEs::CmaEs(int solution_dim, int batch_size, double sigma0)
    : n_(solution_dim), lambda_(batch_size), sigma0_(sigma0) {
  if (n_ <= 0) {
    throw std::invalid_argument("CmaEs: solution_dim must be positive, got " + std::to_string(n_));
  }
  if (lambda_ == 0) {
    lambda_ = default_batch_size(n_);
  }
  if (lambda_ < 2) {
    throw std::invalid_argument(
        "CmaEs: batch_size must be at least 2 (or 0 for the default), got " +
        std::to_string(batch_size));
  }
  if (!(sigma0_ > 0.0) || !std::isfinite(sigma0_)) {
    throw std::invalid_argument("CmaEs: sigma0 must be positive and finite, got " +
                                std::to_string(sigma0_));
  }

  // E||N(0, I)|| and the lazy eigendecomposition gap, 0.5 * n * lambda / ((c1 + cmu) * n^2),
  // with the learning rates of the default mu = lambda / 2 (as purecma and pyribs do).
  const double n = n_;
  chiN_ = std::sqrt(n) * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n));
  const CmaParameters default_params = compute_parameters(n_, lambda_ / 2);
  lazy_gap_evals_ = 0.5 * n * lambda_ / ((default_params.c1 + default_params.cmu) * n * n);

  // dsyevd's workspace for eigenvectors: 1 + 6n + 2n^2 doubles and 3 + 5n integers.
  eigen_work_.resize(1 + 6 * static_cast<std::size_t>(n_) + 2 * static_cast<std::size_t>(n_) * n_);
  eigen_iwork_.resize(3 + 5 * static_cast<std::size_t>(n_));

  C_.resize(n_, n_);
  B_.resize(n_, n_);
  BD_.resize(n_, n_);
  reset(Eigen::VectorXd::Zero(n_));
}

void CmaEs::reset(const Eigen::Ref<const Eigen::VectorXd>& x0) {
  if (x0.size() != n_) {
    throw std::invalid_argument("CmaEs::reset: x0 has " + std::to_string(x0.size()) +
                                " entries, expected " + std::to_string(n_));
  }
  mean_ = x0;
  sigma_ = sigma0_;
  pc_ = Eigen::VectorXd::Zero(n_);
  ps_ = Eigen::VectorXd::Zero(n_);

  // C = B = BD = I. setZero() is a vectorised fill, which Identity() is not in Eigen 3.4.
  for (Eigen::MatrixXd* identity : {&C_, &B_, &BD_}) {
    identity->setZero();
    identity->diagonal().setOnes();
  }
  D_ = Eigen::VectorXd::Ones(n_);
  eigensystem_is_identity_ = true;
  counteval_ = 0;
  eigeneval_ = 0;
}

// NOTE: this decomposition takes about 1 ms for n = 128, a fifth of the CPU loop's time at 5 x 30.
// Overlapping it would not help here, where the evaluator keeps every core busy. With the CUDA
// backend the whole search runs on the GPU instead, which decomposes beside the loop
// (kernels/search_eigen_slots_steps.h).
void CmaEs::update_eigensystem() {
  eigeneval_ = counteval_;
  if (!all_finite(C_)) {
    return;  // check_stop() reports kNonFinite; the last decomposition stays in use.
  }

  // Enforce exact symmetry, then clamp eigenvalues to positive before taking square roots;
  // a clamped eigenvalue makes the condition number exceed kMaxConditionNumber.
  // LAPACK's dsyevd (divide and conquer) overwrites its input with the eigenvectors and returns
  // the eigenvalues in ascending order.
  // NOTE: OpenBLAS picks its kernels for the CPU at run time, so one binary can give another
  // run for the same seed on another CPU type. It did under valgrind, which emulates a
  // different CPU than the host's.
  C_ = 0.5 * (C_ + C_.transpose()).eval();
  use_single_threaded_lapack();
  Eigen::MatrixXd& eigenvectors = eigen_scratch_;
  eigenvectors = C_;
  Eigen::VectorXd& eigenvalues = eigenvalues_scratch_;
  eigenvalues.resize(n_);
  const lapack_int n = n_;
  const auto n_work = static_cast<lapack_int>(eigen_work_.size());
  const auto n_iwork = static_cast<lapack_int>(eigen_iwork_.size());
  lapack_int info = 0;
  LAPACK_dsyevd("V", "L", &n, eigenvectors.data(), &n, eigenvalues.data(), eigen_work_.data(),
                &n_work, eigen_iwork_.data(), &n_iwork, &info);
  if (info != 0) {
    return;
  }
  B_.swap(eigenvectors);
  D_ = eigenvalues.cwiseMax(std::numeric_limits<double>::min()).cwiseSqrt();
  BD_ = B_ * D_.asDiagonal();
  eigensystem_is_identity_ = false;
}

void CmaEs::ask(PhiloxStream& stream, RowMatrixXd& solutions) {
  if (static_cast<double>(counteval_ - eigeneval_) > lazy_gap_evals_) {
    update_eigensystem();
  }

  // Eqs. 38-40: z_k ~ N(0, I), y_k = B D z_k, x_k = mean + sigma * y_k. The normal draws fill
  // z row by row, so solution k uses draws k*n .. k*n + n - 1 of the stream.
  // Until the first eigendecomposition after a reset BD = I, and sigma * z is exactly what the
  // product would give.
  z_.resize(lambda_, n_);
  stream.fill_normal(z_.data(), z_.size());
  solutions.resize(lambda_, n_);
  if (eigensystem_is_identity_) {
    solutions.noalias() = sigma_ * z_;
  } else {
    solutions.noalias() = sigma_ * (z_ * BD_.transpose());
  }
  solutions.rowwise() += mean_.transpose();
}

void CmaEs::tell(const Eigen::Ref<const RowMatrixXd>& solutions,
                 const std::vector<int>& parents_best_first) {
  if (solutions.cols() != n_) {
    throw std::invalid_argument("CmaEs::tell: solutions has " + std::to_string(solutions.cols()) +
                                " columns, expected " + std::to_string(n_));
  }
  for (const int index : parents_best_first) {
    if (index < 0 || index >= solutions.rows()) {
      throw std::invalid_argument("CmaEs::tell: parent index " + std::to_string(index) +
                                  " is outside the batch of " + std::to_string(solutions.rows()));
    }
  }
  counteval_ += solutions.rows();
  if (parents_best_first.empty()) {
    return;
  }

  const int mu = static_cast<int>(parents_best_first.size());
  const CmaParameters params = compute_parameters(n_, mu);
  const double mueff = params.mueff;
  const double cc = params.cc;
  const double cs = params.cs;
  const double c1 = params.c1;
  const double cmu = params.cmu;
  const double damps = params.damps;

  // Selected steps y_i = (x_i - mean) / sigma, stored as sqrt(w_i) * y_i for the rank-mu update.
  // Eq. 41: y_w = sum_i w_i y_i.
  weighted_steps_.resize(mu, n_);
  Eigen::VectorXd y_w = Eigen::VectorXd::Zero(n_);
  for (int i = 0; i < mu; ++i) {
    const Eigen::VectorXd y_i = (solutions.row(parents_best_first[i]).transpose() - mean_) / sigma_;
    y_w += params.weights[i] * y_i;
    weighted_steps_.row(i) = std::sqrt(params.weights[i]) * y_i.transpose();
  }

  // Eq. 42: mean <- mean + c_m * sigma * y_w, with c_m = 1.
  mean_ += sigma_ * y_w;

  // Eq. 43: ps <- (1 - cs) ps + sqrt(cs (2 - cs) mueff) C^(-1/2) y_w, with
  // C^(-1/2) y_w = B (D^-1 .* (B^T y_w)): two matrix-vector products per update are cheaper
  // than forming C^(-1/2) = B D^-1 B^T, an n^3 product, at every eigendecomposition.
  Eigen::VectorXd invsqrtC_y_w = y_w;
  if (!eigensystem_is_identity_) {
    invsqrtC_y_w = B_ * (B_.transpose() * y_w).cwiseQuotient(D_);
  }
  ps_ = (1.0 - cs) * ps_ + std::sqrt(cs * (2.0 - cs) * mueff) * invsqrtC_y_w;

  // hsig stalls the pc update while ||ps|| is large, with the tutorial's test
  // ||ps|| / sqrt(1 - (1 - cs)^(2 (g + 1))) < (1.4 + 2 / (n + 1)) chiN, where g + 1 is the
  // number of generations since the last reset, counted in evaluations / lambda.
  const double generations = static_cast<double>(counteval_) / lambda_;
  const double ps_norm = ps_.norm();
  const double ps_bias = std::sqrt(1.0 - std::pow(1.0 - cs, 2.0 * generations));
  const double hsig = (ps_norm / ps_bias < (1.4 + 2.0 / (n_ + 1.0)) * chiN_) ? 1.0 : 0.0;

  // Eq. 45: pc <- (1 - cc) pc + hsig sqrt(cc (2 - cc) mueff) y_w.
  pc_ = (1.0 - cc) * pc_ + hsig * std::sqrt(cc * (2.0 - cc) * mueff) * y_w;

  // Eq. 47, positive weights (sum w_i = 1):
  //   C <- (1 + c1 delta(hsig) - c1 - cmu) C + c1 pc pc^T + cmu sum_i w_i y_i y_i^T,
  // with delta(hsig) = (1 - hsig) cc (2 - cc).
  // NOTE: pyribs's CMA-ES (ribs/emitters/opt/_cma_es.py) differs here: it scales the rank-one
  // term by c1 twice and builds pc from (mean' - mean) without dividing by sigma. We follow the
  // tutorial, because its equations are the ones whose behaviour and invariance are established.
  const double delta_hsig = (1.0 - hsig) * cc * (2.0 - cc);
  C_ *= 1.0 + c1 * delta_hsig - c1 - cmu;
  C_.noalias() += c1 * (pc_ * pc_.transpose());
  C_.noalias() += cmu * (weighted_steps_.transpose() * weighted_steps_);

  // Eq. 44: sigma <- sigma exp((cs / damps) (||ps|| / chiN - 1)).
  sigma_ *= std::exp((cs / damps) * (ps_norm / chiN_ - 1.0));
}

CmaStopReason CmaEs::check_stop(
    const Eigen::Ref<const Eigen::MatrixXd>& ranking_values_sorted) const {
  if (!std::isfinite(sigma_) || !mean_.allFinite() || !all_finite(C_) || !D_.allFinite()) {
    return CmaStopReason::kNonFinite;
  }
  if (condition_number() > kMaxConditionNumber) {
    return CmaStopReason::kConditionNumber;
  }
  if (sigma_ * D_.maxCoeff() < kMinStepSize) {
    return CmaStopReason::kStepTooSmall;
  }

  // As pyribs: the norm of the difference covers rankers with several values per solution.
  const Eigen::Index n_rows = ranking_values_sorted.rows();
  if (n_rows >= 2 && (ranking_values_sorted.row(0) - ranking_values_sorted.row(n_rows - 1)).norm() <
                         kFlatRankingTolerance) {
    return CmaStopReason::kFlatRanking;
  }
  return CmaStopReason::kNone;
}

double CmaEs::condition_number() const {
  const double ratio = D_.maxCoeff() / D_.minCoeff();
  return ratio * ratio;
}

}  // namespace lsi::qd
