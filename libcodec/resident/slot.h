// One slot of a device-resident window batch (libcodec/engine/resident_*):
// the per-window state machine that the GPU runs as one thread per slot and
// the CPU runs as a loop, written once (LMZ_HD) so CPU tests check the
// integers the GPU computes.
//
// A slot codes one window at a time. Each model step, for every slot:
//
//   1. the model's CDF of the slot's next byte is ready (cdf[257]);
//   2. slot_step() codes that byte through the window's coding stage and
//      range coder (encoding: the byte is read from the window's input;
//      decoding: it is decoded from the window's coded bytes and written to
//      its output) and writes the symbol the model observes next;
//   3. the model steps on that symbol.
//
// A window joins a slot in phase kStarting, with the model state of its row
// zeroed (the host's join step): its first slot_step codes nothing and feeds
// the start symbol 256, exactly as a fresh PredictorBatch starts a window, so
// the CDFs a slot sees are those of the window alone (exactness contract).
// The window's coded bytes are those the CPU window codec writes
// (libcodec/window_codec.h): the same stage arithmetic and range coder.
#pragma once

#include <cstdint>

#include "libcodec/cm/stage_core.h"
#include "libcodec/host_device.h"
#include "libcodec/range_coder_core.h"

namespace lmz::resident {

inline constexpr int64_t kStartSymbol = 256;

enum Phase : uint32_t {
  kEmpty = 0,     // no window
  kStarting = 1,  // joined; feeds the start symbol next
  kCoding = 2,    // coding byte `pos`
  kDone = 3,      // finished; the result is written
  kFailed = 4,    // finished with a failure; the result says which
};

enum Mode : uint32_t { kEncode = 0, kDecode = 1 };

enum Failure : uint32_t {
  kNoFailure = 0,
  kInvalidCoding = 1,  // decoding: the coded bytes cannot be valid (detected at `at`)
  kInexactEnd = 2,     // decoding: the coded bytes do not end exactly where the raw bytes do
  kOverflow = 3,       // encoding: the coding needs more than the output capacity
};

// The stage ids the device loop runs (libcodec/coding_stage.h StageId): the
// direct stage and the mixing stages whose cores stage_core.h dispatches.
inline constexpr uint32_t kDirectStageId = 0;

LMZ_HD bool slot_runs_stage(uint32_t stage) {
  return stage == kDirectStageId || cm::stage_core_known(static_cast<uint16_t>(stage));
}

// Bytes of stage arena a window of `raw_size` bytes needs (0: direct).
LMZ_HD uint64_t slot_arena_bytes(uint32_t stage, uint32_t raw_size) {
  if (stage == kDirectStageId) return 0;
  return cm::stage_arena_bytes(static_cast<uint16_t>(stage), raw_size);
}

// Part `part` of `parts` of a joining window's fresh stage arena
// (parts together write all of it, in any order).
LMZ_HD void slot_init_arena(uint32_t stage, uint8_t* arena, uint32_t raw_size, uint32_t part,
                            uint32_t parts) {
  if (stage == kDirectStageId) return;
  cm::stage_init_part(static_cast<uint16_t>(stage), arena, raw_size, part, parts);
}

// What the host writes when a window joins a slot. Pointers are device
// addresses on the GPU, host addresses on the CPU.
struct SlotJob {
  const uint8_t* input = nullptr;  // encoding: the raw bytes; decoding: the coded bytes
  uint8_t* output = nullptr;       // encoding: room for the coded bytes; decoding: the raw bytes
  struct SlotResult* result = nullptr;  // where the window's result goes when it finishes
  uint32_t input_size = 0;              // encoding: raw size; decoding: coded size
  uint32_t raw_size = 0;                // bytes the window holds (>= 1)
  uint32_t output_capacity = 0;         // encoding: bytes at `output`; decoding: raw_size
  uint32_t stage = kDirectStageId;
  uint32_t mode = kEncode;
};

// A finished window's result.
struct SlotResult {
  uint32_t phase = kEmpty;  // kDone or kFailed once written
  uint32_t failure = kNoFailure;
  uint32_t coded_size = 0;  // encoding: bytes written at job.output
  uint32_t at = 0;          // kInvalidCoding: the raw byte where it was detected
};

// The per-slot coding state that persists between steps.
struct SlotState {
  uint32_t phase = kEmpty;
  uint32_t pos = 0;       // bytes coded so far
  uint32_t out_size = 0;  // encoding: bytes written so far
  uint32_t overflow = 0;
  rc::EncoderState enc;
  rc::DecoderState dec;
};

LMZ_HD void finish_slot(const SlotJob& job, SlotState& s, uint32_t failure, uint32_t at) {
  s.phase = failure == kNoFailure ? kDone : kFailed;
  SlotResult r;
  r.phase = s.phase;
  r.failure = failure;
  r.coded_size = job.mode == kEncode ? s.out_size : 0;
  r.at = at;
  *job.result = r;
}

// Codes byte `s.pos` of the window with the direct stage (the model's CDF as
// it is); returns the byte.
LMZ_HD uint8_t direct_step(const SlotJob& job, SlotState& s, const uint32_t* cdf) {
  if (job.mode == kEncode) {
    const uint8_t b = job.input[s.pos];
    rc::BoundedSink sink{job.output, s.out_size, job.output_capacity, s.overflow};
    rc::encode(s.enc, sink, cdf[b], cdf[b + 1] - cdf[b]);
    s.out_size = sink.size;
    s.overflow = sink.overflow;
    return b;
  }
  const uint8_t b = rc::decode_symbol(s.dec, job.input, job.input_size, cdf);
  job.output[s.pos] = b;
  return b;
}

// Codes byte `s.pos` of the window as eight decisions of a mixing stage
// (spec/MIXING.md) over the slot's stage arena; returns the byte. The
// window's history is its input when encoding, its output when decoding
// (mix1_core.h's history contract: the byte is in place before the update
// of its last bit).
// Stage 1 with its scalars copied out of the arena for the byte (a GPU
// thread then keeps them in registers and local memory, not in the arena's
// global memory; mix1_core.h, mix1_state).
LMZ_HD uint8_t mix1_step(const SlotJob& job, SlotState& s, const uint32_t* cdf, uint8_t* arena,
                         const cm::StageTables& t) {
  cm::mix1::State m = cm::mix1_state(arena);
  cm::mix1_set_prior(m, cdf);
  uint32_t c = 0;
  if (job.mode == kEncode) {
    c = job.input[s.pos];
    rc::BoundedSink sink{job.output, s.out_size, job.output_capacity, s.overflow};
    for (int k = 7; k >= 0; --k) {
      const int bit = static_cast<int>(c >> k) & 1;
      rc::encode_bit(s.enc, sink, cm::mix1_p16(m, arena, t, job.input), bit);
      cm::mix1_update(m, arena, t, job.input, bit);
    }
    s.out_size = sink.size;
    s.overflow = sink.overflow;
  } else {
    for (int k = 0; k < 8; ++k) {
      const uint32_t p = cm::mix1_p16(m, arena, t, job.output);
      const int bit = rc::decode_bit(s.dec, job.input, job.input_size, p);
      c = (c << 1) | static_cast<uint32_t>(bit);
      if (k == 7) job.output[s.pos] = static_cast<uint8_t>(c);
      cm::mix1_update(m, arena, t, job.output, bit);
    }
  }
  cm::mix1_state(arena) = m;
  return static_cast<uint8_t>(c);
}

LMZ_HD uint8_t mix_step(const SlotJob& job, SlotState& s, const uint32_t* cdf, uint8_t* arena,
                        const cm::StageTables& t) {
  const auto id = static_cast<uint16_t>(job.stage);
  if (id == cm::kStageMix1) return mix1_step(job, s, cdf, arena, t);
  cm::stage_set_prior(id, arena, cdf);
  if (job.mode == kEncode) {
    const uint8_t byte = job.input[s.pos];
    rc::BoundedSink sink{job.output, s.out_size, job.output_capacity, s.overflow};
    for (int k = 7; k >= 0; --k) {
      const int bit = (byte >> k) & 1;
      rc::encode_bit(s.enc, sink, cm::stage_p16(id, arena, t, job.input), bit);
      cm::stage_update(id, arena, t, job.input, bit);
    }
    s.out_size = sink.size;
    s.overflow = sink.overflow;
    return byte;
  }
  uint32_t c = 0;
  for (int k = 0; k < 8; ++k) {
    const uint32_t p = cm::stage_p16(id, arena, t, job.output);
    const int bit = rc::decode_bit(s.dec, job.input, job.input_size, p);
    c = (c << 1) | static_cast<uint32_t>(bit);
    if (k == 7) job.output[s.pos] = static_cast<uint8_t>(c);
    cm::stage_update(id, arena, t, job.output, bit);
  }
  return static_cast<uint8_t>(c);
}

// One step of one slot (see the file comment). `cdf` is the model's CDF for
// the slot's next byte (ignored unless coding); `arena` the slot's stage
// arena (slot_arena_bytes, written by slot_init_arena when the window
// joined); `symbol` receives what the model observes next (the start
// symbol, the coded byte, or 0 for a slot that is idle, whose model row is
// never read).
LMZ_HD void slot_step(const SlotJob& job, SlotState& s, const uint32_t* cdf, uint8_t* arena,
                      const cm::StageTables& tables, int64_t* symbol) {
  if (s.phase == kStarting) {
    s.pos = 0;
    s.out_size = 0;
    s.overflow = 0;
    s.enc = rc::EncoderState{};
    if (job.mode == kDecode) rc::start_decoder(s.dec, job.input, job.input_size);
    s.phase = kCoding;
    *symbol = kStartSymbol;
    return;
  }
  if (s.phase != kCoding) {
    *symbol = 0;
    return;
  }
  const uint8_t byte =
      job.stage == kDirectStageId ? direct_step(job, s, cdf) : mix_step(job, s, cdf, arena, tables);
  *symbol = byte;
  const uint32_t at = s.pos;
  ++s.pos;
  if (job.mode == kDecode && s.dec.failed) return finish_slot(job, s, kInvalidCoding, at);
  if (s.pos < job.raw_size) return;
  if (job.mode == kEncode) {
    rc::BoundedSink sink{job.output, s.out_size, job.output_capacity, s.overflow};
    rc::finish(s.enc, sink);
    s.out_size = sink.size;
    s.overflow = sink.overflow;
    return finish_slot(job, s, s.overflow ? kOverflow : kNoFailure, 0);
  }
  const bool exact = rc::finished_exactly(s.dec, job.input, job.input_size);
  finish_slot(job, s, exact ? kNoFailure : kInexactEnd, 0);
}

}  // namespace lmz::resident
