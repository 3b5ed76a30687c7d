// Damaged archives: every bit flip and every truncation of a small archive
// is detected by both readers and never yields wrong bytes; bad magic,
// unknown versions, absurd lengths, a wrong model and a decoded checksum
// mismatch each fail with a clear message (spec/FORMAT.md).
#define BOOST_TEST_MODULE format_corrupt
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>

#include "format/archive_reader.h"
#include "format/archive_writer.h"
#include "format/layout.h"
#include "libcodec/hash.h"
#include "libcodec/order2_model.h"
#include "libcodec/predictor.h"
#include "libcodec/window_codec.h"
#include "tests/format/test_codec.h"

// GCC cannot see that the replaced operator new below uses malloc.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// The largest single allocation since the last reset, to show that no
// declared length makes a reader allocate before the bytes arrive.
namespace {
std::atomic<size_t> g_largest_allocation{0};
}

namespace {
void* counted_malloc(size_t size) {
  size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
  while (size > seen && !g_largest_allocation.compare_exchange_weak(seen, size)) {
  }
  return std::malloc(size == 0 ? 1 : size);
}
}  // namespace

// Every replaceable form (except the aligned ones, left paired with the
// library's), so that new and delete always meet malloc and free.
void* operator new(size_t size) {
  if (void* p = counted_malloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size) {
  if (void* p = counted_malloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  return counted_malloc(size);
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  return counted_malloc(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace lmz {
namespace {

using test::DictWindowCodec;
using test::random_bytes;
using test::resolver_for;
using test::text_from_dictionary;

WriterOptions tiny_options() {
  WriterOptions o;
  o.block_size = 256;
  o.window_size = 100;
  o.zstd_level = 3;
  o.classifier.chunk_size = 32;
  o.classifier.min_binary_run = 32;
  o.classifier.min_text_run = 64;
  return o;
}

// Input for the small archives: text (neural blocks with several windows),
// random bytes (stored) and a repetitive run (zstd).
Bytes tiny_input() {
  Bytes data = text_from_dictionary(400, 31);
  Bytes bin = random_bytes(90, 32);
  data.insert(data.end(), bin.begin(), bin.end());
  for (int i = 0; i < 20; ++i) data.insert(data.end(), {0, 1, 2, 3, 0, 0, 0, 0});
  return data;
}

bool is_prefix(const Bytes& part, const Bytes& whole) {
  return part.size() <= whole.size() && std::equal(part.begin(), part.end(), whole.begin());
}

// Decodes a damaged archive with both readers. Each must throw CorruptInput
// or ModelMismatch; the streaming reader may have released some blocks
// before that, but only correct ones.
void expect_detected(const Bytes& archive, const Bytes& original, WindowCodec& codec,
                     const std::string& what) {
  bool thrown = false;
  // Batched (the default) and block by block.
  for (uint64_t batch : {kDefaultDecodeBatchBytes, uint64_t{0}}) {
    MemorySource in(archive);
    MemorySink out;
    thrown = false;
    try {
      decompress_stream(in, out, resolver_for(codec), {}, batch);
    } catch (const CorruptInput&) {
      thrown = true;
    } catch (const ModelMismatch&) {
      thrown = true;
    }
    BOOST_TEST_REQUIRE(thrown, "streaming reader accepted " << what);
    BOOST_TEST_REQUIRE(is_prefix(out.data, original),
                       "streaming reader released wrong bytes for " << what);
  }
  thrown = false;
  try {
    MemoryRandomAccessSource source(archive);
    RandomAccessReader reader(source, resolver_for(codec));
    Bytes got = reader.read(0, UINT64_MAX);
    BOOST_TEST_REQUIRE((got != original), "random-access reader decoded " << what);
  } catch (const CorruptInput&) {
    thrown = true;
  } catch (const ModelMismatch&) {
    thrown = true;
  }
  BOOST_TEST_REQUIRE(thrown, "random-access reader accepted " << what);
}

template <typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Input the order-2 stand-in codes well even in small windows (mostly 'a'),
// after random bytes (stored) and a repetitive run (zstd). The text comes
// last so that most flips fail before the (slow) model decodes anything.
Bytes skewed_input() {
  std::mt19937_64 rng(37);
  Bytes data = random_bytes(256, 38);  // exactly one block
  for (int i = 0; i < 20; ++i) data.insert(data.end(), {0, 1, 2, 3, 0, 0, 0, 0});
  for (int i = 0; i < 400; ++i) data.push_back(rng() % 10 == 0 ? 'b' : 'a');
  return data;
}

void flip_every_bit(WindowCodec& codec, const Bytes& data) {
  MemorySink sink;
  ArchiveWriter writer(sink, codec, tiny_options());
  writer.write(data);
  writer.finish();
  const Bytes& archive = sink.data;
  BOOST_TEST_MESSAGE("archive of " << archive.size() << " bytes: " << writer.stats().neural_blocks
                                   << " neural, " << writer.stats().zstd_blocks << " zstd, "
                                   << writer.stats().stored_blocks << " stored blocks");
  BOOST_TEST_REQUIRE(archive.size() < 1500u);
  BOOST_TEST_REQUIRE(writer.stats().neural_blocks > 0u);
  BOOST_TEST_REQUIRE(writer.stats().stored_blocks > 0u);
  BOOST_TEST_REQUIRE(writer.stats().zstd_blocks > 0u);
  BOOST_TEST_REQUIRE((decompress_buffer(archive, resolver_for(codec)) == data));
  for (size_t bit = 0; bit < archive.size() * 8; ++bit) {
    Bytes damaged = archive;
    damaged[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    expect_detected(damaged, data, codec, "a flip of bit " + std::to_string(bit));
  }
}

BOOST_AUTO_TEST_CASE(every_bit_flip_is_detected_dict_codec) {
  DictWindowCodec codec;
  flip_every_bit(codec, tiny_input());
}

BOOST_AUTO_TEST_CASE(every_bit_flip_is_detected_order2_codec) {
  auto model = make_order2_model();
  auto codec = make_local_window_codec(*model, kDirectStage);
  flip_every_bit(*codec, skewed_input());
}

BOOST_AUTO_TEST_CASE(neural_blocks_are_in_the_flip_test) {
  DictWindowCodec codec;
  MemorySink sink;
  ArchiveWriter writer(sink, codec, tiny_options());
  writer.write(tiny_input());
  writer.finish();
  BOOST_TEST(writer.stats().neural_blocks >= 2u);
}

BOOST_AUTO_TEST_CASE(every_truncation_is_detected) {
  DictWindowCodec codec;
  Bytes data = tiny_input();
  Bytes archive = compress_buffer(data, codec, tiny_options());
  for (size_t n = 0; n < archive.size(); ++n) {
    Bytes cut(archive.begin(), archive.begin() + static_cast<ptrdiff_t>(n));
    expect_detected(cut, data, codec, "a truncation to " + std::to_string(n) + " bytes");
  }
  // A concatenation cut inside its second member.
  Bytes two = archive;
  two.insert(two.end(), archive.begin(), archive.end());
  Bytes both = data;
  both.insert(both.end(), data.begin(), data.end());
  for (size_t n = archive.size() + 1; n < two.size(); n += 7) {
    Bytes cut(two.begin(), two.begin() + static_cast<ptrdiff_t>(n));
    expect_detected(cut, both, codec, "a truncation to " + std::to_string(n) + " bytes");
  }
  std::string m = message_of([&] {
    decompress_buffer(ByteView(archive).first(archive.size() - 50), resolver_for(codec));
  });
  BOOST_TEST(m.find("truncated archive: expected") != std::string::npos, m);
}

BOOST_AUTO_TEST_CASE(bad_magic_and_trailing_garbage) {
  DictWindowCodec codec;
  Bytes archive = compress_buffer(text_from_dictionary(1000, 33), codec, tiny_options());
  Bytes bad = archive;
  bad[1] = 'X';
  std::string m = message_of([&] { decompress_buffer(bad, resolver_for(codec)); });
  BOOST_TEST(m == "not an lmz archive (bad magic at offset 0)");
  Bytes short_magic = {0x89, 'L', 'M'};
  m = message_of([&] { decompress_buffer(short_magic, resolver_for(codec)); });
  BOOST_TEST(m.find("truncated archive") != std::string::npos, m);
  Bytes text = {'h', 'e', 'l', 'l', 'o'};
  m = message_of([&] { decompress_buffer(text, resolver_for(codec)); });
  BOOST_TEST(m == "not an lmz archive (bad magic at offset 0)");
  m = message_of([&] { decompress_buffer({}, resolver_for(codec)); });
  BOOST_TEST(m == "not an lmz archive (empty input)");

  Bytes garbage = archive;
  garbage.insert(garbage.end(), {'j', 'u', 'n', 'k'});
  m = message_of([&] { decompress_buffer(garbage, resolver_for(codec)); });
  BOOST_TEST(m ==
             "not an lmz archive (bad magic at offset " + std::to_string(archive.size()) + ")");
  m = message_of([&] {
    MemoryRandomAccessSource source(garbage);
    RandomAccessReader reader(source, resolver_for(codec));
  });
  BOOST_TEST(m.find("footer") != std::string::npos, m);
}

// Rewrites the check field that ends at `check_end` over bytes [start, check_end - 8).
void fix_check(Bytes& archive, size_t start, size_t check_end) {
  uint64_t check = xxh3_64(ByteView(archive).subspan(start, check_end - 8 - start));
  for (int i = 0; i < 8; ++i) archive[check_end - 8 + i] = static_cast<uint8_t>(check >> (8 * i));
}

BOOST_AUTO_TEST_CASE(unknown_version_is_named) {
  DictWindowCodec codec;
  Bytes archive = compress_buffer(text_from_dictionary(1000, 34), codec, tiny_options());
  size_t header_size = format::kHeaderFixedSize + codec.model().name.size() + format::kCheckSize;
  Bytes v7 = archive;
  v7[4] = 7;
  fix_check(v7, 0, header_size);
  std::string m = message_of([&] { decompress_buffer(v7, resolver_for(codec)); });
  BOOST_TEST(m.find("unsupported format version 7 (this lmz reads version 1)") == 0u, m);
  // The random-access reader meets the footer's version first.
  Bytes f7 = archive;
  f7[f7.size() - 14] = 7;
  fix_check(f7, f7.size() - format::kFooterSize, f7.size());
  m = message_of([&] {
    MemoryRandomAccessSource source(f7);
    RandomAccessReader reader(source, resolver_for(codec));
  });
  BOOST_TEST(m.find("unsupported format version 7 (this lmz reads version 1)") == 0u, m);
}

// A header, then a frame that claims `raw_size` raw bytes stored (with a
// valid frame check), then nothing: the reader must fail on truncation
// without allocating anything near the claimed size.
Bytes archive_claiming(uint32_t raw_size, uint32_t payload_size, format::Codec codec_tag) {
  format::Header h;
  h.block_size = format::kMaxBlockSize;
  h.model_name = "";
  Bytes out = format::encode_header(h);
  format::FrameHeader f;
  f.codec = codec_tag;
  f.raw_size = raw_size;
  f.payload_size = payload_size;
  if (codec_tag == format::Codec::kNeural) {
    f.window_size = format::kMaxBlockSize;
    f.windows.resize(1, format::WindowEntry{raw_size, payload_size, 0});
  }
  Bytes frame = format::encode_frame_header(f);
  out.insert(out.end(), frame.begin(), frame.end());
  return out;
}

BOOST_AUTO_TEST_CASE(absurd_lengths_fail_fast_without_big_allocations) {
  DictWindowCodec codec;
  // 64 MiB stored block in an 80-byte archive.
  Bytes small =
      archive_claiming(format::kMaxBlockSize, format::kMaxBlockSize, format::Codec::kStored);
  BOOST_TEST(small.size() < 100u);
  g_largest_allocation = 0;
  std::string m = message_of([&] { decompress_buffer(small, resolver_for(codec)); });
  BOOST_TEST(m.find("truncated archive") != std::string::npos, m);
  BOOST_TEST(g_largest_allocation.load() < (256u << 10));

  // Sizes beyond the limits are refused before any read.
  Bytes huge = archive_claiming(0xFFFFFFFFu, 0xFFFFFFFFu, format::Codec::kStored);
  g_largest_allocation = 0;
  m = message_of([&] { decompress_buffer(huge, resolver_for(codec)); });
  BOOST_TEST(m.find("raw size 4294967295 out of range") != std::string::npos, m);
  BOOST_TEST(g_largest_allocation.load() < (256u << 10));

  // A neural block claiming 65,536 windows, table cut short.
  Bytes table = archive_claiming(format::kMaxBlockSize, 1000, format::Codec::kNeural);
  table[44 + 28] = 0;
  table[44 + 30] = 1;  // window count 65536
  table.resize(44 + 40);
  g_largest_allocation = 0;
  m = message_of([&] { decompress_buffer(table, resolver_for(codec)); });
  BOOST_TEST(m.find("truncated archive") != std::string::npos, m);
  BOOST_TEST(g_largest_allocation.load() < (256u << 10));

  // A footer claiming a 1 TiB member (or 1 TiB of raw data) in a tiny file.
  format::Footer footer;
  footer.member_size = uint64_t{1} << 40;
  footer.raw_size = uint64_t{1} << 40;
  footer.block_count = 0;
  footer.index_offset = footer.member_size - format::index_size(0) - format::kFooterSize;
  Bytes tail = format::encode_footer(footer);
  g_largest_allocation = 0;
  m = message_of([&] {
    MemoryRandomAccessSource source(tail);
    RandomAccessReader reader(source, resolver_for(codec));
  });
  BOOST_TEST(m.find("member size 1099511627776 exceeds") != std::string::npos, m);
  BOOST_TEST(g_largest_allocation.load() < (256u << 10));

  // A well-formed empty member whose footer and index claim 1 TiB of raw data.
  Bytes empty = compress_buffer({}, codec, tiny_options());
  size_t index_at = empty.size() - format::kFooterSize - format::index_size(0);
  for (Bytes* target : {&empty}) {
    Bytes& a = *target;
    for (int i = 0; i < 8; ++i)
      a[index_at + 8 + i] = static_cast<uint8_t>((uint64_t{1} << 40) >> (8 * i));
    fix_check(a, index_at, index_at + format::index_size(0));
    size_t f = a.size() - format::kFooterSize;
    for (int i = 0; i < 8; ++i) a[f + 8 + i] = static_cast<uint8_t>((uint64_t{1} << 40) >> (8 * i));
    fix_check(a, f, a.size());
  }
  g_largest_allocation = 0;
  m = message_of([&] {
    MemoryRandomAccessSource source(empty);
    RandomAccessReader reader(source, resolver_for(codec));
  });
  BOOST_TEST(m.find("do not add up") != std::string::npos, m);
  m = message_of([&] { decompress_buffer(empty, resolver_for(codec)); });
  BOOST_TEST(m.find("index at offset") != std::string::npos, m);
  BOOST_TEST(g_largest_allocation.load() < (256u << 10));
}

BOOST_AUTO_TEST_CASE(wrong_model_is_a_model_mismatch) {
  DictWindowCodec codec;
  auto model = make_order2_model();
  auto other = make_local_window_codec(*model, kDirectStage);
  Bytes data = text_from_dictionary(5000, 35);
  Bytes archive = compress_buffer(data, codec, tiny_options());
  BOOST_CHECK_THROW(decompress_buffer(archive, resolver_for(*other)), ModelMismatch);
  MemoryRandomAccessSource source(archive);
  RandomAccessReader reader(source, resolver_for(*other));
  BOOST_TEST(reader.info().members[0].model_name == "test-dict");
  BOOST_CHECK_THROW(reader.read(0, 10), ModelMismatch);
  // A resolver that hands back a codec for a different model is caught too.
  CodecResolver liar = [&](const Hash128&, const std::string&, StageId) -> WindowCodec& {
    return *other;
  };
  std::string m = message_of([&] { decompress_buffer(archive, liar); });
  BOOST_TEST(m.find(codec.model().hash.hex()) != std::string::npos, m);
  BOOST_TEST(m.find(other->model().hash.hex()) != std::string::npos, m);
}

BOOST_AUTO_TEST_CASE(decoded_checksum_mismatch_releases_nothing) {
  DictWindowCodec codec;
  Bytes data = text_from_dictionary(2000, 36);
  WriterOptions o = tiny_options();
  o.block_size = 500;
  o.window_size = 100;
  Bytes archive = compress_buffer(data, codec, o);

  // A model that decodes different bytes than it encoded.
  codec.set_corrupt_decode(true);
  MemorySource in(archive);
  MemorySink out;
  std::string m = message_of([&] { decompress_stream(in, out, resolver_for(codec)); });
  BOOST_TEST(m.find("block 0 at archive offset") == 0u, m);
  BOOST_TEST(m.find("raw checksum mismatch") != std::string::npos, m);
  BOOST_TEST(out.data.empty());
  {
    MemoryRandomAccessSource source(archive);
    RandomAccessReader reader(source, resolver_for(codec));
    m = message_of([&] { reader.read(150, 10); });  // one window only
    BOOST_TEST(m.find("window 1: raw checksum mismatch") != std::string::npos, m);
  }
  codec.set_corrupt_decode(false);

  // A block whose recorded raw checksum differs (frame check made valid):
  // the blocks before it are released, it is not.
  MemoryRandomAccessSource source(archive);
  RandomAccessReader reader(source, resolver_for(codec));
  const BlockInfo& b = reader.info().members[0].blocks.at(2);
  size_t at = b.archive_offset;
  archive[at + 12] ^= 0x40;  // raw_check
  size_t header_size = format::FrameHeader::frame_header_size(
      b.codec == "neural" ? format::Codec::kNeural : format::Codec::kZstd, b.windows);
  fix_check(archive, at, at + header_size);
  MemorySource in2(archive);
  MemorySink out2;
  m = message_of([&] { decompress_stream(in2, out2, resolver_for(codec)); });
  BOOST_TEST(m == "block 2 at archive offset " + std::to_string(at) + ": raw checksum mismatch");
  BOOST_TEST((out2.data == Bytes(data.begin(), data.begin() + 1000)));
  MemoryRandomAccessSource source2(archive);
  RandomAccessReader reader2(source2, resolver_for(codec));
  BOOST_TEST((reader2.read(0, 1000) == Bytes(data.begin(), data.begin() + 1000)));
  BOOST_CHECK_THROW(reader2.read(0, 1500), CorruptInput);  // all of block 2
}

// Random multi-byte damage (overwrites, insertions, deletions, splices of
// two archives) never crashes a reader and never yields wrong bytes.
BOOST_AUTO_TEST_CASE(random_damage_is_detected) {
  DictWindowCodec codec;
  Bytes data = tiny_input();
  Bytes archive = compress_buffer(data, codec, tiny_options());
  Bytes other = compress_buffer(text_from_dictionary(700, 40), codec, tiny_options());
  std::mt19937_64 rng(41);
  for (int trial = 0; trial < 3000; ++trial) {
    Bytes damaged = archive;
    switch (trial % 4) {
      case 0:
        for (int k = 0; k < 1 + static_cast<int>(rng() % 8); ++k) {
          damaged[rng() % damaged.size()] = static_cast<uint8_t>(rng());
        }
        break;
      case 1:
        damaged.insert(damaged.begin() + static_cast<ptrdiff_t>(rng() % damaged.size()),
                       static_cast<uint8_t>(rng()));
        break;
      case 2:
        damaged.erase(damaged.begin() + static_cast<ptrdiff_t>(rng() % damaged.size()));
        break;
      case 3: {
        size_t cut = rng() % damaged.size();
        size_t from = rng() % other.size();
        damaged.resize(cut);
        damaged.insert(damaged.end(), other.begin() + static_cast<ptrdiff_t>(from), other.end());
        break;
      }
    }
    if (damaged == archive) continue;
    expect_detected(damaged, data, codec, "random damage, trial " + std::to_string(trial));
  }
}

// Neural payloads replaced by garbage with every checksum forged to match:
// the model decodes garbage, and the window and block raw checks refuse it.
BOOST_AUTO_TEST_CASE(forged_checksums_on_garbage_windows_are_refused) {
  auto model = make_order2_model();
  auto codec = make_local_window_codec(*model, kDirectStage);
  Bytes data = skewed_input();
  Bytes archive = compress_buffer(data, *codec, tiny_options());
  MemoryRandomAccessSource source(archive);
  RandomAccessReader reader(source, resolver_for(*codec));
  std::mt19937_64 rng(42);
  int neural = 0;
  for (const BlockInfo& b : reader.info().members[0].blocks) {
    if (b.codec != "neural") continue;
    ++neural;
    for (int trial = 0; trial < 50; ++trial) {
      Bytes forged = archive;
      size_t header = format::FrameHeader::frame_header_size(format::Codec::kNeural, b.windows);
      size_t payload_at = b.archive_offset + header;
      size_t payload_end = b.archive_offset + b.frame_size;
      for (size_t i = payload_at; i < payload_end; ++i) forged[i] = static_cast<uint8_t>(rng());
      uint64_t check = xxh3_64(ByteView(forged).subspan(payload_at, payload_end - payload_at));
      for (int i = 0; i < 8; ++i)
        forged[b.archive_offset + 20 + i] = static_cast<uint8_t>(check >> (8 * i));
      fix_check(forged, b.archive_offset, payload_at);
      expect_detected(forged, data, *codec, "garbage windows with forged checksums");
      MemoryRandomAccessSource s2(forged);
      RandomAccessReader r2(s2, resolver_for(*codec));
      BOOST_CHECK_THROW(r2.read(b.raw_offset + 1, 1), CorruptInput);  // one window
    }
  }
  BOOST_TEST(neural > 0);
}

}  // namespace
}  // namespace lmz
