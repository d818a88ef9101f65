// A start-up check that the GPU evaluator agrees with the CPU one on a small fixed batch, so a
// broken GPU path is caught before a run trusts it.
#pragma once

#include <string>

#include "engine/backend.h"
#include "engine/weight_paths.h"

namespace lsi {

// Runs every network that `paths` names on `candidate` and on the CPU backend, on 7 fixed
// latents and their images. Returns an empty string when they agree within the engine's
// tolerances (images 1e-5, probabilities, log-probabilities and scores 1e-4). Otherwise the
// message names the first output that differs and by how much.
std::string disagreement_with_cpu(Backend& candidate, const WeightPaths& paths);

}  // namespace lsi
