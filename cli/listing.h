// What `lmz -l` / `lmz info` prints about an archive: a readable summary,
// or JSON for scripts.
#pragma once

#include <string>

#include "format/archive_reader.h"

namespace lmz::cli {

// A summary of the archive `name`: sizes, ratio, members, codecs and model.
// verbosity >= 2 adds one line per block.
std::string info_text(const std::string& name, const ArchiveInfo& info, int verbosity);

// The same as one JSON object:
// {"file": NAME, "archive_size": N, "raw_size": N, "ratio": X, "bits_per_byte": X,
//  "blocks": N, "codecs": {"neural": N, "zstd": N, "stored": N},
//  "members": [{"archive_offset", "archive_size", "raw_offset", "raw_size",
//               "format_version", "model": {"name", "hash"}, "stage",
//               "codecs": {...}, "blocks": [{"raw_offset", "archive_offset",
//               "raw_size", "frame_size", "codec", "windows", "window_size"}]}]}
// "ratio" is raw_size / archive_size and "bits_per_byte" is
// 8 * archive_size / raw_size; both are null when the divisor is 0.
std::string info_json(const std::string& name, const ArchiveInfo& info);

// `text` as a JSON string literal, quotes included.
std::string json_string(const std::string& text);

}  // namespace lmz::cli
