// CUDA graphs that several threads may capture and destroy at once
// (engine-internal; CUDA builds with graphs only).
//
// libtorch (2.x) registers every graph it captures with the device's random
// number generator state, in a set without a lock, and removes it when the
// graph is destroyed. Window groups and the resident engine capture and drop
// graphs on several threads at once (it aborted a 100 MB mixing-stage run),
// so every capture and every destruction of a graph holds
// graph_registry_mutex(); replays do not need it.
#pragma once

#include <ATen/cuda/CUDAGraph.h>

#include <memory>
#include <mutex>

namespace lmz::engine {

std::mutex& graph_registry_mutex();

// An at::cuda::CUDAGraph whose destruction holds graph_registry_mutex().
// Captures must hold it too.
class LockedGraph {
 public:
  LockedGraph() : graph_(std::make_unique<at::cuda::CUDAGraph>()) {}
  ~LockedGraph() {
    const std::lock_guard lock(graph_registry_mutex());
    graph_.reset();
  }
  LockedGraph(const LockedGraph&) = delete;
  LockedGraph& operator=(const LockedGraph&) = delete;
  at::cuda::CUDAGraph* operator->() { return graph_.get(); }

 private:
  std::unique_ptr<at::cuda::CUDAGraph> graph_;
};

// Ends a capture that an exception interrupted on the current stream, so
// that the stream can run eagerly again.
void abort_capture();

}  // namespace lmz::engine
