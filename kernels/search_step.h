// The execution model of the device search: steps that run on a GPU and, unchanged, on the CPU.
//
// Every piece of work of the device search (kernels/search_*_steps.h) is written as a step, a
// small struct of plain pointers and sizes with a __host__ __device__ operator(). A flat step
// does the work of one index i in [0, n):
//   struct ExampleFlatStep {
//     LSI_HD void operator()(long long i) const;
//   };
// A block step is one thread's share of one block's work between two barriers. A block runs
// phases: every thread runs phase p, a barrier follows, and then all threads run the phase that
// operator() returned, until it returns kBlockDone. That phase must be the same for every thread
// of the block, so it may depend only on the step's fields and on shared memory that no thread
// writes in phase p:
//   struct ExampleBlockStep {
//     static constexpr int kThreads = 128;  // threads per block
//     size_t shared_bytes() const;          // shared memory per block
//     LSI_HD int operator()(int phase, int block, int thread, unsigned char* shared) const;
//   };
// kernels/search_launch.cuh runs steps as CUDA kernels. search_host_executor.h runs them on the
// CPU, one index or one thread after another, and that is how the tests check the device search
// without a GPU. So a step may not rely on the order in which indices or threads run, and may
// touch memory that other indices write only through the atomic_* functions below.
//
// These headers are plain C++ as well as CUDA: without nvcc, LSI_HD is empty.
#pragma once

#if defined(__CUDACC__)
#define LSI_HD __host__ __device__
#else
#define LSI_HD
#endif

namespace lsi::search {

// Returned by a block step's operator() when the block has finished.
constexpr int kBlockDone = -1;

// Atomic read-modify-write operations; each returns the old value. On the CPU the executor runs
// one index at a time, so plain reads and writes are atomic there.
LSI_HD inline unsigned long long atomic_max(unsigned long long* address, unsigned long long value) {
#if defined(__CUDA_ARCH__)
  return atomicMax(address, value);
#else
  const unsigned long long old = *address;
  if (value > old) *address = value;
  return old;
#endif
}

LSI_HD inline int atomic_min(int* address, int value) {
#if defined(__CUDA_ARCH__)
  return atomicMin(address, value);
#else
  const int old = *address;
  if (value < old) *address = value;
  return old;
#endif
}

LSI_HD inline unsigned long long atomic_add(unsigned long long* address,
                                            unsigned long long value) {
#if defined(__CUDA_ARCH__)
  return atomicAdd(address, value);
#else
  const unsigned long long old = *address;
  *address = old + value;
  return old;
#endif
}

}  // namespace lsi::search
