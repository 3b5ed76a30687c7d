// The exit statuses of `lmz`, documented in --help and README.md. Scripts
// depend on them: never renumber, only add.
#pragma once

namespace lmz::cli {

inline constexpr int kExitOk = 0;
// Bad options, a file name lmz cannot derive an output name from, refusing
// to overwrite without -f, refusing to write compressed data to a terminal.
inline constexpr int kExitUsage = 1;
// The input is not a valid archive: wrong magic, truncated, a checksum or a
// coded window that does not match.
inline constexpr int kExitCorrupt = 2;
// The archive needs a model that is not installed (or is a different one).
inline constexpr int kExitModelMismatch = 3;
// The operating system refused: open, read, write, fsync, rename.
inline constexpr int kExitIo = 4;
// A bug in lmz or an exhausted resource (out of memory).
inline constexpr int kExitInternal = 5;

}  // namespace lmz::cli
