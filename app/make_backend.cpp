// Backend selection.
#include "app/make_backend.h"

#include <cstdio>
#include <stdexcept>

#include "app/backend_check.h"

#ifdef LSI_HAVE_CUDA
#include "kernels/cuda_backend.h"
#endif

namespace lsi {

bool cuda_available(std::string* reason) {
#ifdef LSI_HAVE_CUDA
  return cuda_device_usable(reason);
#else
  if (reason) *reason = "this build of lsi-cuda has no CUDA backend (nvcc was not found)";
  return false;
#endif
}

std::unique_ptr<Backend> make_backend(const std::string& device, const WeightPaths& paths) {
  if (device != "cpu" && device != "cuda" && device != "auto") {
    throw std::invalid_argument("unknown device '" + device + "': use cpu, cuda or auto");
  }
  if (device == "cpu") return std::make_unique<CpuBackend>(paths);

  std::string reason;
  const bool usable = cuda_available(&reason);
  if (!usable && device == "cuda") {
    throw std::runtime_error("--device cuda: " + reason + "; use --device cpu or auto");
  }
  if (!usable) return std::make_unique<CpuBackend>(paths);
#ifdef LSI_HAVE_CUDA
  // The GPU evaluator must agree with the CPU on a small batch before anything trusts it.
  std::unique_ptr<Backend> cuda = std::make_unique<CudaBackend>(paths);
  const std::string disagreement = disagreement_with_cpu(*cuda, paths);
  if (disagreement.empty()) return cuda;
  if (device == "cuda") throw std::runtime_error("--device cuda: " + disagreement);
  std::fprintf(stderr, "lsi-cuda: warning: %s; using the CPU\n", disagreement.c_str());
  return std::make_unique<CpuBackend>(paths);
#else
  return nullptr;  // unreachable: cuda_available() is false without CUDA
#endif
}

}  // namespace lsi
