// Choosing the evaluator's backend from the --device option.
#pragma once

#include <memory>
#include <string>

#include "engine/backend.h"
#include "engine/cpu_backend.h"

namespace lsi {

// Returns the backend for device "cpu", "cuda" or "auto" (the GPU when one is usable, else the
// CPU). Throws std::runtime_error with the reason when "cuda" is asked for and cannot be had.
std::unique_ptr<Backend> make_backend(const std::string& device, const WeightPaths& paths);

// Whether this build has the CUDA backend and a usable GPU. When not, `reason` receives why.
bool cuda_available(std::string* reason);

}  // namespace lsi
