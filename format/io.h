// Byte sinks and sources the container reads from and writes to. The CLI
// binds them to files and pipes; the daemon to socket streams; tests to memory.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "libcodec/types.h"

namespace lmz {

// Where output bytes go. write() either takes every byte or throws IoError.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(ByteView bytes) = 0;
};

// A front-to-back stream of input bytes.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to out.size() bytes; returns how many, 0 only at end of input.
  // Throws IoError on failure.
  virtual size_t read(MutableByteView out) = 0;
};

// Input with random access (a regular file, or memory).
class RandomAccessSource {
 public:
  virtual ~RandomAccessSource() = default;
  virtual uint64_t size() const = 0;
  // Fills `out` with the bytes at [offset, offset + out.size()); throws
  // CorruptInput if that range is past the end, IoError on failure.
  virtual void read_at(uint64_t offset, MutableByteView out) const = 0;
};

// In-memory implementations, for tests and for the daemon.
class MemorySink final : public ByteSink {
 public:
  void write(ByteView bytes) override { data.insert(data.end(), bytes.begin(), bytes.end()); }
  Bytes data;
};

// Reads a byte buffer front to back. The buffer must outlive the source.
class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(ByteView data) : data_(data) {}
  size_t read(MutableByteView out) override {
    size_t n = std::min(out.size(), data_.size() - pos_);
    if (n > 0) std::memcpy(out.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  ByteView data_;
  size_t pos_ = 0;
};

// Random access into a byte buffer. The buffer must outlive the source.
class MemoryRandomAccessSource final : public RandomAccessSource {
 public:
  explicit MemoryRandomAccessSource(ByteView data) : data_(data) {}
  uint64_t size() const override { return data_.size(); }
  // Defined in format/io.cc (throws CorruptInput past the end).
  void read_at(uint64_t offset, MutableByteView out) const override;

 private:
  ByteView data_;
};

}  // namespace lmz
