// The device search's Philox functions (kernels/philox_steps.h) and emitter steps
// (kernels/search_emitter_steps.h), run on the CPU by HostExecutor in both index orders and
// checked against qd::PhiloxStream and qd::ImprovementEmitter.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/philox_steps.h"
#include "kernels/search_emitter_steps.h"
#include "kernels/search_host_executor.h"
#include "qd/cma_es.h"
#include "qd/improvement_emitter.h"
#include "qd/philox.h"
#include "qd/ranker.h"
#include "search_emitter_checks.h"

namespace {

namespace qd = lsi::qd;
namespace search = lsi::search;
using lsi_test::EmitterBuffers;
using lsi_test::EmitterCoverage;
using lsi_test::EmitterScenario;

static_assert(static_cast<int>(search::RankerKind::kImprovement) ==
              static_cast<int>(qd::RankerKind::kImprovement));
static_assert(static_cast<int>(search::SelectionRule::kMu) ==
              static_cast<int>(qd::SelectionRule::kMu));
static_assert(static_cast<int>(search::RestartRule::kBasic) ==
              static_cast<int>(qd::RestartRule::kBasic));
static_assert(static_cast<int>(search::CmaStopReason::kConditionNumber) ==
              static_cast<int>(qd::CmaStopReason::kConditionNumber));
static_assert(static_cast<int>(search::CmaStopReason::kStepTooSmall) ==
              static_cast<int>(qd::CmaStopReason::kStepTooSmall));
static_assert(static_cast<int>(search::CmaStopReason::kFlatRanking) ==
              static_cast<int>(qd::CmaStopReason::kFlatRanking));
static_assert(static_cast<int>(search::CmaStopReason::kNonFinite) ==
              static_cast<int>(qd::CmaStopReason::kNonFinite));
static_assert(search::kMaxConditionNumber == qd::CmaEs::kMaxConditionNumber);
static_assert(search::kMinStepSize == qd::CmaEs::kMinStepSize);
static_assert(search::kFlatRankingTolerance == qd::CmaEs::kFlatRankingTolerance);

class HostEmitterRunner : public lsi_test::EmitterRunner {
 public:
  explicit HostEmitterRunner(bool reverse_order)
      : executor_(reverse_order), reverse_(reverse_order) {}
  std::string name() const override { return reverse_ ? "host reversed" : "host"; }
  void schedule_eigen(EmitterBuffers& b) override { search::schedule_eigen(executor_, b.view()); }
  void sample(EmitterBuffers& b) override { search::sample(executor_, b.view()); }
  void tell(EmitterBuffers& b, const std::vector<signed char>& status,
            const std::vector<double>& value) override {
    search::tell(executor_, b.view(), status.data(), value.data());
  }

 private:
  search::HostExecutor executor_;
  bool reverse_;
};

}  // namespace

TEST_CASE("philox_block matches qd") {
  const std::uint64_t seeds[] = {0, 1, 0x0123456789abcdefull, ~0ull};
  const std::uint64_t stream_ids[] = {0, 5, 0xfedcba9876543210ull};
  const std::uint64_t blocks[] = {0, 1, 77, 0xffffffffull, 0x100000000ull, ~0ull};
  for (const std::uint64_t seed : seeds) {
    for (const std::uint64_t stream_id : stream_ids) {
      for (const std::uint64_t block : blocks) {
        const qd::PhiloxCounter expected = qd::philox4x32_10(
            {static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32),
             static_cast<std::uint32_t>(stream_id), static_cast<std::uint32_t>(stream_id >> 32)},
            {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)});
        const search::PhiloxWords actual = search::philox_block(seed, stream_id, block);
        CAPTURE(seed);
        CAPTURE(stream_id);
        CAPTURE(block);
        for (int w = 0; w < 4; ++w) CHECK(actual.w[w] == expected[w]);
      }
    }
  }
  // The stream's own blocks, in order.
  qd::PhiloxStream stream(42, 3);
  for (std::uint64_t block = 0; block < 100; ++block) {
    const qd::PhiloxCounter expected = stream.next_block();
    const search::PhiloxWords actual = search::philox_block(42, 3, block);
    for (int w = 0; w < 4; ++w) CHECK(actual.w[w] == expected[w]);
  }
}

TEST_CASE("philox_normal_pair matches qd") {
  constexpr std::int64_t kBlocks = 200000;
  double max_error = 0.0;
  double max_abs_value = 0.0;
  for (const std::uint64_t stream_id : {0ull, 1ull, 99ull}) {
    qd::PhiloxStream stream(1234, stream_id);
    std::vector<double> expected(2 * kBlocks);
    stream.fill_normal(expected.data(), 2 * kBlocks);
    for (std::int64_t b = 0; b < kBlocks; ++b) {
      const search::NormalPair pair = search::philox_normal_pair(1234, stream_id, b);
      max_error = std::max(max_error, std::fabs(pair.first - expected[2 * b]));
      max_error = std::max(max_error, std::fabs(pair.second - expected[2 * b + 1]));
      max_abs_value = std::max({max_abs_value, std::fabs(pair.first), std::fabs(pair.second)});
    }
  }
  std::printf("philox normals: %lld values, max |z| %.3f, max abs error %.3g\n",
              static_cast<long long>(6 * kBlocks), max_abs_value, max_error);
  CHECK(max_error <= lsi_test::kNormalTolerance);
}

TEST_CASE("philox_uniform_below matches qd") {
  // n = 2^63 + 1 rejects almost half of the draws, so the block positions are tested too.
  const std::uint64_t bounds[] = {1, 2, 3, 7, 1000, 144, (1ull << 63) + 1, ~0ull};
  for (const std::uint64_t n : bounds) {
    CAPTURE(n);
    qd::PhiloxStream stream(7, 2);
    unsigned long long block_index = 0;
    for (int draw = 0; draw < 500; ++draw) {
      const std::uint64_t expected = stream.uniform_below(n);
      const std::uint64_t actual = search::philox_uniform_below(7, 2, n, &block_index);
      CHECK(actual == expected);
      CHECK(block_index == stream.n_blocks_used());
    }
  }
  unsigned long long block_index = 5;
  CHECK(search::philox_uniform_below(7, 2, 0, &block_index) == 0);
  CHECK(block_index == 5);
}

TEST_CASE("check_emitter_view rejects an odd lambda * n") {
  EmitterBuffers b;
  b.config.n = 3;
  b.config.lambda = 5;
  b.config.n_emitters = 1;
  b.config.sigma0 = 0.5;
  b.config.chiN = 1.0;
  b.resize(4);
  CHECK_THROWS_AS(search::check_emitter_view(b.view()), std::invalid_argument);
  b.config.lambda = 6;
  b.resize(4);
  CHECK_NOTHROW(search::check_emitter_view(b.view()));
  search::EmitterView missing = b.view();
  missing.weighted_steps = nullptr;
  CHECK_THROWS_AS(search::check_emitter_view(missing), std::invalid_argument);
}

TEST_CASE("rank step with NaN values") {
  // qd::rank_batch rejects NaN values. The rank step ranks them as -infinity, so the ranking
  // stays a permutation: here rows 1 and 3 (NaN) tie with row 4 (-infinity), later index first.
  const double nan = std::nan("");
  const double inf = HUGE_VAL;
  const std::vector<double> value = {0.5, nan, 2.0, nan, -inf, 1.0};
  const std::vector<signed char> status = {1, 1, 1, 1, 1, 1};
  for (const bool reverse_order : {false, true}) {
    EmitterBuffers b;
    b.config.n = 2;
    b.config.lambda = 6;
    b.config.n_emitters = 1;
    b.config.ranker = search::RankerKind::kImprovement;
    b.resize(1);
    search::HostExecutor(reverse_order)
        .run_flat(search::RankStep{b.view(), status.data(), value.data()}, 6);
    CHECK(b.ranking == std::vector<int>{2, 5, 0, 4, 3, 1});
  }
}

TEST_CASE("emitter steps match qd::ImprovementEmitter") {
  for (const EmitterScenario& scenario : lsi_test::emitter_scenarios()) {
    for (const bool reverse_order : {false, true}) {
      HostEmitterRunner runner(reverse_order);
      const EmitterCoverage coverage = lsi_test::check_emitter_scenario(scenario, runner);
      lsi_test::check_emitter_coverage(scenario, coverage);
    }
  }
}
