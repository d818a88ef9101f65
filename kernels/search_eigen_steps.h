// Eigendecomposition of each emitter's CMA-ES covariance matrix C on the device: one block per
// emitter, in place of LAPACK's dsyevd in CmaEs::update_eigensystem (qd/cma_es.cpp).
//
// Algorithm: parallel cyclic Jacobi in double precision. The n indices, padded with inert ones to
// a multiple m of 4, are paired by the round-robin (circle) method. So each of the m - 1 steps
// of a sweep applies m / 2 independent rotations, and every pair meets once per sweep. Warm start:
// C changes little between two decompositions, so the step diagonalises A = B^T C B with the
// previous eigenvectors B, which is nearly diagonal already, and rotates B itself into
// B_new = B V. A rotation is skipped when |a_pq| <= kEigenTolerance * sqrt(|a_pp| |a_qq|), and the
// iteration stops after a sweep that skipped all of them (so that sweep changes nothing), or
// after kEigenMaxSweeps sweeps. Each Jacobi step is one phase, so one barrier: the threads that
// rotate the 2 x 2 block of A holding a pair of the next step also compute that pair's rotation.
//
// Shared memory: A as a packed upper triangle (m (m + 1) / 2 doubles) and B (n x (n | 1)
// doubles; the odd column stride avoids bank conflicts when threads walk a row), 199 KB for
// n = 128. Holding B there rather than in global memory keeps each step's traffic, about 8 K
// doubles of A and 16 K of B each read and written, in shared memory.
//
// NOTE: warm starts carry B's rounding errors from one decomposition to the next. Normalising
// the columns stops the growth of their lengths; the angles between them still drift as a random
// walk, to max |B^T B - I| = 7e-15 after 500 warm starts at n = 16 (about 1e-15 after one).
//
// Dimension letters: E emitters, n solution size.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/search_step.h"

namespace lsi::search {

// Largest solution size the step supports: A and B of n = 128 take 199 KB of shared memory.
constexpr int kEigenMaxSize = 128;

// A rotation of the pair (p, q) is skipped when |a_pq| <= kEigenTolerance * sqrt(|a_pp| |a_qq|).
// This test relative to the diagonal gives eigenvalues with a small relative error, the small
// ones included, and is met in practice: once A is nearly diagonal, each rotation leaves
// rounding errors relative to the small off-diagonal entries it combines.
constexpr double kEigenTolerance = 1e-15;

// Bound on the sweeps of one decomposition, the last one without rotations included. Measured
// at n = 128 (tests/test_search_eigen.cpp): cold starts (from the identity) take 11 sweeps for a
// random SPD C, 16 for condition 1e6 and 20 with clusters of equal eigenvalues; warm starts
// after the change of one lazy gap take 4 to 5. Reaching the bound leaves the last iterate,
// whose B is still orthogonal.
constexpr int kEigenMaxSweeps = 30;

struct EigenView {
  int n = 0;           // solution size, 2 <= n <= kEigenMaxSize
  int n_emitters = 0;  // E, one block each
  const int* due = nullptr;  // (E) nonzero: decompose this emitter's C; others stay untouched
  // (E x n x n) column-major covariance matrices. A due emitter's C with only finite entries is
  // replaced by (C + C^T) / 2, as CmaEs does. A C with a non-finite entry is left as it is, and
  // so are that emitter's B, D and eigen_identity.
  double* C = nullptr;
  // (E x n x n) column-major eigenvectors, column k for D[k]. On entry the previous eigenvectors
  // (the warm start), ignored when eigen_identity is set. During the step it contains C B.
  double* B = nullptr;
  double* D = nullptr;            // (E x n) square roots of max(eigenvalue, DBL_MIN), ascending
  int* eigen_identity = nullptr;  // (E) nonzero: B is the identity; set to 0 by a decomposition
  int* n_sweeps = nullptr;        // (E) optional: Jacobi sweeps of the last decomposition
};

namespace detail {

// Round-robin (circle method) ordering of m indices, N = m - 1 (odd) steps per sweep. At step t,
// slot 0 pairs (N, t) and slot k >= 1 pairs ((t + k) mod N, (t - k) mod N): each index is in one
// slot, and two indices meet in exactly one step of a sweep.
LSI_HD inline void round_robin_pair(int slot, int step, int n_steps, int* p, int* q) {
  if (slot == 0) {
    *p = n_steps;
    *q = step;
    return;
  }
  *p = (step + slot) % n_steps;
  *q = (step - slot + n_steps) % n_steps;
}

// Returns the slot of index x at a step, and sets *first when x is the slot's p (else its q).
LSI_HD inline int round_robin_slot(int x, int step, int n_steps, bool* first) {
  if (x == n_steps || x == step) {
    *first = (x == n_steps);
    return 0;
  }
  const int offset = (x - step + n_steps) % n_steps;
  const int n_slots = (n_steps + 1) / 2;
  *first = offset < n_slots;
  return *first ? offset : n_steps - offset;
}

// Index of A(i, j) in the packed upper triangle, column by column.
LSI_HD inline int packed_index(int i, int j) {
  return i <= j ? j * (j + 1) / 2 + i : i * (i + 1) / 2 + j;
}

// An integer key that orders doubles as numbers, with NaN above +inf, so that ranks stay
// distinct whatever the eigenvalues are.
LSI_HD inline long long order_key(double x) {
  long long bits = 0;
  memcpy(&bits, &x, sizeof(bits));
  return bits < 0 ? (bits ^ 0x7FFFFFFFFFFFFFFFLL) : bits;
}

// Computes the Jacobi rotation J = [c s; -s c] on the pair (p, q) that zeroes entry (p, q) of
// J^T A J. It writes s, tau = s / (1 + c) and the new diagonal entries. Returns false, with the
// identity, when a_pq passes the convergence test.
LSI_HD inline bool jacobi_rotation(double a_pp, double a_qq, double a_pq, double* s, double* tau,
                                   double* new_a_pp, double* new_a_qq) {
  const double abs_a_pq = fabs(a_pq);
  if (!(abs_a_pq >= DBL_MIN) ||
      abs_a_pq <= kEigenTolerance * sqrt(fabs(a_pp)) * sqrt(fabs(a_qq))) {
    *s = 0.0;
    *tau = 0.0;
    *new_a_pp = a_pp;
    *new_a_qq = a_qq;
    return false;
  }

  // t = tan(angle), the smaller root of t^2 + 2 theta t - 1 = 0. For |theta| > 1e150, theta^2
  // would overflow, and t = 1 / (2 theta) to double precision.
  const double theta = (a_qq - a_pp) / (2.0 * a_pq);
  const double abs_theta = fabs(theta);
  double t = 0.0;
  if (abs_theta > 1e150) {
    t = 0.5 / theta;
  } else {
    t = 1.0 / (abs_theta + sqrt(1.0 + theta * theta));
    if (theta < 0.0) t = -t;
  }
  const double c = 1.0 / sqrt(1.0 + t * t);
  *s = t * c;
  *tau = *s / (1.0 + c);
  *new_a_pp = a_pp - t * a_pq;
  *new_a_qq = a_qq + t * a_pq;
  return true;
}

// Rotates [x y] <- [c x - s y, s x + c y], computed as x - s (y + tau x) and y + s (x - tau y).
// For a small angle, c rounds to 1 while the true cosine is 1 - s^2 / 2. This form keeps that
// difference. The form c x - s y loses it, so each such rotation would lengthen the columns of B
// by a factor 1 + s^2 / 2.
LSI_HD inline void rotate(double s, double tau, double* x, double* y) {
  const double x0 = *x;
  const double y0 = *y;
  *x = x0 - s * (y0 + tau * x0);
  *y = y0 + s * (x0 - tau * y0);
}

}  // namespace detail

// The decomposition of each due emitter's C, one block per emitter (see the file comment).
// Phases: check C, symmetrise it and load A and B, (warm start) C B and B^T C B, the first
// rotations, one phase per Jacobi step, then rank the eigenvalues and write B and D.
struct EigenStep {
  // 512 threads: a step's m / 2 x n = 8192 rotations of pairs of B entries and 2080 2 x 2
  // blocks of A (n = 128) split into 16 and about 4 per thread, and 16 warps keep enough shared
  // memory loads in flight; C B and B^T W are 4 x 8 register tiles per thread.
  static constexpr int kThreads = 512;
  static constexpr int kWarpSize = 32;
  static constexpr int kWarps = kThreads / kWarpSize;
  static constexpr int kTileRows = 4;  // rows per thread of C B and B^T W: kTileRows x 32 >= n
  static constexpr int kTileCols = 8;  // columns per thread: kTileCols x kWarps >= n

  static constexpr int kPhaseCheck = 0;
  static constexpr int kPhaseLoad = 1;
  static constexpr int kPhaseProductCB = 2;
  static constexpr int kPhaseProductBtW = 3;
  static constexpr int kPhaseFirstRotations = 4;
  static constexpr int kPhaseRank = 5;
  static constexpr int kPhaseWrite = 6;
  static constexpr int kPhaseFirstStep = 7;  // phase of Jacobi step g: kPhaseFirstStep + g

  EigenView view;

  // Pointers into a block's shared memory.
  struct Shared {
    double* A;            // (m (m + 1) / 2) packed upper triangle of the m x m iterate
    double* B;            // (n x ldb) column-major eigenvector iterate
    // Rotations of each slot, for the current and the next step: index parity x m / 2 + slot.
    double* rot_tau;      // (2 x m / 2) tau = s / (1 + c)
    double* rot_s;        // (2 x m / 2) s = sin(angle), 0 for a skipped rotation
    double* rot_app;      // (2 x m / 2) a_pp after the rotation
    double* rot_aqq;      // (2 x m / 2) a_qq after the rotation
    int* rot_p;           // (2 x m / 2)
    int* rot_q;           // (2 x m / 2)
    int* rotated;         // (2) by sweep parity: nonzero when a rotation of that sweep was applied
    int* non_finite;      // (kThreads) per thread; aliases rot_tau.. before the first rotations
    int* rank;            // (n) ascending rank of each eigenvalue; aliases rot_tau after the last
    double* column_norm;  // (n) length of each column of B; aliases rot_s after the last step
  };

  // m: n rounded up to a multiple of 4, so that m / 2 slots fold into equal halves; the
  // indices n .. m - 1 have zero rows in A and never rotate.
  LSI_HD int padded_size() const { return (view.n + 3) / 4 * 4; }
  LSI_HD int b_stride() const { return view.n | 1; }

  static size_t round_up_8(size_t bytes) { return (bytes + 7) / 8 * 8; }

  size_t shared_bytes() const {
    const size_t m = static_cast<size_t>(padded_size());
    const size_t n = static_cast<size_t>(view.n);
    const size_t a_bytes = m * (m + 1) / 2 * sizeof(double);
    const size_t b_bytes = n * static_cast<size_t>(b_stride()) * sizeof(double);
    size_t rot_double_bytes = 4 * m * sizeof(double);
    rot_double_bytes = rot_double_bytes > kThreads * sizeof(int) ? rot_double_bytes
                                                                 : kThreads * sizeof(int);
    rot_double_bytes = rot_double_bytes > n * sizeof(int) ? rot_double_bytes : n * sizeof(int);
    const size_t rot_int_bytes = 2 * m * sizeof(int);
    return a_bytes + b_bytes + round_up_8(rot_double_bytes) + rot_int_bytes + 2 * sizeof(int);
  }

  LSI_HD Shared layout(unsigned char* shared) const {
    const int m = padded_size();
    const int n = view.n;
    Shared s;
    s.A = reinterpret_cast<double*>(shared);
    s.B = s.A + m * (m + 1) / 2;
    s.rot_tau = s.B + n * b_stride();
    s.rot_s = s.rot_tau + m;
    s.rot_app = s.rot_s + m;
    s.rot_aqq = s.rot_app + m;
    s.non_finite = reinterpret_cast<int*>(s.rot_tau);
    s.rank = reinterpret_cast<int*>(s.rot_tau);
    s.column_norm = s.rot_s;
    int rot_double_count = 4 * m;
    if (rot_double_count * 2 < kThreads) rot_double_count = (kThreads + 1) / 2;
    if (rot_double_count * 2 < n) rot_double_count = (n + 1) / 2;
    s.rot_p = reinterpret_cast<int*>(s.rot_tau + rot_double_count);
    s.rot_q = s.rot_p + m;
    s.rotated = s.rot_q + m;
    return s;
  }

  LSI_HD int operator()(int phase, int block, int thread, unsigned char* shared) const {
    const Shared s = layout(shared);
    switch (phase) {
      case kPhaseCheck:
        return check_finite(block, thread, s);
      case kPhaseLoad:
        return load(block, thread, s);
      case kPhaseProductCB:
        return product_cb(block, thread, s);
      case kPhaseProductBtW:
        return product_btw(block, thread, s);
      case kPhaseFirstRotations:
        return first_rotations(thread, s);
      case kPhaseRank:
        return rank_eigenvalues(thread, s);
      case kPhaseWrite:
        return write_result(block, thread, s);
      default:
        return jacobi_step(phase - kPhaseFirstStep, block, thread, s);
    }
  }

  // Flags, per thread, a non-finite entry of C.
  LSI_HD int check_finite(int e, int thread, const Shared& s) const {
    if (view.due[e] == 0) return kBlockDone;

    if (thread == 0) s.rotated[0] = 0;
    const int n = view.n;
    const double* C = view.C + static_cast<size_t>(e) * n * n;
    int non_finite = 0;
    for (int idx = thread; idx < n * n; idx += kThreads) {
      // 0 * x is NaN for an infinite or NaN x and +-0 otherwise, as in CmaEs.
      if (!(C[idx] * 0.0 == 0.0)) non_finite = 1;
    }
    s.non_finite[thread] = non_finite;
    return kPhaseLoad;
  }

  // Replaces C by (C + C^T) / 2 in global memory, and loads B (or the identity) into shared
  // memory and, on a cold start, A = C.
  LSI_HD int load(int e, int thread, const Shared& s) const {
    for (int k = 0; k < kThreads; ++k) {
      if (s.non_finite[k] != 0) return kBlockDone;  // CmaEs keeps its last decomposition.
    }

    const int n = view.n;
    const int ldb = b_stride();
    const bool cold = view.eigen_identity[e] != 0;
    double* C = view.C + static_cast<size_t>(e) * n * n;
    const double* B = view.B + static_cast<size_t>(e) * n * n;
    for (int idx = thread; idx < n * n; idx += kThreads) {
      const int i = idx % n;
      const int j = idx / n;
      const double identity_entry = i == j ? 1.0 : 0.0;
      s.B[i + j * ldb] = cold ? identity_entry : B[idx];
      if (i > j) continue;
      // The same expression as CmaEs's 0.5 * (C + C^T), so C matches it bit for bit.
      const double value = 0.5 * (C[i + j * n] + C[j + i * n]);
      C[i + j * n] = value;
      C[j + i * n] = value;
      if (cold) s.A[detail::packed_index(i, j)] = value;
    }
    if (cold) zero_padding(thread, s);
    return cold ? kPhaseFirstRotations : kPhaseProductCB;
  }

  // Zeroes the rows and columns n .. m - 1 of A.
  LSI_HD void zero_padding(int thread, const Shared& s) const {
    const int n = view.n;
    const int m = padded_size();
    for (int idx = n * (n + 1) / 2 + thread; idx < m * (m + 1) / 2; idx += kThreads) {
      s.A[idx] = 0.0;
    }
  }

  // Warm start, first half: W = C B into the global B (its old value is in shared memory).
  LSI_HD int product_cb(int e, int thread, const Shared& s) const {
    const int n = view.n;
    const int ldb = b_stride();
    const double* C = view.C + static_cast<size_t>(e) * n * n;
    double* W = view.B + static_cast<size_t>(e) * n * n;
    const int lane = thread % kWarpSize;
    const int col0 = (thread / kWarpSize) * kTileCols;
    if (col0 >= n) return kPhaseProductBtW;

    double acc[kTileRows][kTileCols] = {};
    for (int k = 0; k < n; ++k) {
      double c_ik[kTileRows];
      for (int a = 0; a < kTileRows; ++a) {
        const int i = lane + a * kWarpSize;
        c_ik[a] = i < n ? C[i + k * n] : 0.0;
      }
      for (int b = 0; b < kTileCols; ++b) {
        const int j = col0 + b;
        const double b_kj = j < n ? s.B[k + j * ldb] : 0.0;
        for (int a = 0; a < kTileRows; ++a) acc[a][b] += c_ik[a] * b_kj;
      }
    }
    for (int a = 0; a < kTileRows; ++a) {
      const int i = lane + a * kWarpSize;
      for (int b = 0; b < kTileCols; ++b) {
        const int j = col0 + b;
        if (i < n && j < n) W[i + j * n] = acc[a][b];
      }
    }
    return kPhaseProductBtW;
  }

  // Warm start, second half: A = B^T W = B^T C B, upper triangle, exactly symmetric.
  LSI_HD int product_btw(int e, int thread, const Shared& s) const {
    const int n = view.n;
    const int ldb = b_stride();
    const double* W = view.B + static_cast<size_t>(e) * n * n;
    zero_padding(thread, s);
    const int lane = thread % kWarpSize;
    const int col0 = (thread / kWarpSize) * kTileCols;
    if (col0 >= n) return kPhaseFirstRotations;

    double acc[kTileRows][kTileCols] = {};
    for (int k = 0; k < n; ++k) {
      double b_ki[kTileRows];
      for (int a = 0; a < kTileRows; ++a) {
        const int i = lane + a * kWarpSize;
        b_ki[a] = i < n ? s.B[k + i * ldb] : 0.0;
      }
      for (int b = 0; b < kTileCols; ++b) {
        const int j = col0 + b;
        const double w_kj = j < n ? W[k + j * n] : 0.0;
        for (int a = 0; a < kTileRows; ++a) acc[a][b] += b_ki[a] * w_kj;
      }
    }
    for (int a = 0; a < kTileRows; ++a) {
      const int i = lane + a * kWarpSize;
      for (int b = 0; b < kTileCols; ++b) {
        const int j = col0 + b;
        if (i <= j && j < n) s.A[detail::packed_index(i, j)] = acc[a][b];
      }
    }
    return kPhaseFirstRotations;
  }

  // Rotations of step 0 of the first sweep, one thread per slot.
  LSI_HD int first_rotations(int thread, const Shared& s) const {
    const int m = padded_size();
    const int n_slots = m / 2;
    if (thread < n_slots) {
      int p = 0;
      int q = 0;
      detail::round_robin_pair(thread, 0, m - 1, &p, &q);
      const double a_pp = s.A[detail::packed_index(p, p)];
      const double a_qq = s.A[detail::packed_index(q, q)];
      const double a_pq = s.A[detail::packed_index(p, q)];
      store_rotation(thread, p, q, a_pp, a_qq, a_pq, s.rotated, s);
    }
    return kPhaseFirstStep;
  }

  // Computes the rotation of the pair (p, q) and stores it at rotation buffer index idx, which is
  // parity x m / 2 + slot. Sets *rotated_flag when the rotation is not the identity.
  LSI_HD static void store_rotation(int idx, int p, int q, double a_pp, double a_qq, double a_pq,
                                    int* rotated_flag, const Shared& s) {
    double sn = 0.0;
    double tau = 0.0;
    double new_a_pp = a_pp;
    double new_a_qq = a_qq;
    const bool rotates =
        detail::jacobi_rotation(a_pp, a_qq, a_pq, &sn, &tau, &new_a_pp, &new_a_qq);
    s.rot_tau[idx] = tau;
    s.rot_s[idx] = sn;
    s.rot_app[idx] = new_a_pp;
    s.rot_aqq[idx] = new_a_qq;
    s.rot_p[idx] = p;
    s.rot_q[idx] = q;
    if (rotates) *rotated_flag = 1;
  }

  // Runs Jacobi step g, which is step g % (m - 1) of sweep g / (m - 1). Applies the step's
  // rotations to A, as 2 x 2 blocks of slot pairs, and to B's columns. Also computes the next
  // step's rotations from the new entries while they are in registers, so a step takes one
  // barrier.
  LSI_HD int jacobi_step(int g, int e, int thread, const Shared& s) const {
    const int n = view.n;
    const int m = padded_size();
    const int n_slots = m / 2;
    const int n_steps = m - 1;
    const int sweep = g / n_steps;
    const int step = g % n_steps;
    const int next_step = (step + 1) % n_steps;
    const int cur = (g & 1) * n_slots;
    const int next = ((g + 1) & 1) * n_slots;
    int* next_rotated = &s.rotated[((g + 1) / n_steps) & 1];

    // The flag of the next sweep was last read at the end of the previous sweep. It is first set
    // at this sweep's last step, which computes the next sweep's first rotations.
    if (step == 0 && thread == 0) s.rotated[(sweep + 1) & 1] = 0;

    // A <- J^T A J, block (k, l) of slots k <= l per iteration. Rows k and n_slots - 1 - k of
    // the triangle of blocks fold into one row of n_slots + 1 blocks, so the work splits evenly.
    const int n_blocks = (n_slots / 2) * (n_slots + 1);
    for (int b = thread; b < n_blocks; b += kThreads) {
      const int folded_row = b / (n_slots + 1);
      const int col = b % (n_slots + 1);
      int k = folded_row;
      int l = folded_row + col;
      if (col >= n_slots - folded_row) {
        k = n_slots - 1 - folded_row;
        l = k + col - (n_slots - folded_row);
      }
      update_block(k, l, cur, next, next_step, next_rotated, s);
    }

    // B <- B J: one slot per warp, consecutive rows per lane.
    const int warp = thread / kWarpSize;
    const int lane = thread % kWarpSize;
    const int ldb = b_stride();
    for (int k = warp; k < n_slots; k += kWarps) {
      const double sn = s.rot_s[cur + k];
      if (sn == 0.0) continue;
      const double tau = s.rot_tau[cur + k];
      double* b_p = s.B + s.rot_p[cur + k] * ldb;
      double* b_q = s.B + s.rot_q[cur + k] * ldb;
      for (int r = lane; r < n; r += kWarpSize) detail::rotate(sn, tau, &b_p[r], &b_q[r]);
    }

    // After the last step of a sweep: stop when the sweep applied no rotation.
    if (step == n_steps - 1) {
      if (thread == 0 && view.n_sweeps != nullptr) view.n_sweeps[e] = sweep + 1;
      if (s.rotated[sweep & 1] == 0 || sweep + 1 >= kEigenMaxSweeps) return kPhaseRank;
    }
    return kPhaseFirstStep + g + 1;
  }

  // Rotates the 2 x 2 block of A at rows of slot k and columns of slot l (k <= l), and computes
  // the rotations of the next step whose pair lies in this block.
  LSI_HD void update_block(int k, int l, int cur, int next, int next_step, int* next_rotated,
                           const Shared& s) const {
    const double tau_k = s.rot_tau[cur + k];
    const double s_k = s.rot_s[cur + k];
    const int p_k = s.rot_p[cur + k];
    const int q_k = s.rot_q[cur + k];
    if (k == l) {
      // The pair's own block becomes diag(a_pp', a_qq'). No pair of the next step lies in it.
      if (s_k != 0.0) {
        s.A[detail::packed_index(p_k, p_k)] = s.rot_app[cur + k];
        s.A[detail::packed_index(q_k, q_k)] = s.rot_aqq[cur + k];
        s.A[detail::packed_index(p_k, q_k)] = 0.0;
      }
      return;
    }

    const double tau_l = s.rot_tau[cur + l];
    const double s_l = s.rot_s[cur + l];
    const int p_l = s.rot_p[cur + l];
    const int q_l = s.rot_q[cur + l];
    const int index_pp = detail::packed_index(p_k, p_l);
    const int index_pq = detail::packed_index(p_k, q_l);
    const int index_qp = detail::packed_index(q_k, p_l);
    const int index_qq = detail::packed_index(q_k, q_l);
    // Scalars rather than a 2 x 2 array, which the next pairs' runtime indices would put in
    // local memory.
    double a_pp = s.A[index_pp];
    double a_pq = s.A[index_pq];
    double a_qp = s.A[index_qp];
    double a_qq = s.A[index_qq];
    if (s_k != 0.0 || s_l != 0.0) {
      // Columns with slot l's rotation, then rows with slot k's.
      detail::rotate(s_l, tau_l, &a_pp, &a_pq);
      detail::rotate(s_l, tau_l, &a_qp, &a_qq);
      detail::rotate(s_k, tau_k, &a_pp, &a_qp);
      detail::rotate(s_k, tau_k, &a_pq, &a_qq);
      s.A[index_pp] = a_pp;
      s.A[index_pq] = a_pq;
      s.A[index_qp] = a_qp;
      s.A[index_qq] = a_qq;
    }

    // A pair of the next step that joins an index of slot k and one of slot l has its
    // off-diagonal entry in this block. Its diagonal entries after this step are in the rotation
    // buffer.
    const double app_k = s.rot_app[cur + k];
    const double aqq_k = s.rot_aqq[cur + k];
    const double app_l = s.rot_app[cur + l];
    const double aqq_l = s.rot_aqq[cur + l];
    store_next_rotation(p_k, app_k, p_l, q_l, app_l, aqq_l, a_pp, a_pq, next, next_step,
                        next_rotated, s);
    store_next_rotation(q_k, aqq_k, p_l, q_l, app_l, aqq_l, a_qp, a_qq, next, next_step,
                        next_rotated, s);
  }

  // If index x of slot k meets p_l or q_l of slot l at the next step, stores that rotation. a_xx
  // and a_pl, a_ql are the diagonal entries after this step, and x_pl, x_ql the entries of x's
  // row in columns p_l and q_l.
  LSI_HD void store_next_rotation(int x, double a_xx, int p_l, int q_l, double a_pl, double a_ql,
                                  double x_pl, double x_ql, int next, int next_step,
                                  int* next_rotated, const Shared& s) const {
    const int n_steps = padded_size() - 1;
    bool first = false;
    const int slot = detail::round_robin_slot(x, next_step, n_steps, &first);
    int p = 0;
    int q = 0;
    detail::round_robin_pair(slot, next_step, n_steps, &p, &q);
    const int partner = first ? q : p;
    if (partner != p_l && partner != q_l) return;

    const double a_yy = partner == p_l ? a_pl : a_ql;
    const double a_xy = partner == p_l ? x_pl : x_ql;
    store_rotation(next + slot, p, q, first ? a_xx : a_yy, first ? a_yy : a_xx, a_xy,
                   next_rotated, s);
  }

  // Ranks the eigenvalues (the diagonal of A) in ascending order, ties by index, and measures
  // the columns of B.
  LSI_HD int rank_eigenvalues(int thread, const Shared& s) const {
    const int n = view.n;
    if (thread < n) {
      const double* column = s.B + thread * b_stride();
      double sum = 0.0;
      for (int r = 0; r < n; ++r) sum += column[r] * column[r];
      s.column_norm[thread] = sqrt(sum);
      const long long key = detail::order_key(s.A[detail::packed_index(thread, thread)]);
      int rank = 0;
      for (int j = 0; j < n; ++j) {
        const long long other = detail::order_key(s.A[detail::packed_index(j, j)]);
        if (other < key || (other == key && j < thread)) ++rank;
      }
      s.rank[thread] = rank;
    }
    return kPhaseWrite;
  }

  // Writes B's columns, normalised, and D in ascending order, and clears eigen_identity. The
  // rotations keep the columns' lengths to a few rounding errors. Without the normalisation,
  // warm starts would add up those errors from one decomposition to the next.
  LSI_HD int write_result(int e, int thread, const Shared& s) const {
    const int n = view.n;
    const int ldb = b_stride();
    double* B = view.B + static_cast<size_t>(e) * n * n;
    for (int idx = thread; idx < n * n; idx += kThreads) {
      const int r = idx % n;
      const int j = idx / n;
      B[r + s.rank[j] * n] = s.B[r + j * ldb] / s.column_norm[j];
    }
    if (thread < n) {
      // Clamp as CmaEs does: a non-positive eigenvalue gives DBL_MIN's square root.
      const double eigenvalue = s.A[detail::packed_index(thread, thread)];
      view.D[static_cast<size_t>(e) * n + s.rank[thread]] = sqrt(fmax(eigenvalue, DBL_MIN));
    }
    if (thread == 0) view.eigen_identity[e] = 0;
    return kBlockDone;
  }
};

// Decomposes the C of every due emitter (see EigenView for what changes).
template <typename Executor>
void decompose_due(const Executor& executor, const EigenView& view) {
  if (view.n < 2 || view.n > kEigenMaxSize) {
    throw std::invalid_argument("decompose_due: solution size must be in [2, " +
                                std::to_string(kEigenMaxSize) + "], got " +
                                std::to_string(view.n));
  }
  if (view.n_emitters < 0) {
    throw std::invalid_argument("decompose_due: n_emitters must be non-negative, got " +
                                std::to_string(view.n_emitters));
  }
  if (view.n_emitters == 0) return;
  if (view.due == nullptr || view.C == nullptr || view.B == nullptr || view.D == nullptr ||
      view.eigen_identity == nullptr) {
    throw std::invalid_argument("decompose_due: due, C, B, D and eigen_identity must be set");
  }
  executor.run_blocks(EigenStep{view}, view.n_emitters);
}

}  // namespace lsi::search
