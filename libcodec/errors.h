// Exceptions thrown by the lmz library. Each carries a message a user can
// act on; the CLI maps each type to a documented exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace lmz {

// Base of every lmz error.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The input archive (or a coded window, a frame, a model file) is malformed,
// truncated, or fails a checksum. The message names what and where
// (block index, byte offset, window index).
class CorruptInput : public Error {
 public:
  using Error::Error;
};

// The archive needs a model that is not available, or a different one was
// supplied. The message names both hashes and, where known, both names.
class ModelMismatch : public Error {
 public:
  using Error::Error;
};

// An operating-system level failure: open, read, write, rename, socket.
class IoError : public Error {
 public:
  using Error::Error;
};

// The caller asked for something impossible (bad option value, a range past
// the end of the data, an unsupported feature).
class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace lmz
