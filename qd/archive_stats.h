// Summary statistics of an archive, in pyribs's terms.
#pragma once

#include <cstdint>

namespace lsi::qd {

struct ArchiveStats {
  std::int64_t num_elites = 0;  // occupied cells
  double coverage = 0.0;        // num_elites / number of cells, in [0, 1]
  double qd_score = 0.0;        // sum of elite objectives, with pyribs's default offset of 0
  double obj_max = 0.0;         // best elite objective; NaN when the archive is empty
  double obj_mean = 0.0;        // mean elite objective; NaN when the archive is empty
};

}  // namespace lsi::qd
