// The resident window codec (resident_engine.h, make_resident_window_codec):
// a call's windows go to the device in one upload, run through the engine's
// batch, and come back in one download.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "libcodec/engine/resident_engine.h"
#include "libcodec/errors.h"
#include "libcodec/range_coder.h"

namespace lmz::engine {
namespace {

using resident::SlotJob;
using resident::SlotResult;

// Room for a window's coding on the first try: a window that codes larger
// than its raw size is of no use to the container (it stores such blocks)
// and is rare; it is coded again with room for the worst case.
constexpr uint64_t kTypicalWindow = 16384;

uint64_t first_capacity(uint64_t raw_size) {
  return raw_size + raw_size / 8 + 64;
}

// The largest coding of a window of `raw_size` bytes: the direct stage codes
// a byte in at most 16 bits (every frequency >= 1 of 2^16); the mixing
// stages in at most 8 decisions of at most 12 bits (p in [16, 65520] of
// 2^16); the flush adds at most 9 bytes.
uint64_t worst_capacity(StageId stage, uint64_t raw_size) {
  return (stage == kDirectStage ? 2 : 12) * raw_size + 16;
}

// Host memory for a transfer (page-locked when the engine is on CUDA: a
// device-to-host copy into pageable memory runs at a quarter of the speed).
torch::Tensor host_buffer(uint64_t bytes, const torch::Device& dev) {
  return torch::empty({static_cast<int64_t>(std::max<uint64_t>(bytes, 1))},
                      torch::TensorOptions(torch::kUInt8).pinned_memory(dev.is_cuda()));
}

torch::Tensor on_device(const torch::Tensor& host, const torch::Device& dev) {
  return dev.is_cpu() ? host : host.to(dev);
}

torch::Tensor to_host(const torch::Tensor& t) {
  return t.device().is_cpu() ? t : t.to(torch::kCPU);
}

uint8_t* bytes_of(const torch::Tensor& t) {
  return t.data_ptr<uint8_t>();
}

class ResidentWindowCodec final : public WindowCodec {
 public:
  ResidentWindowCodec(std::shared_ptr<ResidentEngine> engine, ModelId model, StageId stage)
      : engine_(std::move(engine)), model_(std::move(model)), stage_(stage) {}

  const ModelId& model() const override { return model_; }
  StageId stage() const override { return stage_; }
  // Enough 16 KiB windows (lmz's prose windows) to fill every slot.
  uint64_t preferred_batch_bytes() const override {
    return uint64_t{engine_->slots()} * kTypicalWindow;
  }

  std::vector<Bytes> encode(std::span<const ByteView> windows) override {
    std::vector<Bytes> result(windows.size());
    std::vector<size_t> todo;
    for (size_t i = 0; i < windows.size(); ++i) {
      if (!windows[i].empty()) todo.push_back(i);  // an empty window codes to nothing
    }
    std::vector<size_t> overflowed = encode_pass(windows, todo, false, result);
    if (!overflowed.empty()) {
      overflowed = encode_pass(windows, overflowed, true, result);
      if (!overflowed.empty()) throw Error("resident codec: a window overflowed its worst case");
    }
    return result;
  }

  void decode(std::span<const EncodedWindowView> windows,
              std::span<const MutableByteView> out) override {
    check_decode_buffers(windows, out);
    std::vector<size_t> todo;
    uint64_t in_total = 0, out_total = 0;
    for (size_t i = 0; i < windows.size(); ++i) {
      if (windows[i].raw_size == 0) {
        RangeDecoder empty(windows[i].coded);
        if (!empty.finished_exactly()) throw inexact_end_error(i, windows[i]);
        continue;
      }
      todo.push_back(i);
      in_total += windows[i].coded.size();
      out_total += windows[i].raw_size;
    }
    if (todo.empty()) return;
    const torch::Device dev = engine_->device();
    torch::Tensor in_host = host_buffer(in_total, dev);
    std::vector<uint64_t> in_at(todo.size()), out_at(todo.size());
    uint64_t in_pos = 0, out_pos = 0;
    for (size_t k = 0; k < todo.size(); ++k) {
      const ByteView coded = windows[todo[k]].coded;
      if (!coded.empty()) std::memcpy(bytes_of(in_host) + in_pos, coded.data(), coded.size());
      in_at[k] = in_pos;
      out_at[k] = out_pos;
      in_pos += coded.size();
      out_pos += windows[todo[k]].raw_size;
    }
    torch::Tensor in_dev = on_device(in_host, dev);
    torch::Tensor out_dev = torch::empty({static_cast<int64_t>(std::max<uint64_t>(out_total, 1))},
                                         torch::TensorOptions(torch::kUInt8).device(dev));
    torch::Tensor results = result_buffer(todo.size(), dev);
    std::vector<SlotJob> jobs(todo.size());
    for (size_t k = 0; k < todo.size(); ++k) {
      const EncodedWindowView& w = windows[todo[k]];
      jobs[k] = job(resident::kDecode, bytes_of(in_dev) + in_at[k], w.coded.size(),
                    bytes_of(out_dev) + out_at[k], w.raw_size, w.raw_size, results, k);
    }
    engine_->run(std::move(jobs));
    const torch::Tensor out_host = to_host(out_dev);
    const torch::Tensor res_host = to_host(results);
    const auto* res = reinterpret_cast<const SlotResult*>(bytes_of(res_host));
    for (size_t k = 0; k < todo.size(); ++k) {
      std::memcpy(out[todo[k]].data(), bytes_of(out_host) + out_at[k], windows[todo[k]].raw_size);
    }
    // The lowest failing window is reported (as the CPU codec's single group
    // would, in window order).
    for (size_t k = 0; k < todo.size(); ++k) {
      const size_t i = todo[k];
      if (res[k].phase == resident::kDone) continue;
      if (res[k].failure == resident::kInvalidCoding) {
        throw invalid_coding_error(i, res[k].at, windows[i].raw_size);
      }
      throw inexact_end_error(i, windows[i]);
    }
  }

 private:
  // The job of a call's k-th window, whose result goes to results[k].
  SlotJob job(uint32_t mode, const uint8_t* input, size_t input_size, uint8_t* output,
              uint64_t capacity, size_t raw_size, const torch::Tensor& results, size_t k) const {
    SlotJob j;
    j.input = input;
    j.output = output;
    j.result = reinterpret_cast<SlotResult*>(bytes_of(results)) + k;
    j.input_size = static_cast<uint32_t>(input_size);
    j.raw_size = static_cast<uint32_t>(raw_size);
    j.output_capacity = static_cast<uint32_t>(capacity);
    j.stage = stage_;
    j.mode = mode;
    return j;
  }

  // Room for the jobs' results. Not initialised: every job writes its own
  // when it finishes (and a zeroing kernel on this thread's stream would
  // not be ordered with the engine's stream).
  static torch::Tensor result_buffer(size_t count, const torch::Device& dev) {
    return torch::empty({static_cast<int64_t>(count * sizeof(SlotResult))},
                        torch::TensorOptions(torch::kUInt8).device(dev));
  }

  // Encodes windows[todo[k]] into result[todo[k]]; returns those whose
  // coding did not fit (only on the first pass, `worst_case` false).
  std::vector<size_t> encode_pass(std::span<const ByteView> windows,
                                  const std::vector<size_t>& todo, bool worst_case,
                                  std::vector<Bytes>& result) {
    if (todo.empty()) return {};
    const torch::Device dev = engine_->device();
    uint64_t in_total = 0, out_total = 0;
    std::vector<uint64_t> in_at(todo.size()), out_at(todo.size()), cap(todo.size());
    for (size_t k = 0; k < todo.size(); ++k) {
      const uint64_t raw = windows[todo[k]].size();
      cap[k] = worst_case ? worst_capacity(stage_, raw) : first_capacity(raw);
      in_at[k] = in_total;
      out_at[k] = out_total;
      in_total += raw;
      out_total += cap[k];
    }
    torch::Tensor in_host = host_buffer(in_total, dev);
    for (size_t k = 0; k < todo.size(); ++k) {
      const ByteView w = windows[todo[k]];
      std::memcpy(bytes_of(in_host) + in_at[k], w.data(), w.size());
    }
    torch::Tensor in_dev = on_device(in_host, dev);
    torch::Tensor out_dev = torch::empty({static_cast<int64_t>(out_total)},
                                         torch::TensorOptions(torch::kUInt8).device(dev));
    torch::Tensor results = result_buffer(todo.size(), dev);
    std::vector<SlotJob> jobs(todo.size());
    for (size_t k = 0; k < todo.size(); ++k) {
      const size_t raw = windows[todo[k]].size();
      jobs[k] =
          job(resident::kEncode, bytes_of(in_dev) + in_at[k], raw, bytes_of(out_dev) + out_at[k],
              std::min<uint64_t>(cap[k], UINT32_MAX), raw, results, k);
    }
    engine_->run(std::move(jobs));
    const torch::Tensor out_host = to_host(out_dev);
    const torch::Tensor res_host = to_host(results);
    const auto* res = reinterpret_cast<const SlotResult*>(bytes_of(res_host));
    std::vector<size_t> overflowed;
    for (size_t k = 0; k < todo.size(); ++k) {
      if (res[k].phase != resident::kDone) {
        if (res[k].failure != resident::kOverflow || worst_case) {
          throw Error(fmt::format("resident codec: window {} failed to encode ({})", todo[k],
                                  res[k].failure));
        }
        overflowed.push_back(todo[k]);
        continue;
      }
      const uint8_t* at = bytes_of(out_host) + out_at[k];
      result[todo[k]].assign(at, at + res[k].coded_size);
    }
    return overflowed;
  }

  std::shared_ptr<ResidentEngine> engine_;
  ModelId model_;
  StageId stage_;
};

}  // namespace

bool resident_supports_stage(StageId stage) {
  return resident::slot_runs_stage(stage);
}

std::unique_ptr<WindowCodec> make_resident_window_codec(std::shared_ptr<ResidentEngine> engine,
                                                        ModelId model, StageId stage) {
  if (!resident_supports_stage(stage)) {
    throw UsageError(fmt::format("resident codec: stage {} is not supported", stage));
  }
  return std::make_unique<ResidentWindowCodec>(std::move(engine), std::move(model), stage);
}

}  // namespace lmz::engine
