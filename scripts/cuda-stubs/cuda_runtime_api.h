#pragma once
// Stub for scripts/check-cuda-host-code.sh: only the declarations lmz uses,
// so that its CUDA-only host code compiles (syntax and types) on a machine
// without CUDA. Not the real API; nvcc builds on the GPU machine are the test.
struct CUstream_st;
typedef CUstream_st* cudaStream_t;
struct CUgraph_st;
typedef CUgraph_st* cudaGraph_t;
enum cudaError_t { cudaSuccess = 0 };
enum cudaStreamCaptureStatus { cudaStreamCaptureStatusNone = 0, cudaStreamCaptureStatusActive = 1 };
enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1
};
cudaError_t cudaStreamIsCapturing(cudaStream_t, cudaStreamCaptureStatus*);
cudaError_t cudaStreamEndCapture(cudaStream_t, cudaGraph_t*);
cudaError_t cudaGraphDestroy(cudaGraph_t);
cudaError_t cudaGetLastError();
