// Rankers that order an emitter's batch from the archive's add statuses and values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qd/add_result.h"

namespace lsi::qd {

enum class RankerKind {
  // "2imp": status descending (new, then improved, then not added), then value descending.
  // This is pyribs's TwoStageImprovementRanker, the ranking of CMA-ME's improvement emitter.
  kTwoStageImprovement,
  // "imp": value descending only, pyribs's ImprovementRanker.
  kImprovement,
};

// Returns the pyribs abbreviation, "2imp" or "imp".
const char* to_string(RankerKind kind);

// Parses "2imp" or "imp"; throws std::invalid_argument on any other name.
RankerKind parse_ranker_kind(const std::string& name);

// Writes the indices 0..n-1 of the batch rows [first_row, first_row + n) of add_result into
// order, best first. Ties go to the later batch index, because pyribs reverses an ascending,
// stable np.lexsort for "2imp", which puts the later of two equal entries first. We use the same
// rule for "imp", whose np.argsort in pyribs leaves the order of ties unspecified.
void rank_batch(RankerKind kind, const AddResult& add_result, std::int64_t first_row, int n,
                std::vector<int>& order);

}  // namespace lsi::qd
