// The lmzd wire protocol (spec/PROTOCOL.md): frame header, frame types,
// error codes and the payloads of the structured frames, with their encoders
// and decoders. Shared by the daemon and the client library; no I/O here.
//
// Every decoder checks every length against the bytes it was given and
// throws ProtocolError on a malformed payload; nothing reads past a payload.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "format/archive_writer.h"
#include "libcodec/coding_stage.h"
#include "libcodec/errors.h"
#include "libcodec/types.h"

namespace lmz::proto {

inline constexpr uint16_t kProtocolVersion = 1;
inline constexpr char kHelloMagic[4] = {'L', 'M', 'Z', 'D'};
inline constexpr size_t kHeaderSize = 12;
// Largest payload a peer may send before the handshake is done (HELLO is 8 bytes).
inline constexpr uint32_t kMaxHelloPayload = 64;
// Largest max_frame_payload a WELCOME may announce (lmzd's --max-frame
// accepts 64 KiB .. 64 MiB); a client refuses a daemon that announces more.
inline constexpr uint32_t kMaxFramePayload = 64u << 20;

enum class FrameType : uint16_t {
  kHello = 0x01,          // client -> daemon, request id 0
  kWelcome = 0x02,        // daemon -> client, request id 0
  kCompress = 0x10,       // starts a streaming compress request
  kDecompress = 0x11,     // starts a streaming decompress request
  kDecodeWindows = 0x12,  // one-frame request: decode coded windows
  kEncodeWindows = 0x13,  // one-frame request: encode raw windows
  kStatus = 0x14,         // one-frame request: daemon status
  kData = 0x20,           // a chunk of a request's input or output
  kEnd = 0x21,            // end of a request's input / the request's success
  kCancel = 0x22,         // client abandons a request
  kCredit = 0x23,         // daemon -> client: more input bytes may be sent
  kResult = 0x30,         // daemon -> client: the answer to a one-frame request
  kError = 0x3f,          // daemon -> client: a request (or the connection) failed
};

// Error codes carried by ERROR frames (spec/PROTOCOL.md, "Errors").
enum class ErrorCode : uint16_t {
  kProtocol = 1,       // malformed frame or frame out of sequence; connection closed
  kFrameTooLarge = 2,  // length above the limit; connection closed
  kVersion = 3,        // no common protocol version; connection closed
  kBadRequest = 4,     // invalid request parameters
  kCorruptInput = 5,   // the input archive or coded window is malformed
  kModelMismatch = 6,  // the daemon does not have the model asked for
  kLimit = 7,          // a per-connection limit was exceeded
  kShuttingDown = 8,   // the daemon is stopping
  kInternal = 9,       // a bug or resource failure in the daemon
  kCancelled = 10,     // the client cancelled the request
  kIdleTimeout = 11,   // no frame from the client for too long; connection closed
  kUsage = 12,         // the request asks for something unsupported
};

const char* error_code_name(ErrorCode code);

// A malformed frame or payload. The daemon answers it with ERROR kProtocol
// and closes the connection; the client treats it as a broken daemon.
class ProtocolError : public IoError {
 public:
  using IoError::IoError;
};

// An ERROR frame received by the client, turned into an exception of the
// errors.h type that matches its code (CorruptInput, ModelMismatch, UsageError,
// else IoError) so callers handle daemon and in-process failures alike.
[[noreturn]] void throw_daemon_error(ErrorCode code, const std::string& message);

struct FrameHeader {
  uint32_t length = 0;  // payload bytes after the header
  FrameType type = FrameType::kHello;
  uint16_t flags = 0;  // reserved, 0
  uint32_t request_id = 0;
};

// Encodes `header` into its 12 bytes.
void encode_header(const FrameHeader& header, uint8_t out[kHeaderSize]);
// Decodes 12 bytes; does not judge the type or length (the receiver does).
FrameHeader decode_header(const uint8_t in[kHeaderSize]);

// A whole frame (header followed by payload) ready to be written.
Bytes make_frame(FrameType type, uint32_t request_id, ByteView payload);

// Little-endian payload builder.
class PayloadWriter {
 public:
  void u8(uint8_t v) { bytes_.push_back(v); }
  void u16(uint16_t v);
  void u32(uint32_t v);
  void u64(uint64_t v);
  void hash(const Hash128& h);
  void str(const std::string& s);  // u16 length + bytes; throws UsageError above 65535
  void raw(ByteView v) { bytes_.insert(bytes_.end(), v.begin(), v.end()); }
  Bytes& bytes() { return bytes_; }

 private:
  Bytes bytes_;
};

// Little-endian payload parser; every read checks the remaining length and
// throws ProtocolError naming `what` (the frame kind) when it runs short.
class PayloadReader {
 public:
  PayloadReader(ByteView payload, const char* what) : data_(payload), what_(what) {}
  uint8_t u8();
  uint16_t u16();
  uint32_t u32();
  uint64_t u64();
  Hash128 hash();
  std::string str();
  ByteView raw(size_t n);
  size_t remaining() const { return data_.size() - pos_; }
  // Throws ProtocolError if bytes are left over.
  void expect_end() const;

 private:
  ByteView data_;
  size_t pos_ = 0;
  const char* what_;
};

struct Hello {
  uint16_t min_version = kProtocolVersion;
  uint16_t max_version = kProtocolVersion;
};
Bytes encode_hello(const Hello& hello);
Hello decode_hello(ByteView payload);

// The daemon's answer to HELLO: the version chosen, its model and its limits.
struct Welcome {
  uint16_t version = kProtocolVersion;
  uint32_t max_frame_payload = 0;  // largest payload either side may send
  uint32_t max_requests = 0;       // concurrent requests per connection
  uint32_t request_credit = 0;     // initial input credit of a streaming request, bytes
  uint32_t max_batch_windows = 0;  // windows per ENCODE/DECODE_WINDOWS frame
  uint32_t idle_timeout_ms = 0;    // the daemon closes a connection silent this long
  Hash128 model_hash;              // the model compress requests use by default
  std::string model_name;
  std::string device;  // "cpu", "cuda", ...
};
Bytes encode_welcome(const Welcome& welcome);
Welcome decode_welcome(ByteView payload);

// Parameters of a streaming compress request: the client's writer options,
// sent in full so that the daemon writes exactly the archive the client
// would write in-process (whatever either side's defaults are).
struct CompressParams {
  WriterOptions writer;
  StageId stage = kDirectStage;
  Hash128 model;  // all zero: the daemon's model
};
Bytes encode_compress(const CompressParams& params);
CompressParams decode_compress(ByteView payload);

// Summary carried by END from the daemon for streaming requests.
struct EndSummary {
  uint64_t input_bytes = 0;
  uint64_t output_bytes = 0;
};
Bytes encode_end(const EndSummary& summary);
EndSummary decode_end(ByteView payload);

// ENCODE_WINDOWS / DECODE_WINDOWS payload. For decode, `sizes` are the raw
// sizes and `data` the coded windows concatenated with `coded_sizes`; for
// encode, `sizes` are the raw sizes and `data` the raw windows concatenated.
struct WindowsRequest {
  Hash128 model;
  StageId stage = kDirectStage;
  std::vector<uint32_t> raw_sizes;
  std::vector<uint32_t> coded_sizes;  // decode only
  ByteView data;                      // points into the payload
};
Bytes encode_decode_windows(const Hash128& model, StageId stage, std::span<const ByteView> coded,
                            std::span<const size_t> raw_sizes);
Bytes encode_encode_windows(const Hash128& model, StageId stage, std::span<const ByteView> raw);
// Decoders check that the sizes add up to the data exactly and that there
// are at most `max_windows` windows.
WindowsRequest decode_decode_windows(ByteView payload, uint32_t max_windows);
WindowsRequest decode_encode_windows(ByteView payload, uint32_t max_windows);

// RESULT of ENCODE_WINDOWS: u32 count, count x u32 coded size, the coded bytes.
Bytes encode_encoded_windows(const std::vector<Bytes>& coded);
std::vector<Bytes> decode_encoded_windows(ByteView payload, size_t expected_count);

// RESULT of STATUS: u32 count, count x (str key, str value).
using StatusMap = std::map<std::string, std::string>;
Bytes encode_status(const StatusMap& status);
StatusMap decode_status(ByteView payload);

// ERROR payload: u16 code, str message.
Bytes encode_error(ErrorCode code, const std::string& message);
std::pair<ErrorCode, std::string> decode_error(ByteView payload);

// Lowercase hex of a hash (same text as Hash128::hex), kept here so the
// client library needs no lmz_codec object code.
std::string hash_hex(const Hash128& hash);

}  // namespace lmz::proto
