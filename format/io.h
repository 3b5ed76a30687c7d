// Byte sinks and sources the container reads from and writes to. The CLI
// binds them to files and pipes; the daemon to socket streams; tests to memory.
#pragma once

#include <cstdint>

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

}  // namespace lmz
