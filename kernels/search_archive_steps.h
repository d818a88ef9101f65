// The device search's archive: a grid over the two measures (boldness, lightness) whose batch
// add runs as steps (kernels/search_step.h) with the semantics of qd::GridArchive::add.
//
// As in qd::GridArchive (and pyribs with learning rate 1), each cell keeps its best elite. A
// batch is judged against the archive as it was before the batch: a row with a non-finite
// objective or measure gets status kNotAdded, value -infinity and cell -1 and is counted in
// counters[kCounterRejectedNonFinite]. Any other row gets kNew in an empty cell, kImproveExisting
// when its objective is strictly above the elite's, and kNotAdded otherwise. The candidates
// (kNew and kImproveExisting rows) of one cell compete: the highest objective enters, and ties
// go to the earliest row in batch order. Cells filled for the first time are appended to
// occupied_cells in the batch order of their first candidate, which is the order qd uses.
//
// A batch runs four steps, in this order (add_batch does it):
//   ArchiveJudgeStep   flat over N: status, value and cell of each row, and each cell's winner
//                      key and first candidate through atomics
//   ArchiveCommitStep  flat over N: each cell's winner writes its elite, and each cell's first
//                      candidate marks itself in first_candidate_flags
//   ArchiveAppendStep  one block: appends the new cells to occupied_cells in batch order
//   ArchiveResetStep   flat over N: puts the scratch arrays back at rest
//
// Restarts read the archive through occupied_cells and counters[kCounterOccupiedCells]. As in
// qd::GridArchive::sample_elites, a uniformly drawn elite is the cell occupied_cells[k] for k
// uniform below that count.
//
// Shape legend: N batch rows, S solution size, C cells (dims[0] x dims[1]), M = 2 measures,
// R rows that first_candidate_flags can take (the largest batch).
#pragma once

#include <climits>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/search_step.h"
#include "qd/add_status.h"

namespace lsi::search {

// The device archive has exactly two measures: boldness (measure 0) and lightness (measure 1).
constexpr int kMeasureDim = 2;

// Layout of ArchiveView::counters.
constexpr int kCounterOccupiedCells = 0;      // number of occupied cells
constexpr int kCounterRejectedNonFinite = 1;  // rows rejected for a non-finite value, in total
constexpr int kArchiveCounters = 2;

// Values the scratch arrays hold between batches; clear_archive sets them.
constexpr unsigned long long kWinnerKeyAtRest = 0;
constexpr int kFirstCandidateAtRest = INT_MAX;
constexpr int kFirstCandidateFlagAtRest = 0;

// Values of first_candidate_flags[i] between ArchiveCommitStep and ArchiveResetStep when row i
// is the first candidate of its cell (kFirstCandidateFlagAtRest for every other row).
constexpr int kFirstCandidateOfOccupiedCell = 1;
constexpr int kFirstCandidateOfEmptyCell = 2;

// Statuses as stored in AddResultView::status, the values of qd::AddStatus.
constexpr signed char kStatusNotAdded = static_cast<signed char>(qd::AddStatus::kNotAdded);
constexpr signed char kStatusImproveExisting =
    static_cast<signed char>(qd::AddStatus::kImproveExisting);
constexpr signed char kStatusNew = static_cast<signed char>(qd::AddStatus::kNew);

// Added to dims * (measure - low) before the division, as qd::GridArchive::kIndexEpsilon.
constexpr double kIndexEpsilon = 1e-6;

// The archive in device memory (host memory when a HostExecutor runs the steps). Entries of
// unoccupied cells in objectives, measures, solutions and iterations are unspecified, as in
// qd::GridArchive.
struct ArchiveView {
  int solution_dim;               // S
  int dims[kMeasureDim];          // cells per measure; cell = index0 * dims[1] + index1
  double lower[kMeasureDim];      // low end of each measure's range
  double upper[kMeasureDim];      // high end of each measure's range
  long long n_cells;              // C = dims[0] * dims[1]
  long long batch_capacity_rows;  // R: rows of first_candidate_flags, the largest batch allowed

  unsigned char* occupied;     // (C) 1 if the cell contains an elite, else 0
  double* objectives;          // (C) elite objective, (double) of the evaluator's float
  double* measures;            // (C x M) row-major, (double) of the evaluator's floats
  float* solutions;            // (C x S) row-major
  long long* iterations;       // (C) iteration in which the elite entered
  long long* occupied_cells;   // (C) the first counters[kCounterOccupiedCells] entries are the
                               // occupied cells in the order they were first filled
  unsigned long long* counters;  // (kArchiveCounters) see kCounterOccupiedCells

  // Scratch of one batch, at rest (kWinnerKeyAtRest, kFirstCandidateAtRest,
  // kFirstCandidateFlagAtRest) before and after every add_batch.
  unsigned long long* winner_key;  // (C) max of winner_key_of() over the cell's candidates
  int* first_candidate;            // (C) smallest batch row among the cell's candidates
  int* first_candidate_flags;      // (R) see kFirstCandidateOfOccupiedCell
};

// One batch of evaluated solutions in device memory, as the evaluator writes them.
struct BatchView {
  long long n_batch;          // N
  const float* solutions;     // (N x S) row-major
  const float* objectives;    // (N)
  const float* boldness;      // (N) measure 0
  const float* lightness;     // (N) measure 1
  const long long* iteration;  // (1) stored with each entering elite; a pointer so that a CUDA
                               // graph can replay the batch with a new value
};

// The per-row outcome of one batch, as qd::AddResult has it, plus each row's cell.
struct AddResultView {
  signed char* status;  // (N) kStatusNotAdded, kStatusImproveExisting or kStatusNew
  double* value;        // (N) objective for kNew, objective - elite objective for the others
                        // (-infinity for a non-finite row)
  long long* cell;      // (N) cell of the row, -1 for a non-finite row
};

namespace detail {

LSI_HD inline unsigned int float_bits(float value) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(value);
#else
  unsigned int bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
#endif
}

// True unless the value is NaN or infinite (all exponent bits set).
LSI_HD inline bool is_finite(float value) {
  constexpr unsigned int kExponentMask = 0x7F800000u;
  return (float_bits(value) & kExponentMask) != kExponentMask;
}

LSI_HD inline double negative_infinity() {
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(static_cast<long long>(0xFFF0000000000000ull));
#else
  return -HUGE_VAL;
#endif
}

// Cell index along one measure: floor((dims * (m - low) + kIndexEpsilon) / (high - low))
// clipped to [0, dims - 1], the rule of qd::GridArchive::index_of.
// NOTE: compilers may fuse dims * (m - low) + kIndexEpsilon into one FMA (GCC does in qd with
// -march=native, nvcc does by default). For a float measure and a low end with few significant
// bits, such as 0 and 0.5, m - low and the product are exact. The fusion then changes nothing
// inside the range, and outside it both results clip to the same edge cell.
LSI_HD inline long long measure_index(double measure, int dims, double low, double high) {
  const double scaled = (dims * (measure - low) + kIndexEpsilon) / (high - low);
  const double index = floor(scaled);
  const double last = static_cast<double>(dims - 1);
  const double clipped = index < 0.0 ? 0.0 : (last < index ? last : index);
  return static_cast<long long>(clipped);
}

}  // namespace detail

// Returns the flat cell of the finite measures (boldness, lightness), row-major.
LSI_HD inline long long cell_of(const ArchiveView& archive, float boldness, float lightness) {
  const long long index0 = detail::measure_index(boldness, archive.dims[0], archive.lower[0],
                                                 archive.upper[0]);
  const long long index1 = detail::measure_index(lightness, archive.dims[1], archive.lower[1],
                                                 archive.upper[1]);
  return index0 * archive.dims[1] + index1;
}

// Returns a key whose maximum over a cell's candidates picks the row that enters. The high 32
// bits order the float objectives, and any key is above kWinnerKeyAtRest. The low 32 bits are
// 0xFFFFFFFF - row, so that on equal objectives the smallest row wins. -0 is keyed as +0,
// because the two compare equal in qd's comparison of objectives.
LSI_HD inline unsigned long long winner_key_of(float objective, long long row) {
  constexpr unsigned int kSignBit = 0x80000000u;
  constexpr unsigned long long kLowWord = 0xFFFFFFFFull;
  const unsigned int bits = detail::float_bits(objective == 0.0f ? 0.0f : objective);
  // Negative floats order backwards as integers, so flip all their bits, and lift the positive
  // ones above them.
  const unsigned int ordered = (bits & kSignBit) != 0 ? ~bits : (bits | kSignBit);
  return (static_cast<unsigned long long>(ordered) << 32) |
         (kLowWord - static_cast<unsigned long long>(row));
}

// Returns the batch row that winner_key_of encoded in the key.
LSI_HD inline long long winner_row_of(unsigned long long key) {
  constexpr unsigned long long kLowWord = 0xFFFFFFFFull;
  return static_cast<long long>(kLowWord - (key & kLowWord));
}

// Judges row i against the pre-batch archive (step 1 of add_batch). Candidates raise their
// cell's winner_key and lower its first_candidate.
struct ArchiveJudgeStep {
  ArchiveView archive;
  BatchView batch;
  AddResultView result;

  LSI_HD void operator()(long long i) const {
    const float objective_f = batch.objectives[i];
    const float boldness = batch.boldness[i];
    const float lightness = batch.lightness[i];
    if (!detail::is_finite(objective_f) || !detail::is_finite(boldness) ||
        !detail::is_finite(lightness)) {
      // The lowest value, so that a rejected row ranks below every finite one.
      result.status[i] = kStatusNotAdded;
      result.value[i] = detail::negative_infinity();
      result.cell[i] = -1;
      atomic_add(&archive.counters[kCounterRejectedNonFinite], 1ull);
      return;
    }

    const long long cell = cell_of(archive, boldness, lightness);
    result.cell[i] = cell;

    // The same double arithmetic as qd, on the objective converted as the CPU path converts it.
    const double objective = static_cast<double>(objective_f);
    if (archive.occupied[cell] == 0) {
      result.status[i] = kStatusNew;
      result.value[i] = objective;
    } else if (objective > archive.objectives[cell]) {
      result.status[i] = kStatusImproveExisting;
      result.value[i] = objective - archive.objectives[cell];
    } else {
      result.status[i] = kStatusNotAdded;
      result.value[i] = objective - archive.objectives[cell];
      return;
    }

    atomic_max(&archive.winner_key[cell], winner_key_of(objective_f, i));
    atomic_min(&archive.first_candidate[cell], static_cast<int>(i));
  }
};

// Step 2 of add_batch. The winner of each cell writes its elite, and the first candidate of
// each cell records in first_candidate_flags whether the cell was empty before the batch. All
// candidates of a cell share that, so the first candidate reads it from its own status.
struct ArchiveCommitStep {
  ArchiveView archive;
  BatchView batch;
  AddResultView result;

  LSI_HD void operator()(long long i) const {
    const signed char status = result.status[i];
    if (status == kStatusNotAdded) return;
    const long long cell = result.cell[i];

    if (archive.first_candidate[cell] == i) {
      archive.first_candidate_flags[i] =
          status == kStatusNew ? kFirstCandidateOfEmptyCell : kFirstCandidateOfOccupiedCell;
    }

    if (winner_row_of(archive.winner_key[cell]) != i) return;
    archive.occupied[cell] = 1;
    archive.objectives[cell] = static_cast<double>(batch.objectives[i]);
    archive.measures[cell * kMeasureDim + 0] = static_cast<double>(batch.boldness[i]);
    archive.measures[cell * kMeasureDim + 1] = static_cast<double>(batch.lightness[i]);
    archive.iterations[cell] = *batch.iteration;
    const int n_solution = archive.solution_dim;
    const float* source = batch.solutions + i * n_solution;
    float* target = archive.solutions + cell * n_solution;
    for (int j = 0; j < n_solution; ++j) target[j] = source[j];
  }
};

// Step 3 of add_batch, one block: appends the cells whose first candidate is flagged
// kFirstCandidateOfEmptyCell to occupied_cells, in batch order, and adds their number to
// counters[kCounterOccupiedCells]. Each thread owns a contiguous chunk of ceil(N / kThreads)
// rows. Phase 0 counts each chunk's new cells, phases 1 .. kScanPhases turn the counts into
// an inclusive prefix sum (Hillis-Steele, double-buffered), the next phase writes the cells,
// and the last one updates the counter, which the writing phase reads.
struct ArchiveAppendStep {
  static constexpr int kThreads = 1024;
  static constexpr int kScanPhases = 10;  // log2(kThreads)
  static_assert(1 << kScanPhases == kThreads, "kScanPhases must be log2(kThreads)");

  ArchiveView archive;
  AddResultView result;
  long long n_batch;  // N

  // Three int arrays of kThreads: each chunk's count, and the two buffers of the scan.
  size_t shared_bytes() const { return 3 * kThreads * sizeof(int); }

  LSI_HD int operator()(int phase, int /*block*/, int thread, unsigned char* shared) const {
    int* counts = reinterpret_cast<int*>(shared);
    int* scan_even = counts + kThreads;  // written by even scan phases
    int* scan_odd = scan_even + kThreads;  // written by odd scan phases
    constexpr int kWritePhase = kScanPhases + 1;
    constexpr int kCounterPhase = kScanPhases + 2;
    // The scan's last phase leaves the inclusive sums in this buffer.
    int* inclusive = kScanPhases % 2 == 0 ? scan_even : scan_odd;

    const long long chunk = (n_batch + kThreads - 1) / kThreads;
    const long long begin = chunk * thread < n_batch ? chunk * thread : n_batch;
    const long long end = begin + chunk < n_batch ? begin + chunk : n_batch;

    if (phase == 0) {
      int count = 0;
      for (long long row = begin; row < end; ++row) {
        count += archive.first_candidate_flags[row] == kFirstCandidateOfEmptyCell ? 1 : 0;
      }
      counts[thread] = count;
      scan_even[thread] = count;
      return 1;
    }

    if (phase <= kScanPhases) {
      const int offset = 1 << (phase - 1);
      const int* source = phase % 2 == 1 ? scan_even : scan_odd;
      int* target = phase % 2 == 1 ? scan_odd : scan_even;
      target[thread] = source[thread] + (thread >= offset ? source[thread - offset] : 0);
      return phase + 1;
    }

    if (phase == kWritePhase) {
      long long position = static_cast<long long>(archive.counters[kCounterOccupiedCells]) +
                           inclusive[thread] - counts[thread];
      for (long long row = begin; row < end; ++row) {
        if (archive.first_candidate_flags[row] == kFirstCandidateOfEmptyCell) {
          archive.occupied_cells[position] = result.cell[row];
          ++position;
        }
      }
      return kCounterPhase;
    }

    if (thread == 0) {
      archive.counters[kCounterOccupiedCells] +=
          static_cast<unsigned long long>(inclusive[kThreads - 1]);
    }
    return kBlockDone;
  }
};

// Step 4 of add_batch: each cell's first candidate puts the cell's scratch back at rest, and
// every row clears its flag.
struct ArchiveResetStep {
  ArchiveView archive;
  AddResultView result;

  LSI_HD void operator()(long long i) const {
    if (archive.first_candidate_flags[i] == kFirstCandidateFlagAtRest) return;
    const long long cell = result.cell[i];
    archive.winner_key[cell] = kWinnerKeyAtRest;
    archive.first_candidate[cell] = kFirstCandidateAtRest;
    archive.first_candidate_flags[i] = kFirstCandidateFlagAtRest;
  }
};

// Empties the archive as qd::GridArchive::clear does (occupied flags and both counters), and
// puts the scratch at rest, so that it also initialises freshly allocated memory. Flat over
// max(C, R).
struct ArchiveClearStep {
  ArchiveView archive;

  LSI_HD void operator()(long long i) const {
    if (i < archive.n_cells) {
      archive.occupied[i] = 0;
      archive.winner_key[i] = kWinnerKeyAtRest;
      archive.first_candidate[i] = kFirstCandidateAtRest;
    }
    if (i < archive.batch_capacity_rows) {
      archive.first_candidate_flags[i] = kFirstCandidateFlagAtRest;
    }
    if (i < kArchiveCounters) archive.counters[i] = 0;
  }
};

// Adds one batch to the archive and writes each row's outcome (see the file comment), running
// the four steps on the executor. Throws std::invalid_argument, before running anything, when
// n_batch is negative, above batch_capacity_rows, or not below INT_MAX, because
// first_candidate stores rows as int with INT_MAX at rest.
template <typename Executor>
void add_batch(const Executor& executor, const ArchiveView& archive, const BatchView& batch,
               const AddResultView& result) {
  const long long n_batch = batch.n_batch;
  if (n_batch < 0 || n_batch > archive.batch_capacity_rows || n_batch >= INT_MAX) {
    throw std::invalid_argument("add_batch: invalid n_batch = " + std::to_string(n_batch) +
                                "; expected 0 <= n_batch <= batch_capacity_rows = " +
                                std::to_string(archive.batch_capacity_rows) +
                                " and n_batch < INT_MAX");
  }

  executor.run_flat(ArchiveJudgeStep{archive, batch, result}, n_batch);

  executor.run_flat(ArchiveCommitStep{archive, batch, result}, n_batch);

  executor.run_blocks(ArchiveAppendStep{archive, result, n_batch}, 1);

  executor.run_flat(ArchiveResetStep{archive, result}, n_batch);
}

// Empties the archive and puts its scratch at rest (ArchiveClearStep).
template <typename Executor>
void clear_archive(const Executor& executor, const ArchiveView& archive) {
  const long long n = archive.n_cells > archive.batch_capacity_rows ? archive.n_cells
                                                                    : archive.batch_capacity_rows;
  executor.run_flat(ArchiveClearStep{archive}, n > kArchiveCounters ? n : kArchiveCounters);
}

}  // namespace lsi::search
