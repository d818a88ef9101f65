// Outcome of offering one solution to an archive.
#pragma once

#include <cstdint>

namespace lsi::qd {

// The numeric values match pyribs's add statuses, so rankers can sort by them directly.
enum class AddStatus : std::int8_t {
  kNotAdded = 0,         // rejected: not better than the cell's elite, or not finite
  kImproveExisting = 1,  // replaces an elite with a strictly lower objective
  kNew = 2,              // fills a cell that was empty
};

// Returns "not_added", "improve_existing" or "new".
inline const char* to_string(AddStatus status) {
  switch (status) {
    case AddStatus::kNotAdded:
      return "not_added";
    case AddStatus::kImproveExisting:
      return "improve_existing";
    case AddStatus::kNew:
      return "new";
  }
  return "invalid";
}

}  // namespace lsi::qd
