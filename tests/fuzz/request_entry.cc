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
#include <vector>

#include "daemon/request.h"
#include "tests/fuzz/fuzz_entries.h"
#include "tests/fuzz/fuzz_support.h"

namespace lmz::fuzz {
namespace {

using proto::FrameType;

struct Wire {
  std::vector<proto::FrameHeader> headers;
  std::vector<Bytes> payloads;
  uint64_t credit_granted = 0;  // sum of the CREDIT frames so far
};

}  // namespace

void request(const uint8_t* data, size_t size) {
  const uint32_t credit = 1 + take_u8(data, size) * 16u;
  const uint32_t max_chunk = 1 + take_u8(data, size);

  Wire wire;
  std::shared_ptr<daemon::Outbox> outbox;
  // The frame is "on the wire" at once, so send_flow never waits (one thread).
  outbox = std::make_shared<daemon::Outbox>(
      [&](Bytes frame) {
        const size_t n = frame.size();
        require(n >= proto::kHeaderSize, "request: frame shorter than a header");
        wire.headers.push_back(proto::decode_header(frame.data()));
        wire.payloads.emplace_back(frame.begin() + proto::kHeaderSize, frame.end());
        if (wire.headers.back().type == FrameType::kCredit) {
          proto::PayloadReader r(wire.payloads.back(), "CREDIT");
          wire.credit_granted += r.u32();
          r.expect_end();
        }
        outbox->written(n);
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

  // What went out on the wire agrees with the model.
  uint64_t data_bytes = 0;
  int finals = 0;
  for (size_t i = 0; i < wire.headers.size(); ++i) {
    const proto::FrameHeader& h = wire.headers[i];
    require(h.request_id == 7 && h.length == wire.payloads[i].size(), "request: frame header");
    if (h.type == FrameType::kData) {
      require(h.length >= 1 && h.length <= max_chunk, "request: DATA frame size");
      data_bytes += h.length;
    } else if (h.type != FrameType::kCredit) {
      ++finals;
    }
  }
  require(data_bytes == written, "request: DATA frames do not match the output");
  require(finals == finals_sent, "request: not exactly one final frame");
  require(finished_calls == (finished ? 1 : 0), "request: on_finished not called exactly once");
}

}  // namespace lmz::fuzz
