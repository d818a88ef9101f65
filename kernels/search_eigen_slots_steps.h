// Deferred eigendecompositions, so that the 128 x 128 eigensolver (search_eigen_steps.h, about a
// millisecond or more per matrix) never sits in the loop's path.
//
// An emitter whose decomposition is due in iteration t (qd::CmaEs's lazy rule, applied by
// ScheduleEigenStep) gets a request in slot t mod d: a copy of its C, of its eigenvectors as the
// warm start, and of its restart count. DeviceSearch decomposes slot t mod d on a second stream
// while iterations t + 1 .. t + d - 1 run. The start of iteration t + d commits the result: B
// and D take the new eigensystem. If the emitter has restarted since the request, the result
// belongs to a covariance that no longer exists, and it is dropped. The loop waits
// for a decomposition only when it is still running d iterations after its request.
//
// Against the CPU search (qd::CmaEs decomposes at once), B and D arrive d iterations later, and
// the emitter's own C is not symmetrised (the request's copy is). So sampling, C^(-1/2) in the ps
// update and the stop tests on D (condition number, step size) all use the eigensystem of a C
// that is at least d iterations old. Everything is deterministic: the commit iteration does not
// depend on timing. EmulatedSearch decomposes each slot right after its iteration, which gives
// the same results.
//
// Shape legend: E emitters, n solution size, d slots (the delay in iterations).
#pragma once

#include "kernels/search_eigen_steps.h"
#include "kernels/search_emitter_steps.h"
#include "kernels/search_step.h"

namespace lsi::search {

struct EigenSlotsView {
  int n = 0;                           // solution size
  int n_emitters = 0;                  // E
  int n_slots = 0;                     // d, at least 1
  const long long* iteration = nullptr;  // (1) the iteration running, from 1
  int* due = nullptr;                  // (d x E) 1 when the slot has a request for the emitter
  double* C = nullptr;                 // (d x E x n x n) the emitter's C at the request
  double* B = nullptr;                 // (d x E x n x n) warm start in, eigenvectors out
  double* D = nullptr;                 // (d x E x n) square roots of the eigenvalues, out
  int* eigen_identity = nullptr;       // (d x E) 1 when B was the identity at the request
  int* n_sweeps = nullptr;             // (d x E) -1 until a decomposition succeeds
  long long* restart_stamp = nullptr;  // (d x E) the emitter's restart count at the request
};

// The slot that iteration `iteration` commits and then refills.
LSI_HD inline int eigen_slot_of(long long iteration, int n_slots) {
  return static_cast<int>(iteration % n_slots);
}

// The index of emitter e's request in the slot of the iteration running, in the (d x E) arrays.
LSI_HD inline long long eigen_request_index(const EigenSlotsView& slots, long long e) {
  return eigen_slot_of(*slots.iteration, slots.n_slots) *
             static_cast<long long>(slots.n_emitters) + e;
}

// The eigensolver's view of one slot.
inline EigenView eigen_slot_view(const EigenSlotsView& slots, int slot) {
  const long long n = slots.n;
  const long long per_slot = static_cast<long long>(slots.n_emitters);
  EigenView view;
  view.n = slots.n;
  view.n_emitters = slots.n_emitters;
  view.due = slots.due + slot * per_slot;
  view.C = slots.C + slot * per_slot * n * n;
  view.B = slots.B + slot * per_slot * n * n;
  view.D = slots.D + slot * per_slot * n;
  view.eigen_identity = slots.eigen_identity + slot * per_slot;
  view.n_sweeps = slots.n_sweeps + slot * per_slot;
  return view;
}

// First step of an iteration, flat over E x n x n: installs the eigensystems requested d
// iterations ago, for emitters that have not restarted since.
struct EigenCommitStep {
  EigenSlotsView slots;
  EmitterView emitters;

  LSI_HD void operator()(long long i) const {
    const long long n = slots.n;
    const long long e = i / (n * n);
    const long long entry = i % (n * n);
    const long long request = eigen_request_index(slots, e);
    const bool succeeded = slots.due[request] != 0 && slots.n_sweeps[request] > 0;
    if (!succeeded || slots.restart_stamp[request] != emitters.restarts[e]) return;

    emitters.B[e * n * n + entry] = slots.B[request * n * n + entry];
    if (entry < n) emitters.D[e * n + entry] = slots.D[request * n + entry];
    if (entry == 0) emitters.eigen_identity[e] = 0;
  }
};

// After ScheduleEigenStep, flat over E x n x n: refills the slot with this iteration's requests
// (a copy of C and of B for each emitter due), and clears it for the others.
struct EigenRequestStep {
  EigenSlotsView slots;
  EmitterView emitters;

  LSI_HD void operator()(long long i) const {
    const long long n = slots.n;
    const long long e = i / (n * n);
    const long long entry = i % (n * n);
    const long long request = eigen_request_index(slots, e);
    const bool due = emitters.due[e] != 0;
    if (entry == 0) {
      slots.due[request] = due ? 1 : 0;
      slots.n_sweeps[request] = -1;
      slots.eigen_identity[request] = emitters.eigen_identity[e];
      slots.restart_stamp[request] = emitters.restarts[e];
    }
    if (!due) return;
    slots.C[request * n * n + entry] = emitters.C[e * n * n + entry];
    slots.B[request * n * n + entry] = emitters.B[e * n * n + entry];
  }
};

// Commits the requests of d iterations ago, applies the lazy rule and files this iteration's
// requests (the ask's first part).
template <typename Executor>
void schedule_eigen_slots(const Executor& executor, const EigenSlotsView& slots,
                          const EmitterView& emitters) {
  const long long n_entries = static_cast<long long>(slots.n_emitters) * slots.n * slots.n;
  executor.run_flat(EigenCommitStep{slots, emitters}, n_entries);

  schedule_eigen(executor, emitters);

  executor.run_flat(EigenRequestStep{slots, emitters}, n_entries);
}

// Decomposes the requests in `slot`; DeviceSearch runs this on its second stream.
template <typename Executor>
void decompose_slot(const Executor& executor, const EigenSlotsView& slots, int slot) {
  decompose_due(executor, eigen_slot_view(slots, slot));
}

}  // namespace lsi::search
