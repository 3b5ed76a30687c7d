#include "cli/remote_codec.h"

#include <algorithm>

#include "cli/progress.h"
#include "libcodec/errors.h"

namespace lmz::cli {
namespace {

// A run of consecutive windows: [begin, begin + count).
struct Part {
  size_t begin = 0;
  size_t count = 0;
};

// Cuts windows with raw sizes size(0..n) into consecutive parts of at most
// `budget` raw bytes each (a window larger than that is a part of its own),
// so that each part is about one request frame. The client library splits
// a part further if it must; this only decides what runs at once.
template <typename SizeOf>
std::vector<Part> cut(size_t n, uint64_t budget, SizeOf size) {
  std::vector<Part> parts;
  uint64_t raw = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t s = size(i);
    if (parts.empty() || (parts.back().count > 0 && raw + s > budget)) {
      parts.push_back(Part{i, 0});
      raw = 0;
    }
    parts.back().count += 1;
    raw += s;
  }
  return parts;
}

// A request frame's raw-byte budget: under lmzd's limits (spec/PROTOCOL.md,
// "Windows"), with room for the per-window size fields and the header.
uint64_t budget(uint64_t frame_limit) {
  return std::max<uint64_t>(frame_limit - frame_limit / 8, 1);
}

}  // namespace

WindowCodec* RemoteWindowCodec::local() {
  std::lock_guard lock(mutex_);
  return local_;
}

WindowCodec& RemoteWindowCodec::go_local() {
  std::lock_guard lock(mutex_);
  if (local_ == nullptr) local_ = &fallback_();
  return *local_;
}

std::vector<Bytes> RemoteWindowCodec::encode(std::span<const ByteView> windows) {
  if (WindowCodec* codec = local()) return codec->encode(windows);
  // ENCODE_WINDOWS carries at most max_frame_payload / 2 raw bytes.
  std::vector<Part> parts = cut(windows.size(), budget(link_.info().max_frame_payload / 2),
                                [&](size_t i) { return windows[i].size(); });
  std::vector<std::vector<Bytes>> coded(parts.size());
  try {
    link_.run_parts(parts.size(), [&](size_t p, DaemonClient& client) {
      coded[p] = client.encode_windows(model_.hash, stage_,
                                       windows.subspan(parts[p].begin, parts[p].count));
      if (meter_ != nullptr) {
        for (const ByteView& w : windows.subspan(parts[p].begin, parts[p].count)) {
          meter_->add(w.size());
        }
      }
    });
  } catch (const IoError&) {
    if (!fallback_) throw;
    return go_local().encode(windows);
  }
  std::vector<Bytes> out;
  out.reserve(windows.size());
  for (auto& part : coded) {
    for (auto& window : part) out.push_back(std::move(window));
  }
  return out;
}

void RemoteWindowCodec::decode(std::span<const EncodedWindowView> windows,
                               std::span<const MutableByteView> out) {
  if (WindowCodec* codec = local()) return codec->decode(windows, out);
  std::vector<Part> parts = cut(windows.size(), budget(link_.info().max_frame_payload),
                                [&](size_t i) { return windows[i].raw_size; });
  try {
    link_.run_parts(parts.size(), [&](size_t p, DaemonClient& client) {
      client.decode_windows(model_.hash, stage_, windows.subspan(parts[p].begin, parts[p].count),
                            out.subspan(parts[p].begin, parts[p].count));
      if (meter_ != nullptr) {
        for (const MutableByteView& w : out.subspan(parts[p].begin, parts[p].count)) {
          meter_->add(w.size());
        }
      }
    });
  } catch (const IoError&) {
    if (!fallback_) throw;
    go_local().decode(windows, out);
  }
}

}  // namespace lmz::cli
