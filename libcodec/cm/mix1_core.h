// Stage 1 ("mix v1", spec/MIXING.md), written once for the CPU and the GPU:
// the per-bit and per-byte code of one window's context-mixing model, as
// LMZ_HD functions over one caller-provided flat arena. CmStage
// (cm_stage.cc) runs these functions on the CPU; a GPU kernel runs the same
// ones, one thread per window, with the arenas of thousands of windows in
// one device allocation.
//
// Use (per window of W bytes):
//
//   arena = 16-byte aligned memory of mix1_arena_bytes(W) bytes
//   mix1_init_part(arena, W, p, n) for p = 0..n-1 (any order, in parallel)
//   for each byte at position pos = 0, 1, ...:
//     mix1_set_prior(arena, cdf)             // 257 entries, read until the
//                                            // byte's last p16 call
//     for each of its 8 bits, most significant first:
//       p = mix1_p16(arena, tables, history) // P(bit = 1) in 1/65536
//       code the bit with p
//       if it was the byte's 8th bit: history[pos] = the byte
//       mix1_update(arena, tables, history, bit)
//
// The history contract: history[0..pos) holds the window's bytes so far;
// the core reads nothing at or after history[pos] except in the update of a
// byte's 8th bit, which reads history[pos] (so that byte must be stored
// there first; writing it earlier, as an encoder that has the whole window
// may, is fine). The core never writes the history. The history may move
// between calls (pass its current address each time).
//
// Everything is integer arithmetic; the encoder and the decoder drive
// identical arenas with identical bits, so they make identical predictions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "libcodec/cm/stage_tables.h"
#include "libcodec/host_device.h"

namespace lmz::cm {

// Which parts of stage 1 are on. The default is stage 1 itself; the
// ablation tool and tests build others (those have no stage id and must not
// be written to archives).
struct Mix1Config {
  bool prior = true;   // the predictor's CDF as a mixer input
  bool orders = true;  // order-0..6 context models
  bool word = true;    // word-prefix and word-bigram contexts
  bool column = true;  // line-structure contexts (byte above, column)
  bool match = true;   // the match model
  bool apm = true;     // the two APM stages after the mixer
  // log2 of the hashed-table size relative to the window: each hashed
  // context table has 2^(ceil_log2(window_size) + table_shift) counters,
  // clamped to [2^12, 2^22].
  int table_shift = 0;
  // Minimum match length the match model looks up.
  int match_min = 6;
};

namespace mix1 {

// --- Counters (spec/MIXING.md, "Counters") --------------------------------
//
// A counter is 32 bits: probability of a 1 in 1/65536 (bits 31..16), update
// count n (bits 15..8), hash check (bits 7..0). A fresh counter is p = 32768,
// n = 0 (and the check it was claimed with).
inline constexpr uint32_t kFreshCounter = uint32_t{32768} << 16;

LMZ_HD int counter_p16(uint32_t c) {
  return static_cast<int>(c >> 16);
}
LMZ_HD int counter_n(uint32_t c) {
  return static_cast<int>((c >> 8) & 255);
}

// Moves p towards the bit by rate(n) and counts the update (up to `limit`).
// The product is 64-bit and the shift arithmetic (floor), as the spec says.
LMZ_HD void counter_update(uint32_t& c, int bit, int limit, const StageTables& t) {
  int p = counter_p16(c);
  int n = counter_n(c);
  const int target = bit ? 65535 : 0;
  p += static_cast<int>((static_cast<int64_t>(target - p) * t.rate[n]) >> 16);
  if (n < limit) ++n;
  c = (static_cast<uint32_t>(p) << 16) | (static_cast<uint32_t>(n) << 8) | (c & 255);
}

// The mixer input of a counter: 0 before its first update, else
// stretch(p >> 4).
LMZ_HD int counter_input(uint32_t c, const StageTables& t) {
  return counter_n(c) == 0 ? 0 : stretch(t, counter_p16(c) >> 4);
}

// Looks up `hash` in a table of 2^bits counters (spec/MIXING.md, "Hashed
// context tables"): the slot of pair {i, i ^ 1} whose check byte matches,
// else the one with the smaller n (slot i on a tie) reset and claimed.
LMZ_HD uint32_t* table_find(uint32_t* table, int bits, uint32_t hash) {
  const uint32_t i = hash >> (32 - bits);
  const uint32_t check = hash & 255;
  uint32_t* a = table + i;
  if ((*a & 255) == check) return a;
  uint32_t* b = table + (i ^ 1);
  if ((*b & 255) == check) return b;
  uint32_t* victim = counter_n(*b) < counter_n(*a) ? b : a;
  *victim = kFreshCounter | check;
  return victim;
}

// --- Parameters (spec/MIXING.md) -------------------------------------------

inline constexpr int kMaxInputs = 20;
inline constexpr int kMaxTables = 9;
// The orders of tables T0..T4.
LMZ_HD int order_of(int table) {
  constexpr int kOrders[5] = {1, 2, 3, 4, 6};
  return kOrders[table];
}
inline constexpr uint32_t kOrderSalt = 0x100;
inline constexpr uint32_t kWordSalt = 0x200;
inline constexpr uint32_t kColumnSalt = 0x300;
inline constexpr int kCounterLimit = 60;
inline constexpr int kMatchLimit = 255;
inline constexpr int kMixerRate = 4;    // long-run rate of the first-layer mixers
inline constexpr int kMixerBoost = 24;  // extra rate at the start of a window
inline constexpr int kMixerBoostBytes = 4096;
inline constexpr int kFinalRate = 2;
inline constexpr int32_t kPriorWeight = 65536;
inline constexpr int32_t kInputWeight = 16384;
inline constexpr int32_t kFinalWeight = 32768;
inline constexpr int kMixerSetsA = 1024;
inline constexpr int kFinalSets = 8;
inline constexpr int kApmRate = 7;
inline constexpr int kApmPoints = 33;
inline constexpr int kMatchCounters = 64;
// Longest match the lookup verifies (bounds its cost); matches grow past it.
inline constexpr int kMaxVerify = 255;

// --- The arena ----------------------------------------------------------

// Where each part of a window's state lives in its arena (byte offsets from
// the arena's start; every part 16-byte aligned). The counters come last
// but for the match table, in one run of fresh counters.
struct Layout {
  int table_bits;
  int match_bits;
  int apm1_bits;
  int tables;  // hashed context tables in use
  int inputs;  // first-layer mixer inputs
  uint64_t mixer_a, mixer_b, mixer_f, apm0, apm1;
  uint64_t order0, match_counters, table0;  // counters, one run
  uint64_t match_table;                     // zeros
  uint64_t total;
};

// The per-window scalars and the current bit's working values; at the
// arena's start.
struct State {
  const uint32_t* cdf;  // the current byte's prior (set_prior)
  Mix1Config config;
  Layout layout;
  uint32_t pos;  // bytes of the window coded so far
  uint32_t c0;   // 1 followed by the bits of the current byte so far
  int bit;       // bits of the current byte already coded, 0..7
  uint32_t word, word1;
  uint32_t line_start, prev_line_start;
  uint32_t match_ptr;  // index in the history of the predicted byte
  int match_len;       // 0: no match
  int match_live;      // the current byte still agrees with the prediction
  int match_bit;       // expected bit
  int match_bucket;    // match counter used for this bit, -1: none
  uint32_t contexts[kMaxTables];
  uint32_t slots[kMaxTables];  // counter used for this bit, per table (index from table0)
  int x[kMaxInputs];
  int y[3];
  int out_a, out_b, out_f;
  uint32_t set_a;
  int mixer_rate;
  int p_mix;
  uint32_t apm_index0, apm_index1;
};

LMZ_HD Layout layout(size_t window_size, const Mix1Config& c) {
  Layout l{};
  const int window_bits = ceil_log2(window_size > 1 ? window_size : 1);
  l.table_bits = clamp_int(window_bits + c.table_shift, 12, 22);
  l.match_bits = c.match ? clamp_int(window_bits - 2, 10, 22) : 0;
  l.apm1_bits = c.apm ? clamp_int(window_bits - 6, 8, 16) : 0;
  l.tables = (c.orders ? 5 : 0) + (c.word ? 2 : 0) + (c.column ? 2 : 0);
  l.inputs = 1 + (c.prior ? 1 : 0) + (c.orders ? 1 : 0) + l.tables + (c.match ? 2 : 0);
  uint64_t at = align16(sizeof(State));
  auto take = [&at](uint64_t bytes) {
    const uint64_t here = at;
    at += align16(bytes);
    return here;
  };
  l.mixer_a = take(sizeof(int32_t) * kMixerSetsA * l.inputs);
  l.mixer_b = take(sizeof(int32_t) * l.inputs);
  l.mixer_f = take(sizeof(int32_t) * kFinalSets * 3);
  l.apm0 = take(c.apm ? sizeof(uint16_t) * 256 * kApmPoints : 0);
  l.apm1 = take(c.apm ? sizeof(uint16_t) * (uint64_t{1} << l.apm1_bits) * kApmPoints : 0);
  l.order0 = take(sizeof(uint32_t) * 256);
  l.match_counters = take(sizeof(uint32_t) * kMatchCounters);
  l.table0 = take(sizeof(uint32_t) * (uint64_t{1} << l.table_bits) * l.tables);
  l.match_table = take(c.match ? sizeof(uint32_t) * (uint64_t{1} << l.match_bits) : 0);
  l.total = at;
  return l;
}

template <typename T>
LMZ_HD T* region(uint8_t* arena, uint64_t offset) {
  return reinterpret_cast<T*>(arena + offset);
}

LMZ_HD State& state(uint8_t* arena) {
  return *reinterpret_cast<State*>(arena);
}

// Logistic knots K[j] of spec/MIXING.md ("squash"): squash((j - 16) * 128).
LMZ_HD int squash_knot(int j) {
  constexpr int kKnots[33] = {1,    2,    3,    6,    10,   16,   27,   45,   73,   120,  194,
                              310,  488,  747,  1101, 1546, 2047, 2549, 2994, 3348, 3607, 3785,
                              3901, 3975, 4024, 4050, 4068, 4079, 4085, 4089, 4092, 4093, 4094};
  return kKnots[j];
}

// The byte contexts of the history so far (spec/MIXING.md, "Byte contexts").
LMZ_HD void compute_contexts(State& s, const uint8_t* history) {
  const uint32_t pos = s.pos;
  const auto back = [&](uint32_t j) -> uint32_t { return j <= pos ? history[pos - j] : 0u; };
  int t = 0;
  if (s.config.orders) {
    for (int i = 0; i < 5; ++i) {
      const int order = order_of(i);
      uint32_t h = kOrderSalt + static_cast<uint32_t>(order);
      for (int j = 1; j <= order; ++j) h = combine(h, back(static_cast<uint32_t>(j)));
      s.contexts[t++] = h;
    }
  }
  if (s.config.word) {
    s.contexts[t++] = combine(combine(kWordSalt, s.word), back(1));
    s.contexts[t++] = combine(combine(kWordSalt + 1, s.word), s.word1);
  }
  if (s.config.column) {
    const uint32_t column = pos - s.line_start;
    const uint32_t above_at = s.prev_line_start + column;
    const uint32_t above = above_at < s.line_start ? history[above_at] : 256u;
    s.contexts[t++] = combine(combine(kColumnSalt, above), back(1));
    s.contexts[t++] = combine(combine(kColumnSalt + 1, above), column < 255 ? column : 255u);
  }
}

// spec/MIXING.md, "Match model update", after byte pos - 1 was appended.
LMZ_HD void update_match(uint8_t* arena, State& s, const uint8_t* history) {
  const uint32_t pos = s.pos;
  if (s.match_len > 0 && s.match_live) {
    s.match_len = min_int(s.match_len + 1, 65535);  // the prediction was right
    ++s.match_ptr;
  } else {
    s.match_len = 0;
  }
  const uint32_t min_len = static_cast<uint32_t>(s.config.match_min);
  if (pos >= min_len) {
    uint32_t h = 0;
    for (uint32_t j = 1; j <= min_len; ++j) h = combine(h, history[pos - j]);
    uint32_t& entry =
        region<uint32_t>(arena, s.layout.match_table)[h >> (32 - s.layout.match_bits)];
    if (s.match_len == 0 && entry != 0) {
      // Verify the candidate: count how many bytes before it agree.
      const uint32_t cand = entry;
      int len = 0;
      while (len < kMaxVerify && static_cast<uint32_t>(len) < cand &&
             history[cand - 1 - static_cast<uint32_t>(len)] ==
                 history[pos - 1 - static_cast<uint32_t>(len)]) {
        ++len;
      }
      if (len >= s.config.match_min) {
        s.match_len = len;
        s.match_ptr = cand;
      }
    }
    entry = pos;
  }
  s.match_live = s.match_len > 0;
}

// The byte at history[pos] is complete: word, line and match state, then
// the next byte's contexts.
LMZ_HD void end_byte(uint8_t* arena, State& s, const uint8_t* history) {
  const uint8_t byte = history[s.pos];
  ++s.pos;
  const bool word_byte = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                         (byte >= '0' && byte <= '9') || byte >= 128;
  if (word_byte) {
    const uint32_t lower = (byte >= 'A' && byte <= 'Z') ? byte + 32u : byte;
    s.word = combine(s.word, lower);
  } else if (s.word != 0) {
    s.word1 = s.word;
    s.word = 0;
  }
  if (byte == '\n') {
    s.prev_line_start = s.line_start;
    s.line_start = s.pos;
  }
  if (s.config.match) update_match(arena, s, history);
  compute_contexts(s, history);
}

// Mixer dot product (spec/MIXING.md, "Mixers"): clamp(sum >> 16, +-2047).
LMZ_HD int mixer_dot(const int* x, const int32_t* w, int n) {
  int64_t dot = 0;
  for (int i = 0; i < n; ++i) dot += static_cast<int64_t>(x[i]) * w[i];
  return clamp_int(static_cast<int>(dot >> 16), -kStretchMax, kStretchMax);
}

// Mixer learning step: err = (bit << 12) - squash(out),
// w[i] += (x[i] * err * rate + 2^13) >> 14, saturated to +-2^24.
LMZ_HD void mixer_learn(const int* x, int32_t* w, int n, int out, int bit, int rate,
                        const StageTables& t) {
  const int err = (bit << kProbBits) - squash(t, out);
  if (err == 0) return;
  const int64_t scaled = static_cast<int64_t>(err) * rate;
  for (int i = 0; i < n; ++i) {
    int64_t v = w[i] + ((x[i] * scaled + (1 << 13)) >> 14);
    if (v > (1 << 24)) v = 1 << 24;
    if (v < -(1 << 24)) v = -(1 << 24);
    w[i] = static_cast<int32_t>(v);
  }
}

// APM refinement (spec/MIXING.md, "APMs"); returns the refined probability
// and sets `index` to the point that learns.
LMZ_HD int apm_refine(const uint16_t* table, int p, uint32_t ctx, uint32_t& index,
                      const StageTables& t) {
  const int s = stretch(t, p) + 2048;  // 1..4095
  const int lo = s >> 7;
  const int w = s & 127;
  const uint32_t base = ctx * kApmPoints + static_cast<uint32_t>(lo);
  index = base + static_cast<uint32_t>(w >> 6);  // the nearer point learns
  return (table[base] * (128 - w) + table[base + 1] * w) >> 11;
}

LMZ_HD void apm_update(uint16_t* table, uint32_t index, int bit) {
  const int target = bit ? 65535 : 0;
  table[index] = static_cast<uint16_t>(table[index] + ((target - table[index]) >> kApmRate));
}

LMZ_HD int prior_input(const State& s, const StageTables& t) {
  const uint32_t* cdf = s.cdf;
  const uint32_t half = 128u >> s.bit;
  const uint32_t lo = (s.c0 - (1u << s.bit)) << (8 - s.bit);
  const uint32_t n0 = cdf[lo + half] - cdf[lo];
  const uint32_t n1 = cdf[lo + 2 * half] - cdf[lo + half];
  const int p = static_cast<int>(((n1 << 12) + (n0 + n1) / 2) / (n0 + n1));
  return stretch(t, clamp_int(p, 1, kProbMax));
}

}  // namespace mix1

// Bytes of arena a window of `window_size` bytes needs (the default config:
// stage 1; any other config for ablation).
LMZ_HD size_t mix1_arena_bytes(size_t window_size, const Mix1Config& config = Mix1Config{}) {
  return mix1::layout(window_size, config).total;
}

// Writes part `part` of `parts` of a fresh window's arena; parts 0..parts-1
// together (in any order, concurrently) write all of it, so `parts` threads
// can initialise one arena. `config` must be the one the arena was sized for.
LMZ_HD void mix1_init_part(uint8_t* arena, size_t window_size, const Mix1Config& config,
                           uint32_t part, uint32_t parts) {
  using namespace mix1;
  const Layout l = layout(window_size, config);
  if (part == 0) {
    State& s = state(arena);
    s = State{};
    s.config = config;
    s.layout = l;
    s.c0 = 1;
    s.match_bucket = -1;
    compute_contexts(s, nullptr);  // contexts of the empty history (reads none)
  }
  int32_t init[kMaxInputs];
  int k = 0;
  init[k++] = kInputWeight;  // bias
  if (config.prior) init[k++] = kPriorWeight;
  while (k < l.inputs) init[k++] = kInputWeight;
  int32_t* a = region<int32_t>(arena, l.mixer_a);
  for (uint32_t i = part; i < static_cast<uint32_t>(kMixerSetsA * l.inputs); i += parts) {
    a[i] = init[i % static_cast<uint32_t>(l.inputs)];
  }
  int32_t* b = region<int32_t>(arena, l.mixer_b);
  for (uint32_t i = part; i < static_cast<uint32_t>(l.inputs); i += parts) b[i] = init[i];
  int32_t* f = region<int32_t>(arena, l.mixer_f);
  for (uint32_t i = part; i < static_cast<uint32_t>(kFinalSets * 3); i += parts) {
    f[i] = i % 3 == 2 ? 0 : kFinalWeight;
  }
  if (config.apm) {
    const uint32_t points0 = 256 * kApmPoints;
    const uint32_t points1 = (uint32_t{1} << l.apm1_bits) * kApmPoints;
    uint16_t* t0 = region<uint16_t>(arena, l.apm0);
    uint16_t* t1 = region<uint16_t>(arena, l.apm1);
    for (uint32_t i = part; i < points0; i += parts) {
      t0[i] = static_cast<uint16_t>(squash_knot(static_cast<int>(i % kApmPoints)) * 16);
    }
    for (uint32_t i = part; i < points1; i += parts) {
      t1[i] = static_cast<uint16_t>(squash_knot(static_cast<int>(i % kApmPoints)) * 16);
    }
  }
  // Two fresh counters per word, then the match table's zeros.
  constexpr uint64_t kFreshPair = (uint64_t{kFreshCounter} << 32) | kFreshCounter;
  uint64_t* counters = region<uint64_t>(arena, l.order0);
  const uint64_t counter_words = (l.match_table - l.order0) / 8;
  uint64_t* zeros = region<uint64_t>(arena, l.match_table);
  const uint64_t zero_words = (l.total - l.match_table) / 8;
  if (parts == 1) {
    for (uint64_t i = 0; i < counter_words; ++i) counters[i] = kFreshPair;
    for (uint64_t i = 0; i < zero_words; ++i) zeros[i] = 0;
  } else {
    for (uint64_t i = part; i < counter_words; i += parts) counters[i] = kFreshPair;
    for (uint64_t i = part; i < zero_words; i += parts) zeros[i] = 0;
  }
}

LMZ_HD void mix1_init_part(uint8_t* arena, size_t window_size, uint32_t part, uint32_t parts) {
  mix1_init_part(arena, window_size, Mix1Config{}, part, parts);
}

// Sets the prior (257 CDF entries, spec/MODEL.md) of the next byte; call
// before its first mix1_p16. The CDF is read, not copied: it must stay
// unchanged until the byte's last mix1_p16.
LMZ_HD void mix1_set_prior(uint8_t* arena, const uint32_t* cdf) {
  mix1::state(arena).cdf = cdf;
}

// The window's scalars (the arena's first bytes). A caller may code a byte
// with a copy of them kept in faster memory (a GPU thread: registers and
// local memory instead of the arena's global memory): copy them out before
// the byte's mix1_set_prior and back after its last mix1_update, and pass
// the copy to the overloads below that take it; the arena's tables are
// used in place. The same integers either way.
LMZ_HD mix1::State& mix1_state(uint8_t* arena) {
  return mix1::state(arena);
}

LMZ_HD void mix1_set_prior(mix1::State& s, const uint32_t* cdf) {
  s.cdf = cdf;
}

// P(next bit = 1) in 1/65536, in [16, 65520] (spec/MIXING.md, "Per bit"),
// with the window's scalars in `s`.
LMZ_HD uint32_t mix1_p16(mix1::State& s, uint8_t* arena, const StageTables& t,
                         const uint8_t* history) {
  using namespace mix1;
  int* x = s.x;
  int k = 0;
  x[k++] = 256;
  if (s.config.prior) x[k++] = prior_input(s, t);
  if (s.config.orders) x[k++] = counter_input(region<uint32_t>(arena, s.layout.order0)[s.c0], t);
  const uint32_t bit_salt = kGolden * s.c0;
  // Locals: the stores into the tables below could alias the state.
  const int tables = s.layout.tables;
  const int table_bits = s.layout.table_bits;
  const uint32_t table_size = uint32_t{1} << table_bits;
  uint32_t* const table0 = region<uint32_t>(arena, s.layout.table0);
  uint32_t* table = table0;
  for (int i = 0; i < tables; ++i, table += table_size) {
    uint32_t* c = table_find(table, table_bits, mix32(s.contexts[i] + bit_salt));
    s.slots[i] = static_cast<uint32_t>(c - table0);
    x[k++] = counter_input(*c, t);
  }
  if (s.config.match) {
    s.match_bucket = -1;
    if (s.match_live) {
      const uint32_t expected = (static_cast<uint32_t>(history[s.match_ptr]) | 256u) >> (7 - s.bit);
      if ((expected >> 1) == s.c0) {
        s.match_bit = static_cast<int>(expected & 1);
        const int len = s.match_len;
        s.match_bucket = len < 16 ? len : min_int(16 + ((len - 16) >> 2), 31);
        const int st =
            counter_input(region<uint32_t>(arena, s.layout.match_counters)[s.match_bucket], t);
        const int strength = min_int(len, 32) * 32;
        x[k++] = s.match_bit ? st : -st;
        x[k++] = s.match_bit ? strength : -strength;
      } else {
        s.match_live = 0;
      }
    }
    if (s.match_bucket < 0) {
      x[k++] = 0;
      x[k++] = 0;
    }
  }

  // Two first-layer mixers (one weight set per match state and partial
  // byte; a single set that learns fast) and a final mixer per bit position.
  const int seen = static_cast<int>(s.pos < (1u << 24) ? s.pos : (1u << 24));
  s.mixer_rate = kMixerRate + kMixerBoost * kMixerBoostBytes / (kMixerBoostBytes + seen);
  const int match_state = s.match_bucket < 0 ? 0 : s.match_len < 16 ? 1 : s.match_len < 32 ? 2 : 3;
  s.set_a = static_cast<uint32_t>(match_state) * 256 + s.c0;
  const int n = s.layout.inputs;
  s.out_a = mixer_dot(x, region<int32_t>(arena, s.layout.mixer_a) + s.set_a * n, n);
  s.out_b = mixer_dot(x, region<int32_t>(arena, s.layout.mixer_b), n);
  s.y[0] = s.out_a;
  s.y[1] = s.out_b;
  s.y[2] = 256;
  s.out_f = mixer_dot(s.y, region<int32_t>(arena, s.layout.mixer_f) + s.bit * 3, 3);
  s.p_mix = squash(t, s.out_f);
  int p = s.p_mix;
  if (s.config.apm) {
    const int p0 =
        apm_refine(region<uint16_t>(arena, s.layout.apm0), s.p_mix, s.c0, s.apm_index0, t);
    const uint32_t c1 = s.pos > 0 ? history[s.pos - 1] : 0u;
    const uint32_t ctx1 = mix32(s.c0 | (c1 << 8)) >> (32 - s.layout.apm1_bits);
    const int p1 =
        apm_refine(region<uint16_t>(arena, s.layout.apm1), s.p_mix, ctx1, s.apm_index1, t);
    p = (2 * s.p_mix + p0 + p1 + 2) >> 2;
  }
  return static_cast<uint32_t>(clamp_int(p, 1, kProbMax)) << 4;
}

// P(next bit = 1) with the arena's own scalars.
LMZ_HD uint32_t mix1_p16(uint8_t* arena, const StageTables& t, const uint8_t* history) {
  return mix1_p16(mix1::state(arena), arena, t, history);
}

// Learns the coded bit (must follow mix1_p16), with the window's scalars in
// `s`. For a byte's 8th bit, history[pos] must hold the byte (see the
// history contract above).
LMZ_HD void mix1_update(mix1::State& s, uint8_t* arena, const StageTables& t,
                        const uint8_t* history, int bit) {
  using namespace mix1;
  // Locals: the stores into the tables below could alias the state.
  const int tables = s.layout.tables;
  const int table_bits = s.layout.table_bits;
  const uint32_t table_size = uint32_t{1} << table_bits;
  uint32_t* const table = region<uint32_t>(arena, s.layout.table0);
  if (s.bit < 7) {
    // The next bit's context is known now: start fetching its counters so
    // the loads overlap with the updates below.
    const uint32_t next_salt = kGolden * ((s.c0 << 1) | static_cast<uint32_t>(bit));
    for (int i = 0; i < tables; ++i) {
      const uint32_t at = mix32(s.contexts[i] + next_salt) >> (32 - table_bits);
      prefetch(table + i * table_size + (at & ~1u));
    }
  }
  const int n = s.layout.inputs;
  mixer_learn(s.x, region<int32_t>(arena, s.layout.mixer_a) + s.set_a * n, n, s.out_a, bit,
              s.mixer_rate, t);
  mixer_learn(s.x, region<int32_t>(arena, s.layout.mixer_b), n, s.out_b, bit, s.mixer_rate, t);
  mixer_learn(s.y, region<int32_t>(arena, s.layout.mixer_f) + s.bit * 3, 3, s.out_f, bit,
              kFinalRate, t);
  if (s.config.apm) {
    apm_update(region<uint16_t>(arena, s.layout.apm0), s.apm_index0, bit);
    apm_update(region<uint16_t>(arena, s.layout.apm1), s.apm_index1, bit);
  }
  if (s.config.orders) {
    counter_update(region<uint32_t>(arena, s.layout.order0)[s.c0], bit, kCounterLimit, t);
  }
  for (int i = 0; i < tables; ++i) {
    counter_update(table[s.slots[i]], bit, kCounterLimit, t);
  }
  if (s.match_bucket >= 0) {
    counter_update(region<uint32_t>(arena, s.layout.match_counters)[s.match_bucket],
                   bit == s.match_bit, kMatchLimit, t);
    if (bit != s.match_bit) s.match_live = 0;
  }
  s.c0 = (s.c0 << 1) | static_cast<uint32_t>(bit);
  ++s.bit;
  if (s.bit == 8) {
    end_byte(arena, s, history);
    s.c0 = 1;
    s.bit = 0;
  }
}

// Learns the coded bit with the arena's own scalars.
LMZ_HD void mix1_update(uint8_t* arena, const StageTables& t, const uint8_t* history, int bit) {
  mix1_update(mix1::state(arena), arena, t, history, bit);
}

}  // namespace lmz::cm
