// Round trips through the .lmz writer and both readers, concatenation,
// random access and the info summary (spec/FORMAT.md).
#define BOOST_TEST_MODULE format_roundtrip
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <memory>
#include <random>

#include "format/archive_reader.h"
#include "format/archive_writer.h"
#include "format/layout.h"
#include "libcodec/cm/cm_stage.h"
#include "libcodec/order2_model.h"
#include "libcodec/predictor.h"
#include "libcodec/window_codec.h"
#include "tests/format/test_codec.h"

namespace lmz {
namespace {

using test::DictWindowCodec;
using test::random_bytes;
using test::resolver_for;
using test::text_from_dictionary;

// Hands out input in small, irregular pieces, as a pipe would.
class ChunkySource final : public ByteSource {
 public:
  ChunkySource(ByteView data, uint64_t seed) : data_(data), rng_(seed) {}
  size_t read(MutableByteView out) override {
    size_t n = std::min({out.size(), data_.size() - pos_, size_t{1} + rng_() % 700});
    std::copy_n(data_.begin() + static_cast<ptrdiff_t>(pos_), n, out.begin());
    pos_ += n;
    return n;
  }

 private:
  ByteView data_;
  size_t pos_ = 0;
  std::mt19937_64 rng_;
};

struct Order2Codec {
  std::unique_ptr<Predictor> model = make_order2_model();
  std::unique_ptr<WindowCodec> codec = make_local_window_codec(*model, kDirectStage);
};

WriterOptions small_options(uint32_t block, uint32_t window) {
  WriterOptions o;
  o.block_size = block;
  o.window_size = window;
  o.zstd_level = 3;
  o.classifier.chunk_size = 64;
  o.classifier.min_binary_run = 128;
  o.classifier.min_text_run = 256;
  return o;
}

Bytes slice(const Bytes& data, uint64_t offset, uint64_t length) {
  if (offset >= data.size()) return {};
  uint64_t end = std::min<uint64_t>(data.size(), offset + std::min<uint64_t>(length, data.size()));
  return Bytes(data.begin() + static_cast<ptrdiff_t>(offset),
               data.begin() + static_cast<ptrdiff_t>(end));
}

// Decodes `archive` every way there is and compares with `data`.
void check_decodes_with(const Bytes& archive, const Bytes& data, const CodecResolver& resolve,
                        uint64_t seed = 1) {
  BOOST_TEST_REQUIRE((decompress_buffer(archive, resolve) == data));
  ChunkySource chunky(archive, seed);
  MemorySink sink;
  decompress_stream(chunky, sink, resolve);
  BOOST_TEST_REQUIRE((sink.data == data));
  for (uint64_t batch : {uint64_t{0}, uint64_t{5000}}) {  // block by block, small batches
    MemorySource in(archive);
    MemorySink out;
    decompress_stream(in, out, resolve, {}, batch);
    BOOST_TEST_REQUIRE((out.data == data));
  }

  MemoryRandomAccessSource source(archive);
  RandomAccessReader reader(source, resolve);
  BOOST_TEST_REQUIRE(reader.raw_size() == data.size());
  BOOST_TEST_REQUIRE(reader.info().raw_size == data.size());
  BOOST_TEST_REQUIRE(reader.info().archive_size == archive.size());
  BOOST_TEST_REQUIRE((reader.read(0, data.size()) == data));
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 40; ++i) {
    uint64_t off = data.empty() ? rng() % 4 : rng() % (data.size() + 8);
    uint64_t len = rng() % 3 == 0 ? rng() % 16 : rng() % (data.size() + 16);
    BOOST_TEST_REQUIRE((reader.read(off, len) == slice(data, off, len)),
                       "read(" << off << ", " << len << ")");
  }
  BOOST_TEST((reader.read(data.size(), 10).empty()));
  BOOST_TEST((reader.read(0, UINT64_MAX) == data));
}

void check_decodes_to(const Bytes& archive, const Bytes& data, WindowCodec& codec,
                      uint64_t seed = 1) {
  check_decodes_with(archive, data, resolver_for(codec), seed);
}

Bytes roundtrip(const Bytes& data, WindowCodec& codec, const WriterOptions& options) {
  Bytes archive = compress_buffer(data, codec, options);
  check_decodes_to(archive, data, codec);
  return archive;
}

uint64_t raw_bytes_with_codec(const ArchiveInfo& info, const std::string& codec) {
  uint64_t n = 0;
  for (const auto& m : info.members) {
    for (const auto& b : m.blocks) {
      if (b.codec == codec) n += b.raw_size;
    }
  }
  return n;
}

// Fixed overhead of a member with no blocks: header, end marker, index, footer.
uint64_t member_overhead(const WindowCodec& codec) {
  return format::kHeaderFixedSize + codec.model().name.size() + format::kCheckSize +
         format::kEndMarkerSize + format::index_size(0) + format::kFooterSize;
}

BOOST_AUTO_TEST_CASE(empty_input) {
  DictWindowCodec codec;
  Bytes archive = roundtrip({}, codec, WriterOptions{});
  BOOST_TEST(archive.size() == member_overhead(codec));
  MemoryRandomAccessSource source(archive);
  RandomAccessReader reader(source, resolver_for(codec));
  BOOST_TEST(reader.info().members.size() == 1u);
  BOOST_TEST(reader.info().members[0].blocks.empty());
  BOOST_TEST(reader.info().members[0].model_name == "test-dict");
}

BOOST_AUTO_TEST_CASE(one_byte) {
  DictWindowCodec codec;
  Bytes archive = roundtrip({'x'}, codec, WriterOptions{});
  MemoryRandomAccessSource source(archive);
  RandomAccessReader reader(source, resolver_for(codec));
  BOOST_TEST(reader.info().members[0].blocks.size() == 1u);
  BOOST_TEST(reader.info().members[0].blocks[0].codec == "stored");
}

BOOST_AUTO_TEST_CASE(exactly_one_block) {
  DictWindowCodec codec;
  WriterOptions o = small_options(8192, 1024);
  Bytes data = text_from_dictionary(8192, 3);
  Bytes archive = roundtrip(data, codec, o);
  MemoryRandomAccessSource source(archive);
  RandomAccessReader reader(source, resolver_for(codec));
  const MemberInfo& m = reader.info().members.at(0);
  BOOST_TEST_REQUIRE(m.blocks.size() == 1u);
  BOOST_TEST(m.blocks[0].codec == "neural");
  BOOST_TEST(m.blocks[0].windows == 8u);
  BOOST_TEST(m.blocks[0].window_size == 1024u);
  BOOST_TEST(m.blocks[0].raw_size == 8192u);
  BOOST_TEST(m.model_hash.hex() == codec.model().hash.hex());
  BOOST_TEST(m.stage == kDirectStage);
  BOOST_TEST(m.format_version == 1u);
  BOOST_TEST(m.archive_size == archive.size());
}

BOOST_AUTO_TEST_CASE(many_blocks_and_windows) {
  DictWindowCodec codec;
  WriterOptions o = small_options(4096, 512);
  Bytes data = text_from_dictionary(100000, 4);
  Bytes archive = roundtrip(data, codec, o);
  MemoryRandomAccessSource source(archive);
  RandomAccessReader reader(source, resolver_for(codec));
  const MemberInfo& m = reader.info().members.at(0);
  BOOST_TEST(m.blocks.size() == 25u);
  uint64_t raw = 0;
  uint64_t at = m.blocks.at(0).archive_offset;
  for (const BlockInfo& b : m.blocks) {
    BOOST_TEST(b.raw_offset == raw);
    BOOST_TEST(b.archive_offset == at);
    BOOST_TEST(b.codec == "neural");
    raw += b.raw_size;
    at += b.frame_size;
  }
}

BOOST_AUTO_TEST_CASE(tiny_blocks_and_windows) {
  DictWindowCodec codec;
  Bytes data = text_from_dictionary(3000, 5);
  Bytes more = random_bytes(700, 6);
  data.insert(data.end(), more.begin(), more.end());
  roundtrip(data, codec, small_options(1, 1));
  for (uint32_t block : {7u, 64u, 300u}) {
    for (uint32_t window : {1u, 5u, 32u, 1000u}) {
      WriterOptions o = small_options(block, window);
      roundtrip(data, codec, o);
    }
  }
}

BOOST_AUTO_TEST_CASE(random_megabyte_is_stored_with_bounded_overhead) {
  DictWindowCodec codec;
  Bytes data = random_bytes(1 << 20, 7);
  WriterOptions o;
  o.block_size = 64 << 10;
  o.zstd_level = 3;
  Bytes archive = roundtrip(data, codec, o);
  MemoryRandomAccessSource source(archive);
  RandomAccessReader reader(source, resolver_for(codec));
  BOOST_TEST(reader.info().members[0].blocks.size() == 16u);
  BOOST_TEST(raw_bytes_with_codec(reader.info(), "stored") == data.size());
  // Per block: a 36-byte frame header and a 36-byte index entry.
  uint64_t bound = data.size() + 16 * (36 + format::kIndexEntrySize) + member_overhead(codec);
  BOOST_TEST(archive.size() <= bound);
}

BOOST_AUTO_TEST_CASE(binary_never_grows_more_than_fixed_overhead) {
  DictWindowCodec codec;
  std::mt19937_64 rng(8);
  for (int trial = 0; trial < 20; ++trial) {
    size_t n = rng() % 50000;
    Bytes data = random_bytes(n, rng());
    WriterOptions o;
    o.block_size = 1 + static_cast<uint32_t>(rng() % 8192);
    o.zstd_level = 1;
    Bytes archive = compress_buffer(data, codec, o);
    uint64_t blocks = (n + o.block_size - 1) / o.block_size;
    BOOST_TEST(archive.size() <= n + blocks * 72 + member_overhead(codec));
    BOOST_TEST((decompress_buffer(archive, resolver_for(codec)) == data));
  }
}

BOOST_AUTO_TEST_CASE(text_goes_to_the_neural_codec) {
  DictWindowCodec codec;
  Bytes data = text_from_dictionary(300000, 9);
  WriterOptions o;
  o.block_size = 64 << 10;
  o.zstd_level = 3;
  MemorySink sink;
  ArchiveWriter writer(sink, codec, o);
  writer.write(data);
  writer.finish();
  BOOST_TEST(writer.stats().neural_blocks == 5u);
  BOOST_TEST(writer.stats().raw_bytes == data.size());
  BOOST_TEST(writer.stats().archive_bytes == sink.data.size());
  BOOST_TEST(sink.data.size() < data.size() / 4);
  check_decodes_to(sink.data, data, codec);
}

BOOST_AUTO_TEST_CASE(zstd_wins_when_the_neural_codec_does_not_beat_it) {
  DictWindowCodec codec;
  Bytes data;
  for (int i = 0; i < 4000; ++i) {
    const char* line = "the same line again and again\n";
    data.insert(data.end(), line, line + 30);
  }
  WriterOptions o = small_options(64 << 10, 64);  // tiny windows: the neural side loses
  MemorySink sink;
  ArchiveWriter writer(sink, codec, o);
  writer.write(data);
  writer.finish();
  BOOST_TEST(writer.stats().neural_blocks == 0u);
  BOOST_TEST(writer.stats().zstd_blocks == 2u);
  check_decodes_to(sink.data, data, codec);
}

BOOST_AUTO_TEST_CASE(allow_neural_false_uses_no_model) {
  DictWindowCodec codec;
  Bytes data = text_from_dictionary(50000, 10);
  WriterOptions o = small_options(16384, 1024);
  o.allow_neural = false;
  Bytes archive = roundtrip(data, codec, o);
  MemoryRandomAccessSource source(archive);
  RandomAccessReader reader(source, resolver_for(codec));
  BOOST_TEST(raw_bytes_with_codec(reader.info(), "neural") == 0u);
  // Archives without neural blocks decode without their model.
  CodecResolver none = [](const Hash128&, const std::string&, StageId) -> WindowCodec& {
    throw ModelMismatch("no model here");
  };
  BOOST_TEST((decompress_buffer(archive, none) == data));
}

// A tar-like stream: text members with 512-byte binary headers, and binary
// members. The text must still reach the neural codec.
BOOST_AUTO_TEST_CASE(mixed_text_and_binary_keeps_text_neural) {
  DictWindowCodec codec;
  std::mt19937_64 rng(11);
  Bytes data;
  uint64_t text_bytes = 0;
  for (int member = 0; member < 24; ++member) {
    Bytes header(512, 0);
    for (int k = 0; k < 100; ++k) header[k] = static_cast<uint8_t>('a' + rng() % 26);
    data.insert(data.end(), header.begin(), header.end());
    if (member % 3 == 2) {
      // One draw per statement (argument order is unspecified).
      const uint64_t seed = rng();
      Bytes bin = random_bytes(20000 + rng() % 20000, seed);
      data.insert(data.end(), bin.begin(), bin.end());
    } else {
      const uint64_t seed = rng();
      Bytes text = text_from_dictionary(10000 + rng() % 30000, seed);
      data.insert(data.end(), text.begin(), text.end());
      text_bytes += text.size();
    }
  }
  WriterOptions o;
  o.block_size = 128 << 10;
  o.zstd_level = 3;
  Bytes archive = roundtrip(data, codec, o);
  MemoryRandomAccessSource source(archive);
  RandomAccessReader reader(source, resolver_for(codec));
  uint64_t neural = raw_bytes_with_codec(reader.info(), "neural");
  BOOST_TEST(neural >= text_bytes * 9 / 10, neural << " of " << text_bytes << " text bytes");
  BOOST_TEST(raw_bytes_with_codec(reader.info(), "stored") > 0u);
}

BOOST_AUTO_TEST_CASE(log_like_blocks_use_the_log_window_size) {
  DictWindowCodec codec;
  Bytes data;
  std::mt19937_64 rng(12);
  Bytes words = text_from_dictionary(100000, 13);
  for (int i = 0; data.size() < 60000; ++i) {
    std::string line = "2026-11-23 19:" + std::to_string(10 + i % 50) + ":0" +
                       std::to_string(i % 10) + " host app[" + std::to_string(1000 + i) + "]: ";
    data.insert(data.end(), line.begin(), line.end());
    size_t start = rng() % 90000;
    for (size_t k = start; k < start + 20 + rng() % 40; ++k) {
      data.push_back(words[k] == '\n' ? ' ' : words[k]);
    }
    data.push_back('\n');
  }
  WriterOptions o = small_options(32768, 1024);
  o.log_window_size = 4096;
  Bytes archive = roundtrip(data, codec, o);
  MemoryRandomAccessSource source(archive);
  RandomAccessReader reader(source, resolver_for(codec));
  for (const BlockInfo& b : reader.info().members[0].blocks) {
    BOOST_TEST(b.content == "log");
    if (b.codec == "neural") BOOST_TEST(b.window_size == 4096u);
  }
}

BOOST_AUTO_TEST_CASE(writer_streams_and_ignores_write_sizes) {
  DictWindowCodec codec;
  Bytes data = text_from_dictionary(40000, 14);
  Bytes bin = random_bytes(5000, 15);
  data.insert(data.begin() + 20000, bin.begin(), bin.end());
  WriterOptions o = small_options(8192, 1024);
  o.batch_bytes = 2 * o.block_size;
  Bytes whole = compress_buffer(data, codec, o);

  MemorySink sink;
  ArchiveWriter writer(sink, codec, o);
  std::mt19937_64 rng(16);
  size_t pos = 0;
  uint64_t progress_calls = 0;
  writer.set_progress([&](const WriterStats&) { ++progress_calls; });
  while (pos < data.size()) {
    size_t n = std::min<size_t>(data.size() - pos, rng() % 3000);
    writer.write(ByteView(data).subspan(pos, n));
    pos += n;
    // Blocks go out as soon as a batch is full: never more than the batch
    // plus a block and the classifier's carried run are held back.
    if (pos > 4 * o.block_size) BOOST_TEST(!sink.data.empty());
  }
  writer.finish();
  BOOST_TEST((sink.data == whole));
  BOOST_TEST(progress_calls == writer.stats().blocks);
  BOOST_CHECK_THROW(writer.write(data), UsageError);
  BOOST_CHECK_THROW(writer.finish(), UsageError);
}

// Coding blocks in batches changes how many windows one codec call gets,
// never a byte of the archive.
BOOST_AUTO_TEST_CASE(batching_does_not_change_the_archive) {
  DictWindowCodec codec;
  Order2Codec o2;
  Bytes data = text_from_dictionary(50000, 26);
  Bytes bin = random_bytes(7000, 27);
  data.insert(data.begin() + 20000, bin.begin(), bin.end());
  for (WindowCodec* c : {static_cast<WindowCodec*>(&codec), o2.codec.get()}) {
    WriterOptions o = small_options(4096, 1024);
    o.zstd_level = 1;
    o.batch_bytes = 0;
    Bytes single = compress_buffer(data, *c, o);
    for (uint64_t batch : {uint64_t{4096}, uint64_t{10000}, uint64_t{1} << 30}) {
      o.batch_bytes = batch;
      BOOST_TEST((compress_buffer(data, *c, o) == single), "batch " << batch);
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_options_are_refused) {
  DictWindowCodec codec;
  MemorySink sink;
  WriterOptions o;
  o.block_size = 0;
  BOOST_CHECK_THROW(ArchiveWriter(sink, codec, o), UsageError);
  o.block_size = (64u << 20) + 1;
  BOOST_CHECK_THROW(ArchiveWriter(sink, codec, o), UsageError);
  o = WriterOptions{};
  o.window_size = 0;
  BOOST_CHECK_THROW(ArchiveWriter(sink, codec, o), UsageError);
  o = WriterOptions{};
  o.block_size = 64u << 20;
  o.window_size = 512;  // 131072 windows a block
  BOOST_CHECK_THROW(ArchiveWriter(sink, codec, o), UsageError);
  o = WriterOptions{};
  o.zstd_level = 0;
  BOOST_CHECK_THROW(ArchiveWriter(sink, codec, o), UsageError);
}

BOOST_AUTO_TEST_CASE(concatenated_archives) {
  DictWindowCodec codec;
  Bytes a = text_from_dictionary(30000, 17);
  Bytes b = random_bytes(9000, 18);
  Bytes c = text_from_dictionary(12345, 19);
  WriterOptions o = small_options(4096, 1000);
  Bytes archive = compress_buffer(a, codec, o);
  Bytes empty_member = compress_buffer({}, codec, o);
  Bytes second = compress_buffer(b, codec, small_options(2048, 100));
  Bytes third = compress_buffer(c, codec, o);
  archive.insert(archive.end(), empty_member.begin(), empty_member.end());
  archive.insert(archive.end(), second.begin(), second.end());
  archive.insert(archive.end(), third.begin(), third.end());
  Bytes all = a;
  all.insert(all.end(), b.begin(), b.end());
  all.insert(all.end(), c.begin(), c.end());
  check_decodes_to(archive, all, codec, 20);

  MemoryRandomAccessSource source(archive);
  RandomAccessReader reader(source, resolver_for(codec));
  const ArchiveInfo& info = reader.info();
  BOOST_TEST_REQUIRE(info.members.size() == 4u);
  BOOST_TEST(info.members[1].raw_size == 0u);
  BOOST_TEST(info.members[2].raw_offset == a.size());
  BOOST_TEST(info.members[3].raw_offset == a.size() + b.size());
  BOOST_TEST(info.members[3].archive_offset == archive.size() - third.size());
  BOOST_TEST(info.members[2].blocks.at(0).raw_offset == a.size());
  // Ranges across member boundaries.
  BOOST_TEST((reader.read(a.size() - 10, 20) == slice(all, a.size() - 10, 20)));
  BOOST_TEST((reader.read(a.size() + b.size() - 1, 2) == slice(all, a.size() + b.size() - 1, 2)));
}

BOOST_AUTO_TEST_CASE(random_access_reads_across_windows_and_blocks) {
  DictWindowCodec codec;
  Bytes data = text_from_dictionary(70000, 21);
  Bytes bin = random_bytes(6000, 22);
  data.insert(data.begin() + 33333, bin.begin(), bin.end());
  WriterOptions o = small_options(8192, 700);
  Bytes archive = compress_buffer(data, codec, o);
  MemoryRandomAccessSource source(archive);
  RandomAccessReader reader(source, resolver_for(codec));
  std::mt19937_64 rng(23);
  for (int i = 0; i < 400; ++i) {
    uint64_t off = rng() % (data.size() + 100);
    uint64_t len = i % 4 == 0 ? 1 + rng() % 5 : rng() % 20000;
    BOOST_TEST_REQUIRE((reader.read(off, len) == slice(data, off, len)),
                       "read(" << off << ", " << len << ")");
  }
  // Exactly one window, a window boundary, a block boundary.
  BOOST_TEST((reader.read(700, 700) == slice(data, 700, 700)));
  BOOST_TEST((reader.read(699, 2) == slice(data, 699, 2)));
  BOOST_TEST((reader.read(8191, 2) == slice(data, 8191, 2)));
  BOOST_TEST((reader.read(data.size() - 1, 100) == slice(data, data.size() - 1, 100)));
}

// The real stand-in model through the in-process window codec.
BOOST_AUTO_TEST_CASE(order2_codec_round_trips) {
  Order2Codec o2;
  Bytes text = text_from_dictionary(60000, 24);
  Bytes mixed = text;
  Bytes bin = random_bytes(8000, 25);
  mixed.insert(mixed.begin() + 30000, bin.begin(), bin.end());
  WriterOptions o = small_options(16384, 2048);
  o.zstd_level = 1;
  for (const Bytes& data : {Bytes{}, Bytes{'a'}, text, mixed}) roundtrip(data, *o2.codec, o);
  roundtrip(text, *o2.codec, small_options(1000, 37));
}

}  // namespace
}  // namespace lmz

namespace lmz {
namespace {

Bytes log_lines(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes out;
  while (out.size() < size) {
    std::string line =
        "2026-12-02T01:" + std::to_string(10 + rng() % 50) + ":" + std::to_string(10 + rng() % 50) +
        " gw sshd[" + std::to_string(1000 + rng() % 9000) + "]: Accepted publickey for " +
        (rng() % 2 ? "root" : "deploy") + " from 10.0.0." + std::to_string(rng() % 256) + " port " +
        std::to_string(40000 + rng() % 20000) + " ssh2\n";
    out.insert(out.end(), line.begin(), line.end());
  }
  out.resize(size);
  return out;
}

}  // namespace

// With a log codec, log-like blocks are coded by it and the rest by the main
// codec; each member's header names the one codec of its neural blocks, so
// the archive has a member per run, and every reader decodes it.
BOOST_AUTO_TEST_CASE(log_blocks_go_to_the_log_codec_in_their_own_members) {
  DictWindowCodec prose_codec;
  auto order2 = make_order2_model();
  auto log_codec = make_local_window_codec(*order2, kMixStageV1);
  Bytes data = text_from_dictionary(128 << 10, 3);
  Bytes logs = log_lines(128 << 10, 4);
  data.insert(data.end(), logs.begin(), logs.end());
  Bytes more = text_from_dictionary(64 << 10, 5);
  data.insert(data.end(), more.begin(), more.end());

  WriterOptions o = small_options(64 << 10, 16 << 10);
  o.log_window_size = 64 << 10;
  MemorySink sink;
  ArchiveWriter writer(sink, prose_codec, o, log_codec.get());
  writer.write(data);
  writer.finish();
  BOOST_TEST(writer.stats().neural_blocks == 5u);
  BOOST_TEST(writer.stats().members == 3u);

  CodecResolver resolve = [&](const Hash128& hash, const std::string& name,
                              StageId stage) -> WindowCodec& {
    if (hash == log_codec->model().hash && stage == log_codec->stage()) return *log_codec;
    return resolver_for(prose_codec)(hash, name, stage);
  };
  check_decodes_with(sink.data, data, resolve);
  MemoryRandomAccessSource source(sink.data);
  RandomAccessReader reader(source, resolve);
  const auto& members = reader.info().members;
  BOOST_REQUIRE_EQUAL(members.size(), 3u);
  BOOST_TEST(members[0].model_name == prose_codec.model().name);
  BOOST_TEST(members[1].model_name == std::string(kOrder2ModelName));
  BOOST_TEST(members[1].raw_size == logs.size());
  BOOST_TEST(members[2].model_name == prose_codec.model().name);

  // The same codec as log codec, or none: one member, as before.
  for (WindowCodec* same :
       {static_cast<WindowCodec*>(&prose_codec), static_cast<WindowCodec*>(nullptr)}) {
    MemorySink one;
    ArchiveWriter w(one, prose_codec, o, same);
    w.write(data);
    w.finish();
    BOOST_TEST(w.stats().members == 1u);
  }
}

}  // namespace lmz
