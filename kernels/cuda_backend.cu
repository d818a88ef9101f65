// TODO: the CUDA evaluator is not written yet; until it is, no GPU is reported usable.
#include "kernels/cuda_backend.h"

#include <stdexcept>

namespace lsi {

bool cuda_device_usable(std::string* reason) {
  if (reason) *reason = "the CUDA evaluator is not implemented yet";
  return false;
}

struct CudaBackend::Impl {};

CudaBackend::CudaBackend(const WeightPaths&) {
  throw std::runtime_error("the CUDA evaluator is not implemented yet");
}
CudaBackend::~CudaBackend() = default;
void CudaBackend::evaluate(const float*, int, int, Evaluation&) {}
void CudaBackend::discriminate(const float*, int, float*) {}
void CudaBackend::classify(const float*, int, float*) {}

}  // namespace lsi
