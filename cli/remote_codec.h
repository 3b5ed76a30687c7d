// A WindowCodec whose windows are coded by lmzd, for the archive writer and
// readers that run in lmz. Like DaemonWindowCodec (daemon/client.h), but
// through DaemonLink: a connection lmzd dropped while lmz was busy elsewhere
// is reopened, and a large call is cut into parts that go to lmzd over
// several connections at once, so that its scheduler can code them in
// shared model batches (one connection carries one request at a time, and
// one request is at most a frame: a few MiB, a few hundred windows, where
// a GPU model wants thousands).
//
// When lmzd stops answering (it was stopped, or restarted without socket
// activation), a codec given a `fallback` goes on with the codec it returns,
// an in-process codec of the same model and stage, for this and every later
// call: the windows, and so the archive, are the same (window independence
// and the exactness contract). Without a fallback the IoError propagates.
#pragma once

#include <functional>
#include <mutex>
#include <span>
#include <vector>

#include "cli/daemon_link.h"
#include "libcodec/window_codec.h"

namespace lmz::cli {

class WorkMeter;

class RemoteWindowCodec final : public WindowCodec {
 public:
  using Fallback = std::function<WindowCodec&()>;

  // `link` (and `meter`, which counts the raw bytes of every finished part
  // for the progress line, when given) must outlive the codec.
  RemoteWindowCodec(DaemonLink& link, ModelId model, StageId stage, Fallback fallback = {},
                    WorkMeter* meter = nullptr)
      : link_(link),
        model_(std::move(model)),
        stage_(stage),
        fallback_(std::move(fallback)),
        meter_(meter) {}

  const ModelId& model() const override { return model_; }
  StageId stage() const override { return stage_; }
  std::vector<Bytes> encode(std::span<const ByteView> windows) override;
  void decode(std::span<const EncodedWindowView> windows,
              std::span<const MutableByteView> out) override;

 private:
  // The in-process codec once lmzd is gone, else nullptr.
  WindowCodec* local();
  // Switches to the fallback for good and returns it.
  WindowCodec& go_local();

  DaemonLink& link_;
  ModelId model_;
  StageId stage_;
  Fallback fallback_;
  WorkMeter* meter_;
  std::mutex mutex_;              // guards local_
  WindowCodec* local_ = nullptr;  // set once lmzd stopped answering
};

}  // namespace lmz::cli
