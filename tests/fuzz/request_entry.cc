// Fuzz entry of a daemon request's input and output accounting
// (daemon/request.h): the input bytes and the calls of the connection's I/O
// thread and of the handler come from the fuzzer, in one thread, and a
// model of the protocol's rules (spec/PROTOCOL.md, "Backpressure") checks
// every answer: a DATA frame is accepted exactly when it fits the credit the
// client was given, credit comes back only for consumed input and all of it
// once the handler has read everything, the handler reads exactly the bytes
// accepted, output goes out in DATA frames of at most max_chunk bytes, and a
// request ends with exactly one final frame. (How the request queues its
// input internally is left open: only what a client can see is checked.)
#include <memory>

#include "daemon/request.h"
#include "tests/fuzz/fuzz_entries.h"
#include "tests/fuzz/fuzz_support.h"

namespace lmz::fuzz {
namespace {

using proto::FrameType;

// What went out on the wire. Each frame is checked as it arrives and only
// counted: with max_chunk 1 an input can make up to ~200,000 DATA frames,
// and keeping a copy of each to check at the end was a quarter of the
// target's time.
struct Wire {
  uint32_t max_chunk = 0;
  uint64_t credit_granted = 0;  // sum of the CREDIT frames so far
  uint64_t data_bytes = 0;      // sum of the DATA payloads
  int finals = 0;               // frames that are neither DATA nor CREDIT

  void receive(const Bytes& frame) {
    require(frame.size() >= proto::kHeaderSize, "request: frame shorter than a header");
    const proto::FrameHeader h = proto::decode_header(frame.data());
    const ByteView payload = ByteView(frame).subspan(proto::kHeaderSize);
    require(h.request_id == 7 && h.length == payload.size(), "request: frame header");
    if (h.type == FrameType::kData) {
      require(h.length >= 1 && h.length <= max_chunk, "request: DATA frame size");
      data_bytes += h.length;
    } else if (h.type == FrameType::kCredit) {
      proto::PayloadReader r(payload, "CREDIT");
      credit_granted += r.u32();
      r.expect_end();
    } else {
      ++finals;
    }
  }
};

}  // namespace

void request(const uint8_t* data, size_t size) {
  const uint32_t credit = 1 + take_u8(data, size) * 16u;
  const uint32_t max_chunk = 1 + take_u8(data, size);

  Wire wire;
  wire.max_chunk = max_chunk;
  std::shared_ptr<daemon::Outbox> outbox;
  // The frame is "on the wire" at once, so send_flow never waits (one thread).
  outbox = std::make_shared<daemon::Outbox>(
      [&](Bytes frame) {
        wire.receive(frame);
        outbox->written(frame.size());
      },
      4096);
  int finished_calls = 0;
  daemon::Request req(7, FrameType::kDecompress, outbox, credit, max_chunk, [&](uint32_t id) {
    require(id == 7, "request: on_finished got another id");
    ++finished_calls;
  });

  // The model.
  uint64_t pushed = 0;  // input bytes the request took, dropped ones included
  Bytes accepted;       // input bytes queued for the handler, in order
  size_t consumed = 0;  // bytes of `accepted` the handler read
  uint64_t written = 0;
  int finals_sent = 0;
  bool ended = false, aborted = false, finished = false, closed = false;
  uint8_t counter = 0;

  while (size > 0) {
    const uint8_t op = take_u8(data, size);
    const size_t n = take_u8(data, size);
    switch (op % 8) {
      case 0:
      case 1: {  // I/O thread: a DATA frame arrives
        Bytes chunk(n * (op % 2 ? 9 : 1));
        for (auto& b : chunk) b = counter++;
        // Once the socket is gone the CREDIT frames that would tell the
        // client its credit are lost, so only the request knows it.
        const bool expect = !ended && chunk.size() <= credit + wire.credit_granted - pushed;
        const size_t chunk_size = chunk.size();
        const bool took = req.push_input(chunk);
        require(closed || took == expect, "request: push_input broke the credit rule");
        if (took) {
          pushed += chunk_size;
          if (!aborted) accepted.insert(accepted.end(), chunk.begin(), chunk.end());
        }
        break;
      }
      case 2:  // I/O thread: END
        req.end_input();
        ended = true;
        break;
      case 3: {  // handler: read (only when it cannot block)
        if (!aborted && consumed == accepted.size() && !ended) break;
        Bytes buf(n + 1);
        try {
          const size_t got = req.read(buf);
          require(!aborted, "request: read after abort did not throw");
          require(got <= buf.size() && got <= accepted.size() - consumed,
                  "request: read more than was sent");
          require(got > 0 || consumed == accepted.size(), "request: read 0 with input waiting");
          require(std::equal(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(got),
                             accepted.begin() + static_cast<ptrdiff_t>(consumed)),
                  "request: read the wrong bytes");
          consumed += got;
          require(wire.credit_granted <= consumed, "request: credit returned for unread input");
          require(closed || consumed < accepted.size() || wire.credit_granted == consumed,
                  "request: credit not returned once all input was read");
        } catch (const IoError&) {
          require(aborted, "request: read threw without an abort");
        }
        break;
      }
      case 4: {  // handler: output
        Bytes out(n * 3);
        try {
          req.write(out);
          require(out.empty() || (!aborted && !closed),
                  "request: write after abort or close did not throw");
          written += out.size();
        } catch (const IoError&) {
          require(!out.empty() && (aborted || closed),
                  "request: write threw without an abort or close");
        }
        break;
      }
      case 5:  // any thread: abort
        req.abort(proto::ErrorCode::kCancelled, "fuzz");
        if (!finished) {
          aborted = true;
          accepted.resize(consumed);  // queued input is dropped
        }
        break;
      case 6:  // handler: final frame
        if (!finished && !closed) ++finals_sent;
        if (n % 2) {
          req.finish(FrameType::kEnd, {});
        } else {
          req.finish_error(proto::ErrorCode::kCorruptInput, "fuzz");
        }
        finished = true;
        break;
      default:  // I/O thread: the socket is gone
        outbox->close();
        closed = true;
        break;
    }
  }

  // What went out on the wire (each frame's header was checked on arrival)
  // agrees with the model.
  require(wire.data_bytes == written, "request: DATA frames do not match the output");
  require(wire.finals == finals_sent, "request: not exactly one final frame");
  require(finished_calls == (finished ? 1 : 0), "request: on_finished not called exactly once");
}

}  // namespace lmz::fuzz
