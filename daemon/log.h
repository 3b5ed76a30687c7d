// lmzd's log: one line per event on stderr, where journald collects it.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace lmz::daemon {

// Writes "lmzd: <text>\n" to stderr in one call, so lines from several
// threads never interleave.
void log_line(std::string_view text);

template <typename... Args>
void log(fmt::format_string<Args...> format, Args&&... args) {
  log_line(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace lmz::daemon
