#include "daemon/log.h"

#include <unistd.h>

#include <string>

namespace lmz::daemon {

void log_line(std::string_view text) {
  std::string line = "lmzd: ";
  line.append(text);
  line.push_back('\n');
  // One write(2) per line: atomic for lines below PIPE_BUF on pipes, and
  // journald's stream reads whole lines.
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) return;  // nowhere to log; never fail because of it
    done += static_cast<size_t>(n);
  }
}

}  // namespace lmz::daemon
