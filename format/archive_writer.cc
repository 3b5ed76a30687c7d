#include "format/archive_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <span>
#include <thread>
#include <vector>

#include "format/layout.h"
#include "libcodec/errors.h"
#include "libcodec/hash.h"
#include "libcodec/window_codec.h"
#include "libcodec/zstd_codec.h"

namespace lmz {

using format::Codec;
using format::Content;
using format::FrameHeader;

struct ArchiveWriter::State {
  State(ByteSink& s, WindowCodec& c, WindowCodec* l, WriterOptions o)
      : sink(s), codec(c), log_codec(l != &c ? l : nullptr), options(o) {}

  void put(ByteView bytes, WriterStats& stats);
  // Makes the open member one whose header names `c`, closing the open
  // member first if it names another codec.
  void use_member(WriterStats& stats, WindowCodec& c);
  void close_member(WriterStats& stats);
  // The codec that codes the windows of a block of `content`.
  WindowCodec& codec_for(Content content) {
    return content == Content::kLog && log_codec != nullptr ? *log_codec : codec;
  }
  // Queues a block; codes the queue when it holds batch_bytes.
  void queue_block(WriterStats& stats, ByteView raw, bool text,
                   const std::function<void(const WriterStats&)>& progress);
  // Codes every queued block (the windows of all of them in one call to the
  // codec) and writes their frames in order.
  void code_queue(WriterStats& stats, const std::function<void(const WriterStats&)>& progress);
  // Writes one block's frame, choosing among the candidate codings.
  void write_block(WriterStats& stats, ByteView raw, Content content, uint32_t window_size,
                   std::span<const ByteView> windows, std::span<Bytes> coded,
                   const Bytes& zstd_payload);
  // Codes the buffered bytes as blocks, one per text or binary run. Unless
  // `final`, the last run stays buffered: it may go on in the next input.
  void flush_runs(WriterStats& stats, bool final,
                  const std::function<void(const WriterStats&)>& progress);

  ByteSink& sink;
  WindowCodec& codec;
  WindowCodec* log_codec;  // codes log-like blocks; null: `codec` does
  WriterOptions options;
  bool main_codec_needed = false;  // a block for `codec` has been queued
  Bytes buffer;                    // raw bytes not yet in a block (at most block_size)
  bool finished = false;
  bool broken = false;

  // The member being written, and the codec its header names.
  bool member_open = false;
  WindowCodec* member_codec = nullptr;
  uint64_t member_bytes = 0;  // bytes of the member written so far
  uint64_t member_raw = 0;
  std::vector<format::IndexEntry> index;

  // Blocks cut but not yet coded.
  struct QueuedBlock {
    Bytes raw;
    bool text = false;
    Content content = Content::kBinary;  // what the classifier saw
  };
  std::vector<QueuedBlock> queue;
  uint64_t queued_bytes = 0;
};

namespace {

void check_window_size(uint32_t window_size, uint32_t block_size, const char* name) {
  if (window_size == 0) throw UsageError(fmt::format("{} must be at least 1", name));
  uint64_t windows = (uint64_t{block_size} + window_size - 1) / window_size;
  if (windows > format::kMaxWindowsPerBlock) {
    throw UsageError(
        fmt::format("{} {} is too small for block size {} (at most {} windows a block)", name,
                    window_size, block_size, format::kMaxWindowsPerBlock));
  }
}

// Whether a neural frame could be smaller than the stored one: its header
// and window table alone must be. When they are not (a text of a few bytes),
// write_block could never choose it, so the windows are not coded at all and
// the model (and the engine behind it) is never loaded for them. Exact: the
// archive is the one coding them would give.
bool neural_can_win(size_t raw_size, uint32_t window_size) {
  const size_t windows = (raw_size + window_size - 1) / window_size;
  return FrameHeader::frame_header_size(Codec::kNeural, windows) <
         FrameHeader::frame_header_size(Codec::kStored, 0) + raw_size;
}

}  // namespace

ArchiveWriter::ArchiveWriter(ByteSink& sink, WindowCodec& codec, WriterOptions options,
                             WindowCodec* log_codec) {
  if (options.block_size == 0 || options.block_size > format::kMaxBlockSize) {
    throw UsageError(fmt::format("block size {} out of range (1 .. {})", options.block_size,
                                 format::kMaxBlockSize));
  }
  if (options.log_window_size == 0) options.log_window_size = options.window_size;
  check_window_size(options.window_size, options.block_size, "window size");
  check_window_size(options.log_window_size, options.block_size, "log window size");
  // A window never exceeds its block (spec/FORMAT.md, "Limits").
  options.window_size = std::min(options.window_size, options.block_size);
  options.log_window_size = std::min(options.log_window_size, options.block_size);
  if (options.zstd_level < 1 || options.zstd_level > zstd::max_level()) {
    throw UsageError(
        fmt::format("zstd level {} out of range (1 .. {})", options.zstd_level, zstd::max_level()));
  }
  if (codec.model().name.size() > format::kMaxModelNameLength) {
    throw UsageError(fmt::format("model name '{}' is longer than {} bytes", codec.model().name,
                                 format::kMaxModelNameLength));
  }
  if (log_codec != nullptr && log_codec->model().name.size() > format::kMaxModelNameLength) {
    throw UsageError(fmt::format("model name '{}' is longer than {} bytes", log_codec->model().name,
                                 format::kMaxModelNameLength));
  }
  state_ = std::make_unique<State>(sink, codec, log_codec, options);
  state_->buffer.reserve(options.block_size);
}

ArchiveWriter::~ArchiveWriter() = default;

// Writes bytes of the current member and counts them.
void ArchiveWriter::State::put(ByteView bytes, WriterStats& stats) {
  sink.write(bytes);
  member_bytes += bytes.size();
  stats.archive_bytes += bytes.size();
}

void ArchiveWriter::State::use_member(WriterStats& stats, WindowCodec& c) {
  if (member_open && member_codec == &c) return;
  if (member_open) close_member(stats);
  format::Header h;
  h.stage = c.stage();
  h.model_hash = c.model().hash;
  h.model_name = c.model().name;
  h.block_size = options.block_size;
  member_open = true;
  member_codec = &c;
  member_bytes = 0;
  member_raw = 0;
  index.clear();
  ++stats.members;
  put(format::encode_header(h), stats);
}

void ArchiveWriter::State::close_member(WriterStats& stats) {
  uint64_t index_offset = member_bytes + format::kEndMarkerSize;
  Bytes index_bytes = format::encode_index(index, member_raw);
  format::Footer footer;
  footer.member_size = index_offset + index_bytes.size() + format::kFooterSize;
  footer.raw_size = member_raw;
  footer.index_offset = index_offset;
  footer.block_count = static_cast<uint32_t>(index.size());
  put(format::encode_end_marker(footer.block_count), stats);
  put(index_bytes, stats);
  put(format::encode_footer(footer), stats);
  member_open = false;
}

void ArchiveWriter::State::queue_block(WriterStats& stats, ByteView raw, bool text,
                                       const std::function<void(const WriterStats&)>& progress) {
  Content content = Content::kBinary;
  if (text) content = classify_text(raw) == TextKind::kLog ? Content::kLog : Content::kProse;
  queue.push_back(QueuedBlock{Bytes(raw.begin(), raw.end()), text, content});
  queued_bytes += raw.size();
  // The main codec's preferred batch (a GPU's resident codec wants
  // thousands of windows per call), asked once a block needs that codec:
  // asking earlier could load a model that input without such blocks never
  // needs.
  // A block too small for a neural frame to win never needs it either.
  const uint32_t ws = content == Content::kLog ? options.log_window_size : options.window_size;
  if (text && options.allow_neural && &codec_for(content) == &codec &&
      neural_can_win(raw.size(), ws)) {
    main_codec_needed = true;
  }
  const uint64_t preferred = main_codec_needed ? codec.preferred_batch_bytes() : 0;
  if (queued_bytes >= std::max(options.batch_bytes, preferred)) {
    code_queue(stats, progress);
  }
}

void ArchiveWriter::State::code_queue(WriterStats& stats,
                                      const std::function<void(const WriterStats&)>& progress) {
  size_t n = queue.size();
  if (n == 0) return;
  std::vector<Content> content(n, Content::kBinary);
  std::vector<uint32_t> window_size(n, 0);
  std::vector<ByteView> windows;
  std::vector<size_t> first_window(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    ByteView raw = queue[i].raw;
    first_window[i] = windows.size();
    content[i] = queue[i].content;
    const uint32_t ws = content[i] == Content::kLog ? options.log_window_size : options.window_size;
    if (queue[i].text && options.allow_neural && neural_can_win(raw.size(), ws)) {
      window_size[i] = ws;
      for (size_t off = 0; off < raw.size(); off += window_size[i]) {
        windows.push_back(raw.subspan(off, std::min<size_t>(window_size[i], raw.size() - off)));
      }
    }
  }
  first_window[n] = windows.size();

  // zstd codes every block beside the neural codec, on several threads
  // (each takes every threads-th block); without parallel_codecs, on the
  // calling thread once the codecs are done.
  const size_t zstd_threads =
      options.parallel_codecs
          ? std::clamp<size_t>(options.zstd_threads != 0 ? options.zstd_threads
                                                         : std::thread::hardware_concurrency(),
                               1, n)
          : 1;
  const auto launch = options.parallel_codecs ? std::launch::async : std::launch::deferred;
  std::vector<Bytes> zstd_payloads(n);
  std::vector<std::future<void>> zstd_tasks;
  for (size_t t = 0; t < zstd_threads; ++t) {
    zstd_tasks.push_back(std::async(launch, [this, t, n, zstd_threads, &zstd_payloads] {
      for (size_t i = t; i < n; i += zstd_threads) {
        zstd_payloads[i] = zstd::compress(queue[i].raw, options.zstd_level);
      }
    }));
  }
  // Log-like blocks' windows go to the log codec (on the CPU, while the
  // main codec may be busy on a GPU); results return to window order.
  std::vector<bool> is_log_window(windows.size(), false);
  for (size_t i = 0; i < n; ++i) {
    if (&codec_for(content[i]) != &codec) {
      std::fill(is_log_window.begin() + static_cast<ptrdiff_t>(first_window[i]),
                is_log_window.begin() + static_cast<ptrdiff_t>(first_window[i + 1]), true);
    }
  }
  std::vector<ByteView> main_windows, log_windows;
  for (size_t w = 0; w < windows.size(); ++w) {
    (is_log_window[w] ? log_windows : main_windows).push_back(windows[w]);
  }
  std::future<std::vector<Bytes>> log_future;
  if (!log_windows.empty()) {
    log_future = std::async(launch, [&] { return log_codec->encode(log_windows); });
  }
  std::vector<Bytes> main_coded;
  if (!main_windows.empty()) main_coded = codec.encode(main_windows);
  std::vector<Bytes> log_coded;
  if (log_future.valid()) log_coded = log_future.get();
  for (auto& task : zstd_tasks) task.get();
  if (main_coded.size() != main_windows.size() || log_coded.size() != log_windows.size()) {
    throw std::logic_error("WindowCodec::encode: wrong count");
  }
  std::vector<Bytes> coded(windows.size());
  for (size_t w = 0, m = 0, l = 0; w < windows.size(); ++w) {
    coded[w] = std::move(is_log_window[w] ? log_coded[l++] : main_coded[m++]);
  }

  for (size_t i = 0; i < n; ++i) {
    size_t w0 = first_window[i];
    size_t wn = first_window[i + 1] - w0;
    write_block(stats, queue[i].raw, content[i], window_size[i],
                std::span<const ByteView>(windows).subspan(w0, wn),
                std::span<Bytes>(coded).subspan(w0, wn), zstd_payloads[i]);
    if (progress) progress(stats);
  }
  queue.clear();
  queued_bytes = 0;
}

void ArchiveWriter::State::write_block(WriterStats& stats, ByteView raw, Content content,
                                       uint32_t window_size, std::span<const ByteView> windows,
                                       std::span<Bytes> coded, const Bytes& zstd_payload) {
  FrameHeader f;
  f.raw_size = static_cast<uint32_t>(raw.size());
  f.raw_check = xxh3_64(raw);
  f.content = content;

  // Candidates: neural (text only), zstd, stored; the smallest frame wins,
  // and the neural codec must beat zstd strictly.
  uint64_t stored_frame = FrameHeader::frame_header_size(Codec::kStored, 0) + raw.size();
  uint64_t zstd_frame = FrameHeader::frame_header_size(Codec::kZstd, 0) + zstd_payload.size();
  uint64_t neural_frame = UINT64_MAX;
  if (!windows.empty()) {
    neural_frame = FrameHeader::frame_header_size(Codec::kNeural, windows.size());
    for (const Bytes& c : coded) neural_frame += c.size();
  }

  Bytes neural_payload;
  ByteView payload;
  if (neural_frame < zstd_frame && neural_frame < stored_frame) {
    f.codec = Codec::kNeural;
    f.window_size = window_size;
    for (size_t i = 0; i < windows.size(); ++i) {
      f.windows.push_back(format::WindowEntry{static_cast<uint32_t>(windows[i].size()),
                                              static_cast<uint32_t>(coded[i].size()),
                                              format::xxh3_32(windows[i])});
      neural_payload.insert(neural_payload.end(), coded[i].begin(), coded[i].end());
    }
    payload = neural_payload;
    ++stats.neural_blocks;
  } else if (zstd_frame < stored_frame) {
    f.codec = Codec::kZstd;
    payload = zstd_payload;
    ++stats.zstd_blocks;
  } else {
    f.codec = Codec::kStored;
    payload = raw;
    ++stats.stored_blocks;
  }
  f.payload_size = static_cast<uint32_t>(payload.size());
  f.payload_check = xxh3_64(payload);

  // A neural block needs a member whose header names its codec; a zstd or
  // stored block fits in whichever member is open.
  if (f.codec == Codec::kNeural) {
    use_member(stats, codec_for(content));
  } else if (!member_open) {
    use_member(stats, codec);
  }
  if (index.size() == format::kMaxBlocksPerMember) {
    WindowCodec& same = *member_codec;
    close_member(stats);
    use_member(stats, same);
  }

  index.push_back(format::index_entry_for(f, member_raw, member_bytes));
  put(format::encode_frame_header(f), stats);
  put(payload, stats);
  member_raw += raw.size();
  stats.written_raw_bytes += raw.size();
  ++stats.blocks;
}

void ArchiveWriter::State::flush_runs(WriterStats& stats, bool final,
                                      const std::function<void(const WriterStats&)>& progress) {
  ByteView data = buffer;
  std::vector<ContentRun> runs;
  if (data.empty()) {
    // Nothing buffered.
  } else if (options.allow_neural) {
    runs = split_into_runs(data, options.classifier);
  } else {
    runs.push_back(ContentRun{0, data.size(), looks_like_text(data)});
  }
  size_t emit = runs.size();
  if (!final && runs.size() > 1) --emit;
  size_t consumed = 0;
  for (size_t i = 0; i < emit; ++i) {
    queue_block(stats, data.subspan(runs[i].offset, runs[i].size), runs[i].text, progress);
    consumed = runs[i].offset + runs[i].size;
  }
  buffer.erase(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(consumed));
  if (final) code_queue(stats, progress);
}

void ArchiveWriter::write(ByteView data) {
  State& st = *state_;
  if (st.finished || st.broken) {
    throw UsageError("ArchiveWriter::write after finish() or after an error");
  }
  try {
    while (!data.empty()) {
      size_t take = std::min(data.size(), st.options.block_size - st.buffer.size());
      st.buffer.insert(st.buffer.end(), data.begin(), data.begin() + static_cast<ptrdiff_t>(take));
      data = data.subspan(take);
      stats_.raw_bytes += take;
      if (st.buffer.size() == st.options.block_size) st.flush_runs(stats_, false, progress_);
    }
  } catch (...) {
    st.broken = true;
    throw;
  }
}

void ArchiveWriter::finish() {
  State& st = *state_;
  if (st.finished || st.broken) {
    throw UsageError("ArchiveWriter::finish called twice or after an error");
  }
  try {
    st.flush_runs(stats_, true, progress_);
    if (!st.member_open) st.use_member(stats_, st.codec);  // an empty input
    st.close_member(stats_);
    st.finished = true;
  } catch (...) {
    st.broken = true;
    throw;
  }
}

Bytes compress_buffer(ByteView data, WindowCodec& codec, const WriterOptions& options) {
  MemorySink sink;
  ArchiveWriter writer(sink, codec, options);
  writer.write(data);
  writer.finish();
  return std::move(sink.data);
}

}  // namespace lmz
