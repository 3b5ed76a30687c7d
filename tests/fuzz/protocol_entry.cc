// Fuzz entry of the lmzd frame and payload decoders (daemon/protocol.h). The
// input is a stream of frames as a peer would send them; each payload goes
// to one decoder. What a decoder accepts must encode back to the same bytes
// (reserved fields aside), so nothing is silently dropped or misread.
#include <algorithm>
#include <vector>

#include "daemon/protocol.h"
#include "tests/fuzz/fuzz_entries.h"

namespace lmz::fuzz {
namespace {

using namespace lmz::proto;

// `payload` with the given reserved bytes zeroed (decoders ignore them; the
// encoders write 0).
Bytes without_reserved(ByteView payload, size_t from, size_t count) {
  Bytes b(payload.begin(), payload.end());
  for (size_t i = from; i < from + count && i < b.size(); ++i) b[i] = 0;
  return b;
}

void require_same(const Bytes& again, const Bytes& expected, const char* what) {
  require(again == expected, what);
}

// The windows of a decoded WINDOWS payload, split by `sizes`.
std::vector<ByteView> split(ByteView data, const std::vector<uint32_t>& sizes) {
  std::vector<ByteView> out;
  size_t at = 0;
  for (uint32_t s : sizes) {
    require(s <= data.size() - at, "protocol: window sizes exceed the data");
    out.push_back(data.subspan(at, s));
    at += s;
  }
  require(at == data.size(), "protocol: window sizes do not cover the data");
  return out;
}

// Which decoder a frame goes to: the one its type calls for. RESULT has two
// (the flags pick: 0 = STATUS, else ENCODE_WINDOWS with flags - 1 windows);
// an unknown type picks one by its value, so that every decoder is reached.
enum Kind : unsigned {
  kHello,
  kWelcome,
  kCompress,
  kEnd,
  kDecodeW,
  kEncodeW,
  kEncoded,
  kStatus,
  kErr,
  kCreditK,
  kKinds
};

Kind kind_of(const FrameHeader& h) {
  switch (h.type) {
    case FrameType::kHello:
      return kHello;
    case FrameType::kWelcome:
      return kWelcome;
    case FrameType::kCompress:
      return kCompress;
    case FrameType::kEnd:
      return kEnd;
    case FrameType::kDecodeWindows:
      return kDecodeW;
    case FrameType::kEncodeWindows:
      return kEncodeW;
    case FrameType::kResult:
      return h.flags == 0 ? kStatus : kEncoded;
    case FrameType::kError:
      return kErr;
    case FrameType::kCredit:
      return kCreditK;
    default:
      return static_cast<Kind>(static_cast<uint16_t>(h.type) % kKinds);
  }
}

void decode_one(const FrameHeader& h, ByteView p) {
  const Bytes payload(p.begin(), p.end());
  // The window limit of the WINDOWS decoders (0: the daemon's default).
  const uint32_t param = h.flags == 0 ? 4096 : h.flags;
  switch (kind_of(h)) {
    case kHello:
      require_same(encode_hello(decode_hello(p)), payload, "protocol: HELLO round trip");
      break;
    case kWelcome:
      require_same(encode_welcome(decode_welcome(p)), without_reserved(p, 2, 2),
                   "protocol: WELCOME round trip");
      break;
    case kCompress:
      require_same(encode_compress(decode_compress(p)), without_reserved(p, 17, 1),
                   "protocol: COMPRESS round trip");
      break;
    case kEnd:
      require_same(encode_end(decode_end(p)), payload, "protocol: END round trip");
      break;
    case kDecodeW: {
      const WindowsRequest r = decode_decode_windows(p, param);
      require(r.raw_sizes.size() == r.coded_sizes.size() && r.raw_sizes.size() <= param,
              "protocol: DECODE_WINDOWS counts");
      const std::vector<ByteView> coded = split(r.data, r.coded_sizes);
      const std::vector<size_t> raw(r.raw_sizes.begin(), r.raw_sizes.end());
      require_same(encode_decode_windows(r.model, r.stage, coded, raw), without_reserved(p, 18, 2),
                   "protocol: DECODE_WINDOWS round trip");
      break;
    }
    case kEncodeW: {
      const WindowsRequest r = decode_encode_windows(p, param);
      require(r.raw_sizes.size() <= param, "protocol: ENCODE_WINDOWS count");
      const std::vector<ByteView> raw = split(r.data, r.raw_sizes);
      require_same(encode_encode_windows(r.model, r.stage, raw), without_reserved(p, 18, 2),
                   "protocol: ENCODE_WINDOWS round trip");
      break;
    }
    case kEncoded:
      require_same(encode_encoded_windows(decode_encoded_windows(p, h.flags - 1u)), payload,
                   "protocol: RESULT of ENCODE_WINDOWS round trip");
      break;
    case kStatus: {
      const StatusMap m = decode_status(p);
      require(decode_status(encode_status(m)) == m, "protocol: STATUS round trip");
      break;
    }
    case kErr: {
      const auto [code, message] = decode_error(p);
      if (message.size() <= 4000) {
        require_same(encode_error(code, message), payload, "protocol: ERROR round trip");
      }
      break;
    }
    case kCreditK:
    case kKinds: {
      PayloadReader r(p, "CREDIT");
      r.u32();
      r.expect_end();
      break;
    }
  }
}

}  // namespace

void protocol(const uint8_t* data, size_t size) {
  ByteView in(data, size);
  while (in.size() >= kHeaderSize) {
    const FrameHeader h = decode_header(in.data());
    uint8_t again[kHeaderSize];
    encode_header(h, again);
    require(std::equal(again, again + kHeaderSize, in.begin()), "protocol: header round trip");
    in = in.subspan(kHeaderSize);
    // A short last frame keeps what is there (the fuzzer need not get the
    // length right to reach the decoders).
    const ByteView payload = in.first(std::min<size_t>(h.length, in.size()));
    in = in.subspan(payload.size());
    try {
      decode_one(h, payload);
    } catch (const ProtocolError&) {
    }
  }
}

}  // namespace lmz::fuzz
