// LMZ_HD marks integer code that is compiled for both the CPU and, under
// nvcc, CUDA devices: the coding arithmetic is written once, so the CPU
// builds (and CI) test exactly the integers the GPU computes.
#pragma once

#if defined(__CUDACC__)
#define LMZ_HD __host__ __device__ __forceinline__
#else
#define LMZ_HD inline
#endif
