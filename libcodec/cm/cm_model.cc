#include "libcodec/cm/cm_model.h"

#include <algorithm>

namespace lmz::cm {
namespace {

constexpr uint32_t kGolden = 0x9E3779B9u;

// Byte-context hashing (spec/MIXING.md, "Context hashes").
uint32_t combine(uint32_t h, uint32_t v) {
  return mix32(h + kGolden * (v + 1));
}

int ceil_log2(size_t n) {
  int b = 0;
  while ((size_t{1} << b) < n) ++b;
  return b;
}

bool is_word_byte(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 128;
}

// Salts that keep the contexts of different tables apart.
constexpr uint32_t kOrderSalt = 0x100;
constexpr uint32_t kWordSalt = 0x200;
constexpr uint32_t kColumnSalt = 0x300;
constexpr int kOrders[] = {1, 2, 3, 4, 6};

// Learning parameters (spec/MIXING.md, "Parameters").
constexpr int kCounterLimit = 60;
constexpr int kMatchLimit = 255;
constexpr int kMixerRate = 4;    // long-run rate of the first-layer mixers
constexpr int kMixerBoost = 24;  // extra rate at the start of a window
constexpr int kMixerBoostBytes = 4096;
constexpr int kFinalRate = 2;
constexpr int32_t kPriorWeight = 65536;
constexpr int32_t kInputWeight = 16384;
constexpr int32_t kFinalWeight = 32768;
constexpr int kApmRate = 7;
// Longest match the lookup verifies (bounds its cost); matches grow past it.
constexpr int kMaxVerify = 255;

}  // namespace

CmModel::CmModel(const CmConfig& config, size_t window_size) : t_(Tables::get()), config_(config) {
  // The history grows as bytes arrive; reserve at most 16 MiB up front so a
  // bogus size cannot allocate without bound before any byte is decoded.
  buf_.reserve(std::min<size_t>(window_size, size_t{1} << 24));
  order0_.fill(kFreshCounter);
  match_counters_.fill(kFreshCounter);
  const int window_bits = ceil_log2(std::max<size_t>(window_size, 1));
  const int table_bits = std::clamp(window_bits + config.table_shift, 12, 22);
  size_t tables = 0;
  if (config.orders) tables += std::size(kOrders);
  if (config.word) tables += 2;
  if (config.column) tables += 2;
  for (size_t i = 0; i < tables; ++i) tables_.emplace_back(table_bits);
  contexts_.assign(tables, 0);
  slots_.assign(tables, nullptr);
  if (config.match) {
    match_bits_ = std::clamp(window_bits - 2, 10, 22);
    match_table_.assign(size_t{1} << match_bits_, 0);
  }

  std::vector<int32_t> init;
  init.push_back(kInputWeight);  // bias
  if (config.prior) init.push_back(kPriorWeight);
  if (config.orders) init.push_back(kInputWeight);  // order 0
  for (size_t i = 0; i < tables; ++i) init.push_back(kInputWeight);
  if (config.match) {
    init.push_back(kInputWeight);
    init.push_back(kInputWeight);
  }
  n_inputs_ = init.size();
  mixer_ = std::make_unique<Mixer>(n_inputs_, 1024, init, kMixerRate);
  mixer2_ = std::make_unique<Mixer>(n_inputs_, 1, init, kMixerRate);
  final_ = std::make_unique<Mixer>(3, 8, std::vector<int32_t>{kFinalWeight, kFinalWeight, 0},
                                   kFinalRate);
  if (config.apm) {
    apm0_ = std::make_unique<Apm>(256, kApmRate);
    apm1_bits_ = std::clamp(window_bits - 6, 8, 16);
    apm1_ = std::make_unique<Apm>(size_t{1} << apm1_bits_, kApmRate);
  }
  compute_contexts();  // contexts of the empty history
}

size_t CmModel::memory_bytes() const {
  size_t total = buf_.capacity() + sizeof(*this);
  for (const CounterTable& table : tables_) total += table.memory_bytes();
  total += match_table_.size() * sizeof(uint32_t);
  total += mixer_->memory_bytes() + mixer2_->memory_bytes() + final_->memory_bytes();
  if (apm0_) total += apm0_->memory_bytes() + apm1_->memory_bytes();
  return total;
}

int CmModel::prior_input() const {
  const Cdf& cdf = *prior_;
  const uint32_t half = 128u >> bit_;
  const uint32_t lo = (c0_ - (1u << bit_)) << (8 - bit_);
  const uint32_t n0 = cdf[lo + half] - cdf[lo];
  const uint32_t n1 = cdf[lo + 2 * half] - cdf[lo + half];
  int p = static_cast<int>(((n1 << 12) + (n0 + n1) / 2) / (n0 + n1));
  p = std::clamp(p, 1, kProbMax);
  return t_.stretch(p);
}

int CmModel::predict() {
  size_t k = 0;
  x_[k++] = 256;
  if (config_.prior) x_[k++] = prior_input();
  if (config_.orders) x_[k++] = counter_input(order0_[c0_], t_);
  const uint32_t bit_salt = kGolden * c0_;
  for (size_t i = 0; i < tables_.size(); ++i) {
    uint32_t& slot = tables_[i].find(mix32(contexts_[i] + bit_salt));
    slots_[i] = &slot;
    x_[k++] = counter_input(slot, t_);
  }
  if (config_.match) {
    match_slot_ = nullptr;
    if (match_live_) {
      const uint32_t expected = (static_cast<uint32_t>(buf_[match_ptr_]) | 256u) >> (7 - bit_);
      if ((expected >> 1) == c0_) {
        match_bit_ = static_cast<int>(expected & 1);
        const int bucket =
            match_len_ < 16 ? match_len_ : std::min(16 + ((match_len_ - 16) >> 2), 31);
        match_slot_ = &match_counters_[static_cast<size_t>(bucket)];
        const int st = counter_input(*match_slot_, t_);
        const int strength = std::min(match_len_, 32) * 32;
        x_[k++] = match_bit_ ? st : -st;
        x_[k++] = match_bit_ ? strength : -strength;
      } else {
        match_live_ = false;
      }
    }
    if (match_slot_ == nullptr) {
      x_[k++] = 0;
      x_[k++] = 0;
    }
  }

  // Two first-layer mixers (one weight set per match state and partial
  // byte; a single set that learns fast) and a final mixer per bit position.
  const int boost = kMixerBoost * kMixerBoostBytes /
                    (kMixerBoostBytes + static_cast<int>(std::min<size_t>(buf_.size(), 1 << 24)));
  mixer_->set_rate(kMixerRate + boost);
  mixer2_->set_rate(kMixerRate + boost);
  const int match_state = match_slot_ == nullptr ? 0
                          : match_len_ < 16      ? 1
                          : match_len_ < 32      ? 2
                                                 : 3;
  y_[0] = mixer_->mix(x_.data(), static_cast<size_t>(match_state) * 256 + c0_);
  y_[1] = mixer2_->mix(x_.data(), 0);
  y_[2] = 256;
  p_mix_ = t_.squash(final_->mix(y_.data(), static_cast<size_t>(bit_)));
  int p = p_mix_;
  if (config_.apm) {
    const int p0 = apm0_->refine(p_mix_, c0_, t_);
    const uint32_t c1 = buf_.empty() ? 0 : buf_.back();
    const size_t ctx1 = mix32(c0_ | (c1 << 8)) >> (32 - apm1_bits_);
    const int p1 = apm1_->refine(p_mix_, ctx1, t_);
    p = (2 * p_mix_ + p0 + p1 + 2) >> 2;
  }
  return std::clamp(p, 1, kProbMax);
}

void CmModel::update(int bit) {
  if (bit_ < 7) {
    // The next bit's context is known now: start fetching its counters so
    // the loads overlap with the updates below.
    const uint32_t next_salt = kGolden * ((c0_ << 1) | static_cast<uint32_t>(bit));
    for (size_t i = 0; i < tables_.size(); ++i)
      tables_[i].prefetch(mix32(contexts_[i] + next_salt));
  }
  mixer_->update(x_.data(), bit, t_);
  mixer2_->update(x_.data(), bit, t_);
  final_->update(y_.data(), bit, t_);
  if (config_.apm) {
    apm0_->update(bit);
    apm1_->update(bit);
  }
  if (config_.orders) counter_update(order0_[c0_], bit, kCounterLimit, t_);
  for (uint32_t* slot : slots_) counter_update(*slot, bit, kCounterLimit, t_);
  if (match_slot_ != nullptr) {
    counter_update(*match_slot_, bit == match_bit_, kMatchLimit, t_);
    if (bit != match_bit_) match_live_ = false;
  }
  c0_ = (c0_ << 1) | static_cast<uint32_t>(bit);
  ++bit_;
  if (bit_ == 8) {
    end_byte(static_cast<uint8_t>(c0_ & 255));
    c0_ = 1;
    bit_ = 0;
  }
}

void CmModel::end_byte(uint8_t byte) {
  buf_.push_back(byte);
  const size_t pos = buf_.size();  // bytes seen so far
  if (is_word_byte(byte)) {
    const uint32_t lower = (byte >= 'A' && byte <= 'Z') ? byte + 32u : byte;
    word_ = combine(word_, lower);
  } else if (word_ != 0) {
    word1_ = word_;
    word_ = 0;
  }
  if (byte == '\n') {
    prev_line_start_ = line_start_;
    line_start_ = pos;
  }
  if (config_.match) update_match();
  compute_contexts();
}

void CmModel::compute_contexts() {
  const size_t pos = buf_.size();
  auto back = [&](size_t j) -> uint32_t { return j <= pos ? buf_[pos - j] : 0; };
  size_t t = 0;
  if (config_.orders) {
    for (int order : kOrders) {
      uint32_t h = kOrderSalt + static_cast<uint32_t>(order);
      for (int j = 1; j <= order; ++j) h = combine(h, back(static_cast<size_t>(j)));
      contexts_[t++] = h;
    }
  }
  if (config_.word) {
    contexts_[t++] = combine(combine(kWordSalt, word_), back(1));
    contexts_[t++] = combine(combine(kWordSalt + 1, word_), word1_);
  }
  if (config_.column) {
    const size_t column = pos - line_start_;
    const size_t above_at = prev_line_start_ + column;
    const uint32_t above = above_at < line_start_ ? buf_[above_at] : 256u;
    contexts_[t++] = combine(combine(kColumnSalt, above), back(1));
    contexts_[t++] = combine(combine(kColumnSalt + 1, above),
                             static_cast<uint32_t>(std::min<size_t>(column, 255)));
  }
}

void CmModel::update_match() {
  const size_t pos = buf_.size();
  {
    if (match_len_ > 0 && match_live_) {
      // The prediction was right: extend the match.
      match_len_ = std::min(match_len_ + 1, 65535);
      ++match_ptr_;
    } else {
      match_len_ = 0;
    }
    const size_t min_len = static_cast<size_t>(config_.match_min);
    if (pos >= min_len) {
      uint32_t h = 0;
      for (size_t j = 1; j <= min_len; ++j) h = combine(h, buf_[pos - j]);
      uint32_t& entry = match_table_[h >> (32 - match_bits_)];
      if (match_len_ == 0 && entry != 0) {
        // Verify the candidate: count how many bytes before it agree.
        const size_t cand = entry;
        int len = 0;
        while (len < kMaxVerify && static_cast<size_t>(len) < cand &&
               buf_[cand - 1 - static_cast<size_t>(len)] ==
                   buf_[pos - 1 - static_cast<size_t>(len)]) {
          ++len;
        }
        if (len >= config_.match_min) {
          match_len_ = len;
          match_ptr_ = cand;
        }
      }
      entry = static_cast<uint32_t>(pos);
    }
    match_live_ = match_len_ > 0;
  }
}

}  // namespace lmz::cm
