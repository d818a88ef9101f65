// Test matrices and checks for the device eigendecomposition (kernels/search_eigen_steps.h),
// shared by its emulation test and its GPU test. The reference is LAPACK's dsyevd, called as
// CmaEs::update_eigensystem calls it.
//
// Dimension letters: E emitters, n solution size.
#pragma once

#include <doctest/doctest.h>
#include <lapack.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/search_eigen_steps.h"

namespace lsi_test {

using lsi::search::EigenView;

// Tolerances against dsyevd. Both methods are backward stable, so each eigenvalue is within a
// small multiple of n * DBL_EPSILON * max |eigenvalue| (about 3e-14 at n = 128) of the exact
// one; 1e-12 leaves a margin of 30 over that and still catches a wrong rotation or ordering,
// whose errors are of the size of the matrix entries.
constexpr double kEigenvalueTolerance = 1e-12;  // |D_k^2 - lambda_k| / max |lambda|
// ||B diag(D^2) B^T - C||_F / ||C||_F and max |B^T B - I|: the same bound, for the rounding of
// up to 20 sweeps of rotations, each entry rotated n - 1 times per sweep.
constexpr double kReconstructionTolerance = 1e-12;
constexpr double kOrthogonalityTolerance = 1e-12;

// One batch of E emitters in host memory, laid out as EigenView expects.
struct EigenBatch {
  int n = 0;
  int n_emitters = 0;
  std::vector<int> due;             // (E)
  std::vector<double> C;            // (E x n x n)
  std::vector<double> B;            // (E x n x n)
  std::vector<double> D;            // (E x n)
  std::vector<int> eigen_identity;  // (E)
  std::vector<int> n_sweeps;        // (E)

  EigenBatch(int n_in, int n_emitters_in)
      : n(n_in),
        n_emitters(n_emitters_in),
        due(n_emitters_in, 1),
        C(static_cast<size_t>(n_emitters_in) * n_in * n_in, 0.0),
        B(static_cast<size_t>(n_emitters_in) * n_in * n_in, 0.0),
        D(static_cast<size_t>(n_emitters_in) * n_in, 1.0),
        eigen_identity(n_emitters_in, 1),
        n_sweeps(n_emitters_in, 0) {
    for (int e = 0; e < n_emitters; ++e) {
      for (int i = 0; i < n; ++i) B[matrix_offset(e) + i + i * n] = 1.0;
    }
  }

  size_t matrix_offset(int e) const { return static_cast<size_t>(e) * n * n; }
  double* C_of(int e) { return C.data() + matrix_offset(e); }
  double* B_of(int e) { return B.data() + matrix_offset(e); }
  double* D_of(int e) { return D.data() + static_cast<size_t>(e) * n; }

  EigenView view() {
    EigenView v;
    v.n = n;
    v.n_emitters = n_emitters;
    v.due = due.data();
    v.C = C.data();
    v.B = B.data();
    v.D = D.data();
    v.eigen_identity = eigen_identity.data();
    v.n_sweeps = n_sweeps.data();
    return v;
  }
};

// Runs decompose_due on a batch's host arrays, through one executor or another (the GPU one
// copies them to the device and back).
using EigenRunner = std::function<void(EigenBatch&)>;

// LAPACK's dsyevd on a copy of the (n x n) column-major matrix a: the ascending eigenvalues, and
// the eigenvectors in *vectors when it is not null.
inline std::vector<double> lapack_eigen(int n, const std::vector<double>& a,
                                        std::vector<double>* vectors = nullptr) {
  std::vector<double> work_matrix = a;
  std::vector<double> eigenvalues(n);
  std::vector<double> work(1 + 6 * static_cast<size_t>(n) + 2 * static_cast<size_t>(n) * n);
  std::vector<int> iwork(3 + 5 * static_cast<size_t>(n));
  const int n_work = static_cast<int>(work.size());
  const int n_iwork = static_cast<int>(iwork.size());
  int info = 0;
  LAPACK_dsyevd("V", "L", &n, work_matrix.data(), &n, eigenvalues.data(), work.data(), &n_work,
                iwork.data(), &n_iwork, &info);
  REQUIRE(info == 0);
  if (vectors != nullptr) *vectors = work_matrix;
  return eigenvalues;
}

// (C + C^T) / 2 with the expression CmaEs uses.
inline std::vector<double> symmetrised(int n, const double* c) {
  std::vector<double> out(static_cast<size_t>(n) * n);
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < n; ++i) out[i + j * n] = 0.5 * (c[i + j * n] + c[j + i * n]);
  }
  return out;
}

// A random orthogonal (n x n) matrix: the eigenvectors of a random symmetric one.
inline std::vector<double> random_orthogonal(int n, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  std::vector<double> g(static_cast<size_t>(n) * n);
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i <= j; ++i) g[i + j * n] = g[j + i * n] = normal(rng);
  }
  std::vector<double> q;
  lapack_eigen(n, g, &q);
  return q;
}

// Q diag(lambda) Q^T, summed so that entries (i, j) and (j, i) round differently, as CmaEs's C
// after its updates is symmetric only up to rounding.
inline void write_spectral(int n, const std::vector<double>& q, const std::vector<double>& lambda,
                           double* c) {
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < n; ++i) {
      double sum = 0.0;
      for (int k = 0; k < n; ++k) sum += (q[i + k * n] * lambda[k]) * q[j + k * n];
      c[i + j * n] = sum;
    }
  }
}

// A random SPD matrix G G^T / n + 0.1 I, with G Gaussian.
inline void write_random_spd(int n, std::mt19937_64& rng, double* c) {
  std::normal_distribution<double> normal;
  std::vector<double> g(static_cast<size_t>(n) * n);
  for (double& x : g) x = normal(rng);
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < n; ++i) {
      double sum = 0.0;
      for (int k = 0; k < n; ++k) sum += g[i + k * n] * g[j + k * n];
      c[i + j * n] = sum / n + (i == j ? 0.1 : 0.0);
    }
  }
}

// A CMA-like C: random eigenvectors and eigenvalues log-spaced over [1 / condition, 1].
inline void write_conditioned(int n, double condition, std::mt19937_64& rng, double* c) {
  std::vector<double> lambda(n);
  for (int k = 0; k < n; ++k) lambda[k] = std::pow(condition, -static_cast<double>(k) / (n - 1));
  write_spectral(n, random_orthogonal(n, rng), lambda, c);
}

// C <- (1 - rate) C + rate y y^T with y Gaussian: a rank-one change that ignores C's shape, so
// that it is large against C's small eigenvalues.
inline void apply_rank_one_update(int n, double rate, std::mt19937_64& rng, double* c) {
  std::normal_distribution<double> normal;
  std::vector<double> y(n);
  for (double& x : y) x = normal(rng);
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < n; ++i) c[i + j * n] = (1.0 - rate) * c[i + j * n] + rate * y[i] * y[j];
  }
}

// C <- (1 - rate) C + rate / N sum_k y_k y_k^T with y_k = C^(1/2) z_k and z_k Gaussian: what the
// rank-mu updates (eq. 47 of Hansen's tutorial, arXiv:1604.00772) of several generations do to
// C. CmaEs's lazy gap lets about rate = 0.5 / n accumulate between two decompositions, over
// about N = 75 steps y_k at n = 128 (mu = 9 parents, 8 generations).
inline void apply_cma_update(int n, double rate, int n_samples, std::mt19937_64& rng, double* c) {
  std::vector<double> vectors;
  const std::vector<double> lambda = lapack_eigen(n, symmetrised(n, c), &vectors);
  std::normal_distribution<double> normal;
  std::vector<double> sum(static_cast<size_t>(n) * n, 0.0);
  std::vector<double> scaled_z(n);
  std::vector<double> y(n);
  for (int sample = 0; sample < n_samples; ++sample) {
    for (int k = 0; k < n; ++k) scaled_z[k] = std::sqrt(std::max(lambda[k], 0.0)) * normal(rng);
    for (int i = 0; i < n; ++i) {
      double dot = 0.0;
      for (int k = 0; k < n; ++k) dot += vectors[i + k * n] * scaled_z[k];
      y[i] = dot;
    }
    for (int j = 0; j < n; ++j) {
      for (int i = 0; i < n; ++i) sum[i + j * n] += y[i] * y[j];
    }
  }
  for (size_t idx = 0; idx < sum.size(); ++idx) {
    c[idx] = (1.0 - rate) * c[idx] + rate / n_samples * sum[idx];
  }
}

// The accumulated change of C between two decompositions at the default lazy gap.
inline void apply_lazy_gap_update(int n, std::mt19937_64& rng, double* c) {
  constexpr int kSamples = 75;
  apply_cma_update(n, 0.5 / n, kSamples, rng, c);
}

// Sets emitter e up for a warm start: B is dsyevd's eigenvectors of its current C, which the
// caller then changes.
inline void set_warm_start(EigenBatch& batch, int e) {
  const int n = batch.n;
  std::vector<double> vectors;
  lapack_eigen(n, symmetrised(n, batch.C_of(e)), &vectors);
  std::copy(vectors.begin(), vectors.end(), batch.B_of(e));
  batch.eigen_identity[e] = 0;
}

struct EigenErrors {
  double eigenvalue = 0.0;       // max |D_k^2 - max(lambda_k, DBL_MIN)| / max |lambda|
  double reconstruction = 0.0;   // ||B diag(D^2) B^T - C||_F / ||C||_F
  double orthogonality = 0.0;    // max |B^T B - I|
  double lapack_reconstruction = 0.0;  // dsyevd's own, for comparison
  double norm_drift = 0.0;            // max |(B^T B)_kk - 1|, the columns' lengths alone
};

// Checks emitter e of `after` against the emitter's C in `before`: C symmetrised bit for bit,
// eigenvalues against dsyevd, ascending D, B orthogonal and B diag(D^2) B^T = C.
// check_reconstruction is off for matrices with clamped (non-positive) eigenvalues.
inline EigenErrors check_decomposition(const std::string& label, EigenBatch& before,
                                       EigenBatch& after, int e,
                                       bool check_reconstruction = true) {
  const int n = after.n;
  CAPTURE(label);
  const std::vector<double> c_sym = symmetrised(n, before.C_of(e));
  std::vector<double> lapack_vectors;
  const std::vector<double> lambda = lapack_eigen(n, c_sym, &lapack_vectors);

  // C becomes exactly (C + C^T) / 2, as in CmaEs.
  CHECK(std::memcmp(after.C_of(e), c_sym.data(), c_sym.size() * sizeof(double)) == 0);
  CHECK(after.eigen_identity[e] == 0);

  EigenErrors errors;
  double max_abs_lambda = 0.0;
  for (double x : lambda) max_abs_lambda = std::max(max_abs_lambda, std::fabs(x));
  const double* d = after.D_of(e);
  for (int k = 0; k < n; ++k) {
    const double expected = std::max(lambda[k], DBL_MIN);
    errors.eigenvalue =
        std::max(errors.eigenvalue, std::fabs(d[k] * d[k] - expected) / max_abs_lambda);
    if (k + 1 < n) CHECK(d[k] <= d[k + 1]);
  }

  // B^T B - I, and B diag(D^2) B^T - C next to dsyevd's V diag(lambda) V^T - C.
  const double* b = after.B_of(e);
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < n; ++i) {
      double dot = 0.0;
      for (int r = 0; r < n; ++r) dot += b[r + i * n] * b[r + j * n];
      errors.orthogonality = std::max(errors.orthogonality, std::fabs(dot - (i == j ? 1.0 : 0.0)));
      if (i == j) errors.norm_drift = std::max(errors.norm_drift, std::fabs(dot - 1.0));
    }
  }
  double residual = 0.0;
  double lapack_residual = 0.0;
  double norm = 0.0;
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < n; ++i) {
      double sum = 0.0;
      double lapack_sum = 0.0;
      for (int k = 0; k < n; ++k) {
        sum += b[i + k * n] * (d[k] * d[k]) * b[j + k * n];
        lapack_sum += lapack_vectors[i + k * n] * lambda[k] * lapack_vectors[j + k * n];
      }
      const double c_ij = c_sym[i + j * n];
      residual += (sum - c_ij) * (sum - c_ij);
      lapack_residual += (lapack_sum - c_ij) * (lapack_sum - c_ij);
      norm += c_ij * c_ij;
    }
  }
  errors.reconstruction = std::sqrt(residual / norm);
  errors.lapack_reconstruction = std::sqrt(lapack_residual / norm);

  std::printf("%-40s n=%3d sweeps=%2d  eigenvalue %.2e  reconstruction %.2e (dsyevd %.2e)  "
              "orthogonality %.2e norm %.2e\n",
              label.c_str(), n, after.n_sweeps[e], errors.eigenvalue, errors.reconstruction,
              errors.lapack_reconstruction, errors.orthogonality, errors.norm_drift);
  CHECK(errors.eigenvalue <= kEigenvalueTolerance);
  CHECK(errors.orthogonality <= kOrthogonalityTolerance);
  if (check_reconstruction) CHECK(errors.reconstruction <= kReconstructionTolerance);
  return errors;
}

// Checks that emitter e's C, B, D, eigen_identity and sweep count kept their bytes.
inline void check_untouched(const std::string& label, EigenBatch& before, EigenBatch& after,
                            int e) {
  CAPTURE(label);
  const int n = after.n;
  const size_t matrix_bytes = static_cast<size_t>(n) * n * sizeof(double);
  CHECK(std::memcmp(after.C_of(e), before.C_of(e), matrix_bytes) == 0);
  CHECK(std::memcmp(after.B_of(e), before.B_of(e), matrix_bytes) == 0);
  CHECK(std::memcmp(after.D_of(e), before.D_of(e), n * sizeof(double)) == 0);
  CHECK(after.eigen_identity[e] == before.eigen_identity[e]);
  CHECK(after.n_sweeps[e] == before.n_sweeps[e]);
}

// Solution sizes of the cases: the one that matters, a small one, an odd one (padded to 8) and
// the smallest.
inline const std::vector<int>& eigen_test_sizes() {
  static const std::vector<int> sizes = {128, 10, 7, 2};
  return sizes;
}

// Cold starts: random SPD and condition 1e6 next to an emitter that is not due.
inline void run_cold_case(const EigenRunner& run, int n, const std::string& prefix) {
  std::mt19937_64 rng(1000 + n);
  EigenBatch batch(n, 3);
  write_random_spd(n, rng, batch.C_of(0));
  write_random_spd(n, rng, batch.C_of(1));
  batch.due[1] = 0;
  batch.D_of(1)[0] = 3.0;  // distinct bytes to keep
  write_conditioned(n, 1e6, rng, batch.C_of(2));
  EigenBatch before = batch;
  run(batch);
  check_decomposition(prefix + "cold, random SPD", before, batch, 0);
  check_untouched(prefix + "not due", before, batch, 1);
  check_decomposition(prefix + "cold, condition 1e6", before, batch, 2);
}

// Warm starts from the eigenvectors of C before a change: the change of one lazy gap on a random
// SPD C and on one of condition 1e6, and a rank-one change that is large against the small
// eigenvalues.
inline void run_warm_case(const EigenRunner& run, int n, const std::string& prefix) {
  std::mt19937_64 rng(2000 + n);
  EigenBatch batch(n, 3);
  write_random_spd(n, rng, batch.C_of(0));
  write_conditioned(n, 1e6, rng, batch.C_of(1));
  write_conditioned(n, 1e6, rng, batch.C_of(2));
  for (int e = 0; e < 3; ++e) set_warm_start(batch, e);
  apply_lazy_gap_update(n, rng, batch.C_of(0));
  apply_lazy_gap_update(n, rng, batch.C_of(1));
  apply_rank_one_update(n, 0.01, rng, batch.C_of(2));
  EigenBatch before = batch;
  run(batch);
  check_decomposition(prefix + "warm, random SPD", before, batch, 0);
  check_decomposition(prefix + "warm, condition 1e6", before, batch, 1);
  check_decomposition(prefix + "warm, large rank-one change", before, batch, 2);
}

// The identity, matrices with three eigenvalues each repeated n / 3 times (cold and warm start),
// and an indefinite one whose negative eigenvalue D clamps to sqrt(DBL_MIN).
inline void run_special_case(const EigenRunner& run, int n, const std::string& prefix) {
  std::mt19937_64 rng(3000 + n);
  EigenBatch batch(n, 4);
  for (int i = 0; i < n; ++i) batch.C_of(0)[i + i * n] = 1.0;
  std::vector<double> repeated(n);
  for (int k = 0; k < n; ++k) repeated[k] = k < n / 3 ? 1.0 : (k < 2 * n / 3 ? 2.0 : 5.0);
  write_spectral(n, random_orthogonal(n, rng), repeated, batch.C_of(1));
  write_spectral(n, random_orthogonal(n, rng), repeated, batch.C_of(2));
  set_warm_start(batch, 2);
  apply_rank_one_update(n, 1e-3, rng, batch.C_of(2));
  std::vector<double> indefinite(n);
  for (int k = 0; k < n; ++k) indefinite[k] = k == 0 ? -0.5 : 1.0 + k;
  write_spectral(n, random_orthogonal(n, rng), indefinite, batch.C_of(3));
  EigenBatch before = batch;
  run(batch);

  check_decomposition(prefix + "identity", before, batch, 0);
  CHECK(batch.n_sweeps[0] == 1);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) CHECK(batch.B_of(0)[i + j * n] == (i == j ? 1.0 : 0.0));
    CHECK(batch.D_of(0)[i] == 1.0);
  }
  check_decomposition(prefix + "cold, repeated eigenvalues", before, batch, 1);
  check_decomposition(prefix + "warm, repeated eigenvalues", before, batch, 2);
  check_decomposition(prefix + "indefinite", before, batch, 3, false);
  CHECK(batch.D_of(3)[0] == std::sqrt(DBL_MIN));
}

// Emitters with a NaN or an infinite entry stay untouched next to a due, finite one.
inline void run_non_finite_case(const EigenRunner& run, int n, const std::string& prefix) {
  std::mt19937_64 rng(4000 + n);
  EigenBatch batch(n, 3);
  for (int e = 0; e < 3; ++e) write_random_spd(n, rng, batch.C_of(e));
  set_warm_start(batch, 0);
  batch.C_of(0)[n * n - 1] = std::nan("");
  batch.C_of(2)[n / 2] = -INFINITY;
  EigenBatch before = batch;
  run(batch);
  check_untouched(prefix + "NaN entry", before, batch, 0);
  check_decomposition(prefix + "finite next to non-finite", before, batch, 1);
  check_untouched(prefix + "infinite entry", before, batch, 2);
}

// Repeated warm starts, each from the previous result, after the change of one lazy gap: the
// rounding of B = B V accumulates, and this measures how fast B drifts from orthogonal.
inline void run_repeated_warm_case(const EigenRunner& run, int n, int n_rounds,
                                   const std::string& prefix) {
  std::mt19937_64 rng(5000 + n);
  EigenBatch batch(n, 1);
  write_conditioned(n, 1e6, rng, batch.C_of(0));
  long long total_sweeps = 0;
  EigenErrors errors;
  for (int round = 0; round < n_rounds; ++round) {
    EigenBatch before = batch;
    run(batch);
    if (round > 0) total_sweeps += batch.n_sweeps[0];
    if (round + 1 == n_rounds) {
      errors = check_decomposition(prefix + "after " + std::to_string(n_rounds) + " warm starts",
                                   before, batch, 0);
    }
    apply_lazy_gap_update(n, rng, batch.C_of(0));
  }
  std::printf("%-40s n=%3d mean sweeps %.2f over %d warm decompositions\n",
              (prefix + "repeated warm starts").c_str(), n,
              static_cast<double>(total_sweeps) / (n_rounds - 1), n_rounds - 1);
}

}  // namespace lsi_test
