// The emitters' state in device memory for the device search (search_emitter_steps.h): their
// configuration, their CMA-ES state and their per-iteration buffers, with the enumerations and
// tolerances of qd and the double-precision math that the steps share between GPU and CPU.
//
// Shape legend: E emitters, lambda solutions per emitter and iteration, n solution size,
// N = E * lambda batch rows, C archive cells. Batch row r is solution k = r % lambda of emitter
// e = r / lambda. Per-emitter matrices (n x n) are column-major and follow one another: entry
// (a, b) of emitter e is at [e * n * n + b * n + a].
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/search_step.h"

namespace lsi::search {

// The enumerations of qd (qd/ranker.h, qd/improvement_emitter.h, qd/cma_es.h) with the same
// enumerators and numbering, so that a run can convert them by value.
enum class RankerKind : int { kTwoStageImprovement = 0, kImprovement = 1 };
enum class SelectionRule : int { kFilter = 0, kMu = 1 };
enum class RestartRule : int { kNoImprovement = 0, kBasic = 1 };
enum class CmaStopReason : int {
  kNone = 0,
  kConditionNumber = 1,
  kStepTooSmall = 2,
  kFlatRanking = 3,
  kNonFinite = 4,
};

// The stop tolerances of qd::CmaEs.
constexpr double kMaxConditionNumber = 1e14;
constexpr double kMinStepSize = 1e-11;
constexpr double kFlatRankingTolerance = 1e-12;

// mueff and the learning rates of qd::CmaEs::compute_parameters for one parent count.
struct CmaRates {
  double mueff;
  double cc;
  double cs;
  double c1;
  double cmu;
  double damps;
};

// Configuration and arrays of E emitters. Every step stores a copy, so the arrays are device
// pointers on a GPU and host pointers under HostExecutor.
struct EmitterView {
  // Configuration, shared by all emitters.
  int n = 0;           // solution size
  int lambda = 0;      // batch size per emitter; lambda * n must be even
  int n_emitters = 0;  // E
  RankerKind ranker = RankerKind::kTwoStageImprovement;
  SelectionRule selection_rule = SelectionRule::kFilter;
  RestartRule restart_rule = RestartRule::kNoImprovement;
  double sigma0 = 0.0;
  double chiN = 0.0;            // E||N(0, I)||, qd::CmaEs's value for n
  double lazy_gap_evals = 0.0;  // qd::CmaEs::lazy_gap_evals() for n and lambda
  std::uint64_t seed = 0;       // Philox seed; emitter e draws from stream id e
  const double* x0 = nullptr;   // (n) restart mean while the archive is empty

  // CMA-ES state of each emitter, in double precision.
  double* mean = nullptr;                     // (E x n)
  double* sigma = nullptr;                    // (E)
  double* pc = nullptr;                       // (E x n) evolution path of C
  double* ps = nullptr;                       // (E x n) evolution path of sigma
  double* C = nullptr;                        // (E x n x n) covariance matrix
  double* B = nullptr;                        // (E x n x n) eigenvectors of C, one per column
  double* D = nullptr;                        // (E x n) square roots of C's eigenvalues
  long long* counteval = nullptr;             // (E) evaluations since the last restart
  long long* eigeneval = nullptr;             // (E) counteval at the last eigendecomposition
  int* eigen_identity = nullptr;              // (E) 1 while B = I and D = 1 after a restart
  int* due = nullptr;                         // (E) 1 when this iteration decomposes C
  unsigned long long* block_index = nullptr;  // (E) next Philox block of stream e
  long long* restarts = nullptr;              // (E)
  int* last_stop_reason = nullptr;            // (E) CmaStopReason of the last restart

  // Per-iteration buffers.
  float* latents = nullptr;           // (N x n) the batch that the evaluator reads
  double* samples = nullptr;          // (N x n) latents as double, the values tell() updates with
  double* z = nullptr;                // (N x n) standard normal draws
  int* ranking = nullptr;             // (E x lambda) solution indices k of each emitter, best first
  int* n_entered = nullptr;           // (E) solutions with status > 0
  int* parents = nullptr;             // (E x lambda) first n_parents[e] used, best first
  int* n_parents = nullptr;           // (E)
  double* weights = nullptr;          // (E x lambda) first n_parents[e] used
  CmaRates* rates = nullptr;          // (E)
  double* weighted_steps = nullptr;   // (E x lambda x n) sqrt(w_i) y_i of parent i
  double* y_w = nullptr;              // (E x n)
  double* scaled_bt_y_w = nullptr;    // (E x n) D^-1 .* (B^T y_w)
  double* invsqrtC_y_w = nullptr;     // (E x n) C^(-1/2) y_w
  double* ps_norm = nullptr;          // (E) ||ps|| after this update
  double* hsig = nullptr;             // (E) 0 or 1
  int* C_finite = nullptr;            // (E) 0 when C contains a NaN or an infinity
  int* restart = nullptr;             // (E) 1 when the emitter restarts this iteration
  long long* restart_cell = nullptr;  // (E) cell of the new mean's elite, -1 for x0

  // The archive after this iteration's add; restarts read it.
  const long long* occupied_cells = nullptr;     // (C) occupied cells, first counters[0] valid
  const unsigned long long* counters = nullptr;  // counters[0]: number of occupied cells
  const float* solutions = nullptr;              // (C x n) each cell's elite
};

namespace detail {

// Math in double precision: the CUDA math library on the GPU, the C++ library on the CPU.
LSI_HD inline double sqrt_hd(double x) {
#if defined(__CUDA_ARCH__)
  return ::sqrt(x);
#else
  return std::sqrt(x);
#endif
}

LSI_HD inline double log_hd(double x) {
#if defined(__CUDA_ARCH__)
  return ::log(x);
#else
  return std::log(x);
#endif
}

LSI_HD inline double exp_hd(double x) {
#if defined(__CUDA_ARCH__)
  return ::exp(x);
#else
  return std::exp(x);
#endif
}

LSI_HD inline double pow_hd(double x, double y) {
#if defined(__CUDA_ARCH__)
  return ::pow(x, y);
#else
  return std::pow(x, y);
#endif
}

// x - x is 0 for a finite x and NaN for an infinity or a NaN.
LSI_HD inline bool is_finite(double x) { return x - x == 0.0; }

// Index of entry (a, b) of emitter e's column-major n x n matrix.
LSI_HD inline long long matrix_index(const EmitterView& v, int e, int a, int b) {
  return (static_cast<long long>(e) * v.n + b) * v.n + a;
}

}  // namespace detail

// Checks the configuration and that every array is set; throws std::invalid_argument naming
// the first problem. sample() and tell() call it.
inline void check_emitter_view(const EmitterView& v) {
  if (v.n <= 0 || v.lambda < 2 || v.n_emitters <= 0) {
    throw std::invalid_argument(
        "EmitterView: n, lambda and n_emitters must be at least 1, 2 and 1, got " +
        std::to_string(v.n) + ", " + std::to_string(v.lambda) + " and " +
        std::to_string(v.n_emitters));
  }
  // Each Philox block yields two normal values. An odd lambda * n would leave a spare value,
  // which qd::PhiloxStream keeps for its next draw but the device streams cannot keep.
  if ((static_cast<long long>(v.lambda) * v.n) % 2 != 0) {
    throw std::invalid_argument("EmitterView: lambda * n must be even, got lambda " +
                                std::to_string(v.lambda) + " and n " + std::to_string(v.n));
  }
  if (!(v.sigma0 > 0.0) || !(v.chiN > 0.0) || !(v.lazy_gap_evals >= 0.0)) {
    throw std::invalid_argument(
        "EmitterView: sigma0 and chiN must be positive and lazy_gap_evals non-negative, got " +
        std::to_string(v.sigma0) + ", " + std::to_string(v.chiN) + " and " +
        std::to_string(v.lazy_gap_evals));
  }
  struct NamedArray {
    const char* name;
    const void* pointer;
  };
  const NamedArray arrays[] = {{"x0", v.x0},
                               {"mean", v.mean},
                               {"sigma", v.sigma},
                               {"pc", v.pc},
                               {"ps", v.ps},
                               {"C", v.C},
                               {"B", v.B},
                               {"D", v.D},
                               {"counteval", v.counteval},
                               {"eigeneval", v.eigeneval},
                               {"eigen_identity", v.eigen_identity},
                               {"due", v.due},
                               {"block_index", v.block_index},
                               {"restarts", v.restarts},
                               {"last_stop_reason", v.last_stop_reason},
                               {"latents", v.latents},
                               {"samples", v.samples},
                               {"z", v.z},
                               {"ranking", v.ranking},
                               {"n_entered", v.n_entered},
                               {"parents", v.parents},
                               {"n_parents", v.n_parents},
                               {"weights", v.weights},
                               {"rates", v.rates},
                               {"weighted_steps", v.weighted_steps},
                               {"y_w", v.y_w},
                               {"scaled_bt_y_w", v.scaled_bt_y_w},
                               {"invsqrtC_y_w", v.invsqrtC_y_w},
                               {"ps_norm", v.ps_norm},
                               {"hsig", v.hsig},
                               {"C_finite", v.C_finite},
                               {"restart", v.restart},
                               {"restart_cell", v.restart_cell},
                               {"occupied_cells", v.occupied_cells},
                               {"counters", v.counters},
                               {"solutions", v.solutions}};
  for (const NamedArray& array : arrays) {
    if (array.pointer == nullptr) {
      throw std::invalid_argument(std::string("EmitterView: array ") + array.name +
                                  " is null; set every array pointer before running a phase");
    }
  }
}

}  // namespace lsi::search
