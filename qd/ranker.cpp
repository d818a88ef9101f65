// Sorting of a batch by add status and improvement value.
#include "qd/ranker.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace lsi::qd {

const char* to_string(RankerKind kind) {
  switch (kind) {
    case RankerKind::kTwoStageImprovement:
      return "2imp";
    case RankerKind::kImprovement:
      return "imp";
  }
  return "invalid";
}

RankerKind parse_ranker_kind(const std::string& name) {
  if (name == "2imp") {
    return RankerKind::kTwoStageImprovement;
  }
  if (name == "imp") {
    return RankerKind::kImprovement;
  }
  throw std::invalid_argument("unknown ranker \"" + name + "\"; expected \"2imp\" or \"imp\"");
}

void rank_batch(RankerKind kind, const AddResult& add_result, std::int64_t first_row, int n,
                std::vector<int>& order) {
  const auto n_rows = static_cast<std::int64_t>(add_result.status.size());
  if (first_row < 0 || n < 0 || first_row + n > n_rows ||
      add_result.value.size() != add_result.status.size()) {
    throw std::invalid_argument("rank_batch: rows [" + std::to_string(first_row) + ", " +
                                std::to_string(first_row + n) + ") do not fit an add result of " +
                                std::to_string(n_rows) + " statuses and " +
                                std::to_string(add_result.value.size()) + " values");
  }
  const AddStatus* status = add_result.status.data() + first_row;
  const double* value = add_result.value.data() + first_row;
  for (int i = 0; i < n; ++i) {
    if (std::isnan(value[i])) {
      throw std::invalid_argument("rank_batch: value of batch row " +
                                  std::to_string(first_row + i) + " is NaN");
    }
  }

  order.resize(n);
  std::iota(order.begin(), order.end(), 0);

  // Strict orders: the last key, the batch index, makes every comparison decisive.
  if (kind == RankerKind::kTwoStageImprovement) {
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      if (status[a] != status[b]) {
        return status[a] > status[b];
      }
      if (value[a] != value[b]) {
        return value[a] > value[b];
      }
      return a > b;
    });
  } else {
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      if (value[a] != value[b]) {
        return value[a] > value[b];
      }
      return a > b;
    });
  }
}

}  // namespace lsi::qd
