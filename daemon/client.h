// Client of lmzd (spec/PROTOCOL.md) over plain POSIX sockets: no Asio, no
// libtorch; links only lmz_client. The CLI uses it for --daemon.
//
// Two ways to use the daemon, both giving archives byte-identical to the
// in-process ones made with the same model, stage and writer options:
//  - whole streams: compress() / decompress() send the input and receive the
//    output as the daemon produces it (the daemon runs ArchiveWriter /
//    decompress_stream);
//  - windows: DaemonWindowCodec is a WindowCodec whose encode()/decode() go
//    to the daemon, so the caller runs ArchiveWriter, decompress_stream or
//    RandomAccessReader itself (random access reads the index and the needed
//    windows from its own file and has the daemon decode only those).
//
// A DaemonClient runs one request at a time; its public calls take an
// internal lock, so one client may be shared by threads (they take turns).
// For parallel requests open several clients.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "format/archive_writer.h"
#include "format/io.h"
#include "libcodec/coding_stage.h"
#include "libcodec/types.h"
#include "libcodec/window_codec.h"

namespace lmz {

// $LMZ_SOCKET if set and not empty, else /run/lmz/lmzd.sock.
std::string default_socket_path();

// What the daemon told us in the handshake.
struct DaemonInfo {
  uint16_t protocol_version = 0;
  ModelId model;       // the model compress() uses unless told otherwise
  std::string device;  // "cpu", "cuda", ...
  uint32_t max_frame_payload = 0;
  uint32_t max_requests = 0;
  uint32_t request_credit = 0;
  uint32_t max_batch_windows = 0;
  uint32_t idle_timeout_ms = 0;
};

struct DaemonCompressOptions {
  WriterOptions writer;          // block/window size, zstd level, allow_neural
  StageId stage = kDirectStage;  // coding stage recorded in the archive
  Hash128 model;                 // all zero: the daemon's model (info().model)
};

// Bytes moved by one streaming request.
struct DaemonTransfer {
  uint64_t input_bytes = 0;
  uint64_t output_bytes = 0;
};

class DaemonClient {
 public:
  // Connects to the daemon at `socket_path` and does the handshake.
  // Returns nullopt when no daemon is there (the path does not exist, or
  // nothing listens on it): the caller may then work in-process.
  // Throws IoError when the socket exists but cannot be used (permission
  // denied, a handshake the daemon refused, a peer that is not lmzd).
  static std::optional<DaemonClient> connect(const std::string& socket_path);

  DaemonClient(DaemonClient&& other) noexcept;
  DaemonClient& operator=(DaemonClient&& other) noexcept;
  ~DaemonClient();
  DaemonClient(const DaemonClient&) = delete;
  DaemonClient& operator=(const DaemonClient&) = delete;

  const DaemonInfo& info() const { return info_; }

  // Compresses `in` into an archive written to `out` as blocks finish.
  // Errors reported by the daemon are thrown as the errors.h type of their
  // code (UsageError, ModelMismatch, ...); a lost connection as IoError.
  // An exception from `in` or `out` cancels the request and is rethrown.
  DaemonTransfer compress(ByteSource& in, ByteSink& out, const DaemonCompressOptions& options);

  // Decompresses the archive (or concatenated archives) `in` into `out`;
  // each block's bytes arrive after the daemon verified its checksum.
  // Throws CorruptInput / ModelMismatch as the in-process reader does.
  DaemonTransfer decompress(ByteSource& in, ByteSink& out);

  // Decodes windows coded with model `model` and stage `stage`: window i into
  // out[i] (out[i].size() == windows[i].raw_size). Splits the work into
  // requests within the daemon's limits.
  void decode_windows(const Hash128& model, StageId stage,
                      std::span<const EncodedWindowView> windows,
                      std::span<const MutableByteView> out);

  // Codes each raw window independently with `model` (all zero: the
  // daemon's) and `stage`; result[i] is window i's coded bytes.
  std::vector<Bytes> encode_windows(const Hash128& model, StageId stage,
                                    std::span<const ByteView> windows);

  // The daemon's status: model, model_hash, device, connections,
  // requests_active, queue_windows, windows_encoded, ... (spec/PROTOCOL.md).
  std::map<std::string, std::string> status();

 private:
  DaemonClient(int fd, DaemonInfo info);
  struct Frame;
  Frame read_frame();
  bool poll_readable(int timeout_ms);
  void send_frame(uint8_t type, uint32_t id, ByteView payload);
  [[noreturn]] void connection_lost(const std::string& what);
  DaemonTransfer stream(uint8_t type, ByteView params, ByteSource& in, ByteSink& out);
  Bytes one_frame_request(uint8_t type, ByteView payload);

  int fd_ = -1;
  DaemonInfo info_;
  uint32_t next_id_ = 0;
  std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
};

// A WindowCodec that codes on the daemon, for ArchiveWriter, decompress_stream
// and RandomAccessReader in a client. `client` must outlive the codec.
class DaemonWindowCodec final : public WindowCodec {
 public:
  DaemonWindowCodec(DaemonClient& client, ModelId model, StageId stage)
      : client_(client), model_(std::move(model)), stage_(stage) {}

  const ModelId& model() const override { return model_; }
  StageId stage() const override { return stage_; }
  std::vector<Bytes> encode(std::span<const ByteView> windows) override {
    return client_.encode_windows(model_.hash, stage_, windows);
  }
  void decode(std::span<const EncodedWindowView> windows,
              std::span<const MutableByteView> out) override {
    client_.decode_windows(model_.hash, stage_, windows, out);
  }

 private:
  DaemonClient& client_;
  ModelId model_;
  StageId stage_;
};

}  // namespace lmz
