// The stand-in predictor: per window, adaptive counts in order-0, order-1
// and order-2 contexts, blended by Witten-Bell style interpolation:
//
//   P_-1(s) = 1/256
//   P_k(s)  = (n_k(s) + e_k * P_{k-1}(s)) / (T_k + e_k)
//
// where n_k(s) is how often s followed the current order-k context, T_k the
// context's total and e_k its escape weight (grows with the number of
// distinct symbols seen; see escape()). The blend is evaluated as one
// weight per count of each order (split()), applied to running sums of the
// counts, so each step costs one pass over the 256 symbols. Everything is
// integer arithmetic with fixed rounding, so the result is exact on every
// machine; a window's state depends only on its own bytes.
//
// Window states (~250 KiB each) are recycled: a batch takes them from a pool
// the model keeps and gives them back when it ends, and a state is reset to
// exactly the fresh (all-zero) state before it goes back, clearing only the
// parts its window touched (see WindowState::reset). A fresh allocation is
// zeroed in full every time: a large share of the cost of short windows
// (64-byte windows code about 20% faster with recycling), and under
// AddressSanitizer, where every such allocation is a new mapping, most of a
// fuzz execution. Recycling changes no CDF: tests/codec/test_order2_model.cc
// checks recycled states against fresh ones, step by step.
//
// This file IS the model's definition: any change to what it computes must
// change kDefinition below (and so the model hash), or archives written with
// the old definition would silently decode wrong. spec/MODEL.md, "The
// stand-in model", copies the definition string and describes the algorithm.

#include "libcodec/order2_model.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstring>
#include <mutex>
#include <string_view>
#include <vector>

#include "libcodec/hash.h"
#include "libcodec/types.h"

namespace lmz {

namespace {

// The model hash is XXH3-128 of this string (no terminating NUL).
constexpr std::string_view kDefinition = "lmz stand-in order2 v1";

// The blend is computed in units of 2^-8 of a frequency: the mass shared in
// proportion to the blend is kSpare (every symbol first gets frequency 1).
constexpr uint32_t kSpare = kCdfTotal - 256;
constexpr uint64_t kMass = uint64_t{kSpare} << 8;

// Order-2 contexts live in a table of buckets, each holding up to kSlots
// (symbol, count) pairs of one context, sorted by symbol. 4096 buckets hold
// every context of a 16 KiB window of text with room to spare; on longer
// windows the least used of two candidate buckets is recycled.
constexpr int kO2BucketBits = 12;
constexpr size_t kO2Buckets = size_t{1} << kO2BucketBits;
constexpr int kSlots = 12;

// Context totals above which counts are halved (keeps them in range, and
// lets the model adapt within long windows).
constexpr uint32_t kO0Limit = 8192;
constexpr uint32_t kO1Limit = 4096;
constexpr uint8_t kO2CountLimit = 255;

struct O2Bucket {
  uint16_t context = 0;                  // (c2 << 8) | c1
  uint16_t total = 0;                    // sum of count[0..used)
  uint8_t used = 0;                      // slots in use (0 = empty bucket)
  std::array<uint8_t, kSlots> symbol{};  // increasing
  std::array<uint8_t, kSlots> count{};
};

// predict_window and observe_window are the model's hot loops (a few
// operations per symbol per step); on x86-64 they are compiled twice and the
// AVX2 copy is picked at load time where the processor has it. Integer
// arithmetic gives the same result in both copies.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LMZ_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define LMZ_MULTIVERSION
#endif

// 0, 1, ..., 255 as 16-bit lanes.
constexpr std::array<int16_t, 256> kSymbols = [] {
  std::array<int16_t, 256> a{};
  for (size_t i = 0; i < 256; ++i) a[i] = static_cast<int16_t>(i);
  return a;
}();

// Counts of a context kept as running sums: below[s] is how many symbols
// less than s were seen, so a CDF needs no prefix sum at predict time.
struct Counts {
  std::array<uint16_t, 256> below{};
  uint16_t total = 0;
  uint16_t distinct = 0;

  uint32_t count(uint8_t s) const { return (s == 255 ? total : below[s + 1]) - below[s]; }

  void add(uint8_t s, uint32_t limit) {
    if (uint32_t{total} + 1 > limit) halve();
    if (count(s) == 0) ++distinct;
    // Fixed-length loop over 16-bit lanes: the compiler vectorizes it.
    const int16_t sym = s;
    for (size_t x = 0; x < 256; ++x) {
      below[x] = static_cast<uint16_t>(below[x] + (kSymbols[x] > sym));
    }
    ++total;
  }

  // Halves every count, rounding up so that seen symbols stay seen.
  void halve() {
    uint32_t sum = 0;
    for (size_t x = 0; x < 256; ++x) {
      const uint32_t n = count(static_cast<uint8_t>(x));
      below[x] = static_cast<uint16_t>(sum);
      sum += (n + 1) >> 1;
    }
    total = static_cast<uint16_t>(sum);
  }
};

// One window's state: about 250 KiB.
struct WindowState {
  Counts o0;
  std::array<Counts, 256> o1;  // by previous byte
  std::array<O2Bucket, kO2Buckets> o2{};
  uint8_t c1 = 0;  // previous byte (0 before the first)
  uint8_t c2 = 0;  // the byte before it
  // Not part of the model: which order-2 buckets were taken while they were
  // empty (bit b % 64 of word b / 64), so that reset() need not clear all
  // 4096 of them.
  std::array<uint64_t, kO2Buckets / 64> o2_taken{};

  // Returns the state to exactly the fresh one, writing only what the
  // window changed. That is all of it: an order-1 context that was counted
  // has total > 0 (halving keeps seen symbols seen), and an order-2 bucket
  // changes only once a context takes it (observe_o2), which marks it in
  // o2_taken when it was empty; a recycled bucket was marked when first
  // taken, and a taken bucket never becomes empty again.
  void reset() {
    o0 = Counts{};
    for (Counts& c : o1) {
      if (c.total != 0) c = Counts{};
    }
    for (size_t word = 0; word < o2_taken.size(); ++word) {
      for (uint64_t bits = o2_taken[word]; bits != 0; bits &= bits - 1) {
        o2[word * 64 + static_cast<size_t>(std::countr_zero(bits))] = O2Bucket{};
      }
      o2_taken[word] = 0;
    }
    c1 = 0;
    c2 = 0;
  }
};
static_assert(sizeof(WindowState) <= 256 * 1024, "a batch holds dozens of windows");

// Escape weight of an order-`order` context that has seen `distinct`
// different symbols: its share (against the context's total) passed down to
// the next lower order. Tuned on held-out text, logs and random bytes in
// 16 KiB windows.
uint32_t escape(int order, uint32_t distinct) {
  switch (order) {
    case 0:
      return distinct + 1;
    case 1:
      return 2 * distinct + 1;
    default:
      return 3 * distinct / 2 + 1;
  }
}

size_t o2_index(uint16_t context) {
  return (uint32_t{context} * 2654435761u) >> (32 - kO2BucketBits);
}

const O2Bucket* find_o2(const WindowState& w, uint16_t context) {
  const size_t i = o2_index(context);
  if (w.o2[i].used != 0 && w.o2[i].context == context) return &w.o2[i];
  const size_t j = i ^ 1;
  if (w.o2[j].used != 0 && w.o2[j].context == context) return &w.o2[j];
  return nullptr;
}

// Splits `mass` between a context's counts and the lower orders: each count
// gets `per_count`, the lower orders get what `rest` returns. Both rounded
// down, so their sum never exceeds `mass`.
struct Split {
  uint64_t per_count;
  uint64_t rest;
};
Split split(uint64_t mass, int order, uint32_t total, uint32_t distinct) {
  const uint32_t esc = escape(order, distinct);
  const uint64_t denom = uint64_t{total} + esc;
  return Split{mass / denom, mass * esc / denom};
}

LMZ_MULTIVERSION void predict_window(const WindowState& w, Cdf& cdf) {
  // The blend, as a weight per count of each order plus a uniform share:
  //   X(s) = a2 * below2[s] + a1 * below1[s] + a0 * below0[s] + u * s
  // is the blended mass of the symbols below s, at most kMass in total.
  const uint16_t context = static_cast<uint16_t>((w.c2 << 8) | w.c1);
  const O2Bucket* o2 = find_o2(w, context);
  const Counts& o1 = w.o1[w.c1];
  const Split s2 = o2 != nullptr ? split(kMass, 2, o2->total, o2->used) : Split{0, kMass};
  const Split s1 = split(s2.rest, 1, o1.total, o1.distinct);
  const Split s0 = split(s1.rest, 0, w.o0.total, w.o0.distinct);
  const uint32_t a2 = static_cast<uint32_t>(s2.per_count);
  const uint32_t a1 = static_cast<uint32_t>(s1.per_count);
  const uint32_t a0 = static_cast<uint32_t>(s0.per_count);
  const uint32_t u = static_cast<uint32_t>(s0.rest / 256);

  // below2[x]: the order-2 counts of the symbols less than x, summed slot by
  // slot in fixed-length loops that the compiler vectorizes.
  std::array<uint16_t, 256> below2{};
  if (o2 != nullptr) {
    for (int k = 0; k < o2->used; ++k) {
      const int16_t sym = o2->symbol[k];
      const uint16_t n = o2->count[k];
      for (size_t x = 0; x < 256; ++x) {
        const uint16_t above = static_cast<uint16_t>(-static_cast<int16_t>(kSymbols[x] > sym));
        below2[x] = static_cast<uint16_t>(below2[x] + (n & above));
      }
    }
  }
  // cdf[x] = x + X(x) / 256: every frequency is >= 1, X(256) <= kMass, and
  // what rounding leaves over goes to symbol 255. (A fixed-length loop, so
  // that the compiler vectorizes it.)
  for (uint32_t s = 0; s < 256; ++s) {
    const uint32_t mass = a2 * below2[s] + a1 * o1.below[s] + a0 * w.o0.below[s] + u * s;
    cdf[s] = s + (mass >> 8);
  }
  cdf[256] = kCdfTotal;
}

void observe_o2(WindowState& w, uint8_t s) {
  const uint16_t context = static_cast<uint16_t>((w.c2 << 8) | w.c1);
  const size_t i = o2_index(context);
  const size_t j = i ^ 1;
  O2Bucket* bucket;
  if (w.o2[i].used != 0 && w.o2[i].context == context) {
    bucket = &w.o2[i];
  } else if (w.o2[j].used != 0 && w.o2[j].context == context) {
    bucket = &w.o2[j];
  } else {
    // New context: take an empty candidate, else the one with fewer counts
    // (the first on a tie).
    bucket = w.o2[j].total < w.o2[i].total ? &w.o2[j] : &w.o2[i];
    if (bucket->used == 0) {
      const size_t b = static_cast<size_t>(bucket - w.o2.data());
      w.o2_taken[b / 64] |= uint64_t{1} << (b % 64);
    }
    *bucket = O2Bucket{};
    bucket->context = context;
  }
  int k = 0;
  while (k < bucket->used && bucket->symbol[k] < s) ++k;
  if (k == bucket->used || bucket->symbol[k] != s) {
    if (bucket->used == kSlots) {
      // Full: drop the slot with the smallest count (the first on a tie).
      int drop = 0;
      for (int m = 1; m < kSlots; ++m) {
        if (bucket->count[m] < bucket->count[drop]) drop = m;
      }
      bucket->total = static_cast<uint16_t>(bucket->total - bucket->count[drop]);
      for (int m = drop; m + 1 < kSlots; ++m) {
        bucket->symbol[m] = bucket->symbol[m + 1];
        bucket->count[m] = bucket->count[m + 1];
      }
      --bucket->used;
      if (drop < k) --k;
    }
    // Insert s at k, keeping symbols sorted.
    for (int m = bucket->used; m > k; --m) {
      bucket->symbol[m] = bucket->symbol[m - 1];
      bucket->count[m] = bucket->count[m - 1];
    }
    bucket->symbol[k] = s;
    bucket->count[k] = 0;
    ++bucket->used;
  }
  if (bucket->count[k] == kO2CountLimit) {
    uint32_t total = 0;
    for (int m = 0; m < bucket->used; ++m) {
      bucket->count[m] = static_cast<uint8_t>((bucket->count[m] + 1) >> 1);
      total += bucket->count[m];
    }
    bucket->total = static_cast<uint16_t>(total);
  }
  ++bucket->count[k];
  ++bucket->total;
}

LMZ_MULTIVERSION void observe_window(WindowState& w, uint8_t s) {
  w.o0.add(s, kO0Limit);
  w.o1[w.c1].add(s, kO1Limit);
  observe_o2(w, s);
  w.c2 = w.c1;
  w.c1 = s;
}

// Fresh window states for the batches of one model. Holds at most kMaxKept
// states between batches (64 x ~250 KiB = 16 MiB): enough for the batches
// of several threads in flight; beyond that a batch's states are freed.
class StatePool {
 public:
  static constexpr size_t kMaxKept = 64;

  // A state equal to a value-initialized WindowState.
  std::unique_ptr<WindowState> take() {
    {
      std::lock_guard lock(mu_);
      if (!free_.empty()) {
        std::unique_ptr<WindowState> w = std::move(free_.back());
        free_.pop_back();
        return w;
      }
    }
    return std::make_unique<WindowState>();
  }

  // Takes back a state a window used (resets it first), or frees it.
  void give_back(std::unique_ptr<WindowState> w) {
    {
      std::lock_guard lock(mu_);
      if (free_.size() >= kMaxKept) return;  // freed on return
    }
    w->reset();
    std::lock_guard lock(mu_);
    if (free_.size() < kMaxKept) free_.push_back(std::move(w));
  }

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<WindowState>> free_;
};

class Order2Batch : public PredictorBatch {
 public:
  Order2Batch(size_t windows, std::shared_ptr<StatePool> pool) : pool_(std::move(pool)) {
    windows_.reserve(windows);
    for (size_t k = 0; k < windows; ++k) windows_.push_back(pool_->take());
  }

  ~Order2Batch() override {
    for (auto& w : windows_) pool_->give_back(std::move(w));
  }

  Order2Batch(const Order2Batch&) = delete;
  Order2Batch& operator=(const Order2Batch&) = delete;

  size_t size() const override { return windows_.size(); }

  void predict(std::span<const uint32_t> slots, std::span<Cdf> out) override {
    assert(slots.size() == out.size());
    for (size_t k = 0; k < slots.size(); ++k) predict_window(*windows_.at(slots[k]), out[k]);
  }

  void observe(std::span<const uint32_t> slots, std::span<const uint8_t> bytes) override {
    assert(slots.size() == bytes.size());
    for (size_t k = 0; k < slots.size(); ++k) observe_window(*windows_.at(slots[k]), bytes[k]);
  }

 private:
  std::shared_ptr<StatePool> pool_;
  std::vector<std::unique_ptr<WindowState>> windows_;
};

class Order2Model : public Predictor {
 public:
  Order2Model() {
    id_.name = kOrder2ModelName;
    id_.hash = xxh3_128(
        ByteView(reinterpret_cast<const uint8_t*>(kDefinition.data()), kDefinition.size()));
  }

  const ModelId& id() const override { return id_; }

  std::unique_ptr<PredictorBatch> start_batch(size_t windows) override {
    return std::make_unique<Order2Batch>(windows, pool_);
  }

  // The work is per window (~250 KiB of state each), so a batch gains
  // little beyond amortising the per-step calls; small batches let the
  // window codec spread a block's windows (64 of 16 KiB in 1 MiB) over
  // several threads, one batch per thread.
  size_t preferred_batch_size() const override { return 16; }

 private:
  ModelId id_;
  // Shared with the batches, which may outlive the model.
  std::shared_ptr<StatePool> pool_ = std::make_shared<StatePool>();
};

}  // namespace

std::unique_ptr<Predictor> make_order2_model() {
  return std::make_unique<Order2Model>();
}

}  // namespace lmz
