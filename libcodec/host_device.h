// LMZ_HD marks a function that runs on the CPU and, compiled by nvcc, on
// the GPU as well: integer arithmetic written once (the engine's LSTM steps,
// the mixing stages' per-bit code), so the arithmetic the GPU runs is the
// arithmetic CPU CI tests. Such functions must not allocate, throw, call
// virtual functions or use std:: calls that device code cannot make.
#pragma once

#if defined(__CUDACC__)
#define LMZ_HD __host__ __device__ __forceinline__
#else
#define LMZ_HD inline
#endif
