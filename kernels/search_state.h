// The state of a device search in one block of memory. SearchLayout plans where each array of
// the archive, the emitters and the eigensolver lives. It builds the steps' views for a base
// address: device memory for DeviceSearch, host memory for EmulatedSearch. It also writes the
// initial state as a host image, to be copied in one piece. The read_* functions copy results
// back through a copy function that the caller gives.
//
// Shape legend: E emitters, L batch size per emitter (lambda), N = E x L rows per iteration,
// S solution size (128), C cells.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "kernels/search_archive_steps.h"
#include "kernels/search_config.h"
#include "kernels/search_eigen_slots_steps.h"
#include "kernels/search_emitter_steps.h"
#include "kernels/search_stats_steps.h"

namespace lsi::qd {
class GridArchive;
}  // namespace lsi::qd

namespace lsi::search {

// The evaluator's side of a batch: where it reads the latents and writes its outputs.
struct EvaluatorBuffers {
  float* latents;           // (N x S)
  const float* objectives;  // (N)
  const float* boldness;    // (N)
  const float* lightness;   // (N)
};

// Every view of one search, all pointing into one block of memory (and the evaluator's buffers).
struct SearchViews {
  ArchiveView archive;
  BatchView batch;
  AddResultView add_result;
  EmitterView emitters;
  EigenSlotsView eigen_slots;
  ArchiveStatsStep stats;
  long long* iteration;          // (1) number of the iteration to run next, from 1
  SearchSnapshotData* snapshot;  // (1) written by compute_snapshot()
};

class SearchLayout {
 public:
  // Throws std::invalid_argument for an invalid config (DeviceSearchConfig::validate).
  explicit SearchLayout(const DeviceSearchConfig& config);

  int n_rows() const { return config_.n_emitters * config_.batch_size; }
  std::size_t size_bytes() const { return size_bytes_; }

  // The views for the state at `base` (size_bytes(); device memory from cudaMalloc, or host
  // memory from operator new) and the evaluator's buffers.
  SearchViews views(unsigned char* base, const EvaluatorBuffers& evaluator) const;

  // size_bytes() of host memory holding the initial state, laid out as views() describes: an
  // empty archive with its scratch at rest, and every emitter as qd::CmaEs::reset leaves it at
  // x0 = 0, with its random stream at block 0 and iteration 1 to run next.
  std::vector<unsigned char> initial_image() const;

 private:
  // Assigns every pointer of the views from `base` in one fixed order, and returns the bytes
  // used. With base null it only measures (the pointers stay null).
  std::size_t carve(unsigned char* base, const EvaluatorBuffers& evaluator,
                    SearchViews& views) const;

  DeviceSearchConfig config_;
  double chiN_;
  double lazy_gap_evals_;
  std::size_t size_bytes_;
};

// Copies n_bytes from `source` (an address inside the state, or the evaluator's buffers) into
// host memory at `destination`.
using CopyToHost = std::function<void(void* destination, const void* source, std::size_t n_bytes)>;

// The snapshot that compute_snapshot() last wrote.
DeviceSearchSnapshot read_snapshot(const SearchViews& views, const CopyToHost& copy);

// Replaces the contents of `archive` (of the same shape) with the state's archive.
void read_archive(const SearchViews& views, const CopyToHost& copy, qd::GridArchive& archive);

std::vector<std::int64_t> read_restarts(const SearchViews& views, const CopyToHost& copy);

}  // namespace lsi::search
