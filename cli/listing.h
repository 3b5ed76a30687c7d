// What `lmz -l` / `lmz info` prints about an archive: a readable summary,
// or JSON for scripts (doc/info-json.md), and the escaping of text that
// comes from an archive or a file name before it reaches a terminal.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "format/archive_reader.h"

namespace lmz::cli {

// The version of the JSON shape below (doc/info-json.md). Bump it when a
// key is removed or changes meaning; adding keys keeps it.
inline constexpr int kInfoJsonSchema = 1;

// A summary of the archive `name`: sizes, ratio, members, codecs and model.
// verbosity >= 2 (-v) adds what each member holds (content kinds, windows),
// verbosity >= 3 (-vv) one line per block. Names from the archive and the
// file name are escaped (escape_for_terminal).
std::string info_text(const std::string& name, const ArchiveInfo& info, int verbosity);

// The same as one JSON object on one line (doc/info-json.md):
// {"schema": 1, "file": NAME, "archive_size": N, "raw_size": N, "ratio": X,
//  "bits_per_byte": X, "blocks": N, "codecs": {"neural": N, "zstd": N,
//  "stored": N}, "members": [{"archive_offset", "archive_size", "raw_offset",
//  "raw_size", "format_version", "model": {"name", "hash"}, "stage",
//  "codecs": {...}, "blocks": [{"raw_offset", "archive_offset", "raw_size",
//  "frame_size", "codec", "content", "windows", "window_size"}]}]}
// "ratio" is raw_size / archive_size and "bits_per_byte" is
// 8 * archive_size / raw_size; both are null when the divisor is 0.
std::string info_json(const std::string& name, const ArchiveInfo& info);

// `text` as a JSON string literal, quotes included: control characters are
// \u-escaped, and bytes that are not valid UTF-8 become U+FFFD.
std::string json_string(std::string_view text);

// `text` with everything a terminal could act on made visible: C0 controls
// (ESC, CR, BS, ...), DEL, the C1 controls (U+0080..U+009F) and bytes that
// are not valid UTF-8 are written as \xNN (a backslash as \\). Printable
// UTF-8 passes unchanged.
std::string escape_for_terminal(std::string_view text);

// "1 block", "2 blocks".
std::string plural(uint64_t n, std::string_view one, std::string_view many);

}  // namespace lmz::cli
