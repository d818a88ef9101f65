// Progress of a long run on stderr: a bar redrawn in place on a terminal, a plain line every few
// seconds otherwise (a log file, CI).
#pragma once

#include <chrono>
#include <cstdint>

namespace lsi {

struct ProgressSnapshot {
  std::int64_t iteration;      // iterations done
  std::int64_t n_iterations;   // iterations asked for
  std::int64_t evaluations;
  double elapsed_s;
  double coverage;             // in [0, 1]
  double qd_score;
};

class ProgressDisplay {
 public:
  // `plain_interval_s`: seconds between lines when stderr is not a terminal.
  explicit ProgressDisplay(double plain_interval_s = 5.0);

  // Whether update() at elapsed_s would show anything, so that callers can skip computing a
  // snapshot that would not be shown.
  bool is_due(double elapsed_s, bool force = false) const;

  // Shows the snapshot if enough time has passed since the last one (always when `force`).
  void update(const ProgressSnapshot& snapshot, bool force = false);

  // Ends the bar's line on a terminal.
  void finish();

 private:
  bool is_terminal_;
  double interval_s_;
  double last_shown_s_ = -1e9;
};

}  // namespace lsi
