// Streaming writer of .lmz archives (spec/FORMAT.md). Bytes go out as each
// block is finished, so the writer works into a pipe; finish() appends the
// index and the footer that make the archive seekable.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "format/io.h"
#include "libcodec/classifier.h"
#include "libcodec/types.h"

namespace lmz {

class WindowCodec;

struct WriterOptions {
  // Raw bytes per block (the unit of classification, checksums and
  // fallback), 1 .. 64 MiB. The writer also ends a block early where the
  // data changes between text and binary, so text keeps the neural codec.
  uint32_t block_size = 1u << 20;
  // Raw bytes per independent window in neural blocks of prose (and of log-
  // like text unless log_window_size is set). At most 65,536 windows may
  // make a block: block_size / window_size <= 65,536.
  uint32_t window_size = 16u << 10;
  // Window size for blocks the classifier finds log-like (TextKind::kLog);
  // 0 means window_size. Logs gain most from long windows: with the
  // context-mixing stage, 256 KiB windows make the held-out logs 0.57x and
  // 0.82x the size of xz -9e where 16 KiB windows give 1.08x and 1.47x
  // (bench/results/mixing-ablation.md); 1 MiB gains ~3% more for 4x the
  // memory per window and coarser random access.
  uint32_t log_window_size = 256u << 10;
  // zstd level (1 .. 22) for blocks that are not text, and for text blocks
  // that the neural codec does not make smaller than zstd does.
  int zstd_level = 19;
  // Threads that code a batch's blocks with zstd, beside the neural codec
  // (0: one per hardware thread). zstd -19 codes ~3 MB/s on one core, far
  // slower than a GPU's neural codec, so it runs on several. The archive
  // does not depend on it.
  size_t zstd_threads = 0;
  // When false, every block goes to zstd or is stored (no neural coding).
  bool allow_neural = true;
  // Raw bytes of whole blocks the writer gathers before coding them, so that
  // one WindowCodec::encode call gets the windows of many blocks (a GPU model
  // wants thousands of windows per batch: 16 MiB is 1,024 windows of 16 KiB).
  // Output lags input by at most this plus two blocks; memory is about twice
  // this. A value below block_size codes each block alone.
  uint64_t batch_bytes = uint64_t{16} << 20;
  // How the writer tells text from binary (libcodec/classifier.h).
  ClassifierOptions classifier;
  // When true, zstd and the log codec code a batch on threads of their own
  // beside the main codec; when false, one after another on the calling
  // thread, so that no more threads code at once than the codecs were given
  // (lmz -T N). The archive is the same either way.
  bool parallel_codecs = true;
};

// Totals so far, for progress reports and the CLI's summary line.
struct WriterStats {
  uint64_t raw_bytes = 0;      // input bytes taken by write()
  uint64_t archive_bytes = 0;  // bytes given to the sink
  uint64_t blocks = 0;         // blocks written
  uint64_t neural_blocks = 0;
  uint64_t zstd_blocks = 0;
  uint64_t stored_blocks = 0;
  uint64_t written_raw_bytes = 0;  // raw bytes of the blocks written so far
  uint64_t members = 0;            // members started (a new one every 2^20 blocks)
};

class ArchiveWriter {
 public:
  // `codec` codes the neural blocks; its model hash and stage go into the
  // archive header. `log_codec`, when given, codes the neural blocks the
  // classifier finds log-like instead (lmz gives the stand-in model there
  // when `codec` is a neural model: spec/MODEL.md, "Default model"); each
  // member's header names one codec, so the writer starts a new member
  // where the codec of neural blocks changes (spec/FORMAT.md). `sink` and
  // the codecs must outlive the writer. Throws UsageError for options out
  // of range. After any exception from write() or finish() the archive is
  // incomplete and the writer refuses more work.
  ArchiveWriter(ByteSink& sink, WindowCodec& codec, WriterOptions options,
                WindowCodec* log_codec = nullptr);
  ~ArchiveWriter();
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;

  // Appends input; full blocks are coded and written before this returns.
  void write(ByteView data);

  // Codes the last partial block, writes the index and footer. Call once;
  // an archive without finish() is truncated and readers will say so.
  void finish();

  const WriterStats& stats() const { return stats_; }

  // Called after each block is written (for progress on a terminal).
  void set_progress(std::function<void(const WriterStats&)> progress) {
    progress_ = std::move(progress);
  }

 private:
  struct State;
  std::unique_ptr<State> state_;
  WriterStats stats_;
  std::function<void(const WriterStats&)> progress_;
};

// Compresses a whole buffer into an archive (convenience for tests and the daemon).
Bytes compress_buffer(ByteView data, WindowCodec& codec, const WriterOptions& options);

}  // namespace lmz
