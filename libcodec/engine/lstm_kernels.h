// The two fused steps of the integer LSTM (spec/MODEL.md) that follow the
// matrix products: the cell of one layer (steps 2-7, state updated in place)
// and the output distribution (as CDFs). Each has a CPU implementation
// (lstm_kernels_cpu.cc, plain loops) and, in builds with LMZ_CUDA_KERNELS, a
// CUDA one (lstm_kernels.cu); both use lstm_math.h, so they compute the same
// integers. Pointers are to host memory for the CPU versions and to device
// memory for the CUDA ones. No libtorch here.
#pragma once

#include <cstdint>

namespace lmz {

// One layer's cell for `rows` windows.
struct CellArgs {
  int64_t rows = 0;
  int64_t hidden = 0;                   // H
  const int32_t* acc = nullptr;         // [rows, 4H]: the matrix product part of step 1
  const int32_t* input0 = nullptr;      // layer 0 only: [257, 4H] embedding term, added to acc
  const int64_t* symbols = nullptr;     // layer 0 only: [rows] input symbol (0..256)
  const int64_t* slots = nullptr;       // [rows] the window's row in the state arrays
  const int32_t* multiplier = nullptr;  // [4H]
  const int32_t* bias = nullptr;        // [4H]
  const int32_t* sigmoid_lut = nullptr;
  const int32_t* tanh_lut = nullptr;
  int32_t shift = 0;
  int32_t cell_clamp = 0;
  int8_t* h = nullptr;   // [windows, H] this layer's h, rows `slots` updated
  int32_t* c = nullptr;  // [windows, H] this layer's c, rows `slots` updated
  // Optional, the next layer's matrix input [rows, 2H]: the new h goes to
  // columns 0..H-1 and the next layer's current h (next_h[slots]) to H..2H-1.
  int8_t* next_input = nullptr;
  const int8_t* next_h = nullptr;
};

// The output distribution for `rows` windows.
struct OutputArgs {
  int64_t rows = 0;
  const int32_t* acc = nullptr;  // [rows, 256]: Wo times the top h
  const int32_t* multiplier = nullptr;
  const int32_t* bias = nullptr;
  const int32_t* exp_lut = nullptr;
  int32_t shift = 0;
  uint32_t* cdf = nullptr;  // [rows, 257] out
};

// How the CPU versions run: kPortable is plain loops over lstm_math.h (the
// reference); kAvx512 (AVX-512 F, DQ and VL; lstm_kernels_avx512.cc) does
// the same arithmetic on eight int64 lanes, with the same results
// (tests/engine/test_lstm_steps.cc).
enum class CpuStepIsa { kPortable, kAvx512 };

// Whether this CPU runs `isa`, and the fastest one it runs.
bool cpu_step_isa_supported(CpuStepIsa isa);
CpuStepIsa best_cpu_step_isa();

// Throw UsageError when this CPU does not run `isa`.
void lstm_cell_cpu(const CellArgs& args, CpuStepIsa isa);
void lstm_output_cpu(const OutputArgs& args, CpuStepIsa isa);

// Whether this build has the CUDA kernels (nvcc was found at configure time).
bool lstm_cuda_kernels_built();

// Enqueue on `stream` (a cudaStream_t). Throw std::runtime_error on a launch
// error; builds without the kernels throw on any call.
void lstm_cell_cuda(const CellArgs& args, void* stream);
void lstm_output_cuda(const OutputArgs& args, void* stream);

}  // namespace lmz
