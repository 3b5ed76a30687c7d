// CUDA versions of the fused steps (lstm_kernels.h). One thread per (window,
// hidden unit) for the cell; one block of 256 threads (one per symbol) per
// window for the output distribution. The arithmetic is lstm_math.h's, the
// same functions the CPU loops call.
#include <cuda_runtime.h>

#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>
#include <stdexcept>
#include <string>

#include "libcodec/engine/cuda_check.h"
#include "libcodec/engine/lstm_kernels.h"
#include "libcodec/engine/lstm_math.h"

namespace lmz {
namespace {

using namespace lstm_math;

constexpr int kCellThreads = 256;

__global__ void cell_kernel(CellArgs a) {
  const int64_t k = blockIdx.x;
  const int64_t j = int64_t{blockIdx.y} * kCellThreads + threadIdx.x;
  const int64_t hd = a.hidden;
  if (j >= hd) return;
  const int32_t* acc = a.acc + k * 4 * hd;
  const int32_t* in0 = a.input0 != nullptr ? a.input0 + a.symbols[k] * 4 * hd : nullptr;
  auto index = [&](int64_t r) {
    const int64_t sum = int64_t{acc[r]} + (in0 != nullptr ? in0[r] : 0);
    return gate_index(sum, a.multiplier[r], a.bias[r], a.shift);
  };
  const int64_t slot = a.slots[k];
  const int64_t at = slot * hd + j;
  const CellState s = cell_update(a.sigmoid_lut[index(j)], a.sigmoid_lut[index(hd + j)],
                                  a.tanh_lut[index(2 * hd + j)], a.sigmoid_lut[index(3 * hd + j)],
                                  a.c[at], a.cell_clamp, a.tanh_lut);
  a.c[at] = static_cast<int32_t>(s.c);
  a.h[at] = static_cast<int8_t>(s.h);
  if (a.next_input != nullptr) {
    int8_t* next = a.next_input + k * 2 * hd;
    next[j] = static_cast<int8_t>(s.h);
    next[hd + j] = a.next_h[at];
  }
}

// (logit, symbol) with the larger logit first, then the smaller symbol: the
// reduction gives MODEL.md's a = the smallest s with l[s] == max.
struct MaxLogit {
  int64_t logit;
  int symbol;
};
struct FirstMax {
  __device__ MaxLogit operator()(const MaxLogit& x, const MaxLogit& y) const {
    if (x.logit != y.logit) return x.logit > y.logit ? x : y;
    return x.symbol < y.symbol ? x : y;
  }
};

__global__ void output_kernel(OutputArgs a) {
  using ReduceMax = cub::BlockReduce<MaxLogit, 256>;
  using ReduceSum = cub::BlockReduce<int64_t, 256>;
  using Scan = cub::BlockScan<uint32_t, 256>;
  __shared__ union {
    typename ReduceMax::TempStorage max;
    typename ReduceSum::TempStorage sum;
    typename Scan::TempStorage scan;
  } tmp;
  __shared__ MaxLogit row_max;
  __shared__ int64_t row_weight_sum, row_total;

  const int64_t k = blockIdx.x;
  const int s = static_cast<int>(threadIdx.x);
  const int64_t logit = rescale(a.acc[k * 256 + s], a.multiplier[s], a.bias[s], a.shift);
  const MaxLogit m = ReduceMax(tmp.max).Reduce(MaxLogit{logit, s}, FirstMax());
  if (s == 0) row_max = m;
  __syncthreads();
  const int64_t weight = output_weight(row_max.logit, logit, a.exp_lut);
  const int64_t weight_sum = ReduceSum(tmp.sum).Sum(weight);
  if (s == 0) row_weight_sum = weight_sum;
  __syncthreads();
  int64_t freq = output_frequency(weight, row_weight_sum);
  const int64_t total = ReduceSum(tmp.sum).Sum(freq);
  if (s == 0) row_total = total;
  __syncthreads();
  if (s == row_max.symbol) freq += kFrequencyTotal - row_total;
  uint32_t below = 0;
  Scan(tmp.scan).ExclusiveSum(static_cast<uint32_t>(freq), below);
  uint32_t* cdf = a.cdf + k * 257;
  cdf[s] = below;
  if (s == 255) cdf[256] = below + static_cast<uint32_t>(freq);
}

}  // namespace

bool lstm_cuda_kernels_built() {
  return true;
}

void lstm_cell_cuda(const CellArgs& args, void* stream) {
  if (args.rows == 0) return;
  const dim3 grid(static_cast<unsigned>(args.rows),
                  static_cast<unsigned>((args.hidden + kCellThreads - 1) / kCellThreads));
  cell_kernel<<<grid, kCellThreads, 0, static_cast<cudaStream_t>(stream)>>>(args);
  check_launch("the LSTM cell kernel");
}

void lstm_output_cuda(const OutputArgs& args, void* stream) {
  if (args.rows == 0) return;
  output_kernel<<<static_cast<unsigned>(args.rows), 256, 0, static_cast<cudaStream_t>(stream)>>>(
      args);
  check_launch("the output distribution kernel");
}

}  // namespace lmz
