// The device eigendecomposition step (kernels/search_eigen_steps.h) run on the CPU by
// HostExecutor, threads in normal and reversed order, against LAPACK's dsyevd.
#include <doctest/doctest.h>

#include <cfloat>
#include <stdexcept>
#include <string>

#include "kernels/search_eigen_steps.h"
#include "kernels/search_host_executor.h"
#include "search_eigen_checks.h"

namespace {

using lsi::search::EigenStep;
using lsi::search::HostExecutor;
using lsi_test::EigenBatch;
using lsi_test::EigenRunner;

EigenRunner host_runner(bool reverse_order) {
  return [reverse_order](EigenBatch& batch) {
    lsi::search::decompose_due(HostExecutor(reverse_order), batch.view());
  };
}

std::string order_label(bool reverse_order) { return reverse_order ? "reversed: " : "normal: "; }

TEST_CASE("eigen step: cold starts and an emitter not due") {
  for (const bool reverse_order : {false, true}) {
    for (const int n : lsi_test::eigen_test_sizes()) {
      lsi_test::run_cold_case(host_runner(reverse_order), n, order_label(reverse_order));
    }
  }
}

TEST_CASE("eigen step: warm starts") {
  for (const bool reverse_order : {false, true}) {
    for (const int n : lsi_test::eigen_test_sizes()) {
      lsi_test::run_warm_case(host_runner(reverse_order), n, order_label(reverse_order));
    }
  }
}

TEST_CASE("eigen step: identity, repeated and negative eigenvalues") {
  for (const bool reverse_order : {false, true}) {
    for (const int n : lsi_test::eigen_test_sizes()) {
      lsi_test::run_special_case(host_runner(reverse_order), n, order_label(reverse_order));
    }
  }
}

TEST_CASE("eigen step: non-finite C stays untouched") {
  for (const bool reverse_order : {false, true}) {
    for (const int n : lsi_test::eigen_test_sizes()) {
      lsi_test::run_non_finite_case(host_runner(reverse_order), n, order_label(reverse_order));
    }
  }
}

TEST_CASE("eigen step: repeated warm starts") {
  lsi_test::run_repeated_warm_case(host_runner(false), 128, 20, "normal: ");
  lsi_test::run_repeated_warm_case(host_runner(false), 16, 500, "normal: ");
}

TEST_CASE("eigen step: shared memory fits the H100 and H200 opt-in limit") {
  // 227 KB is the most dynamic shared memory a block can opt into on compute capability 9.0.
  constexpr size_t kMaxSharedBytes = 227 * 1024;
  EigenStep step;
  step.view.n = lsi::search::kEigenMaxSize;
  MESSAGE("shared bytes at n = 128: " << step.shared_bytes());
  CHECK(step.shared_bytes() <= kMaxSharedBytes);
  for (int n = 2; n <= lsi::search::kEigenMaxSize; ++n) {
    step.view.n = n;
    CHECK(step.shared_bytes() <= kMaxSharedBytes);
  }
}

TEST_CASE("eigen step: invalid sizes are rejected") {
  EigenBatch batch(4, 1);
  lsi::search::EigenView view = batch.view();
  view.n = 1;
  CHECK_THROWS_AS(lsi::search::decompose_due(HostExecutor(), view), std::invalid_argument);
  view.n = lsi::search::kEigenMaxSize + 1;
  CHECK_THROWS_AS(lsi::search::decompose_due(HostExecutor(), view), std::invalid_argument);
}

}  // namespace
