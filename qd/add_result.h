// Per-solution outcome of one batch add, in batch order.
#pragma once

#include <vector>

#include "qd/add_status.h"

namespace lsi::qd {

// status[i] and value[i] describe solution i of the batch (B entries each). The value is the
// objective for kNew, the gain over the previous elite for kImproveExisting, and objective minus
// the elite's objective for kNotAdded (-infinity when the solution was rejected as not finite).
// GridArchive::add resizes both vectors, so reusing one AddResult avoids allocating per batch.
struct AddResult {
  std::vector<AddStatus> status;
  std::vector<double> value;
};

}  // namespace lsi::qd
