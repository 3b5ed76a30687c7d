// lmzd's settings: command-line options and the optional config file
// (key=value lines, the keys are the long option names without "--").
// Options given on the command line override the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lmz::daemon {

struct DaemonConfig {
  std::string socket_path = "/run/lmz/lmzd.sock";  // ignored under socket activation
  std::string model;                               // empty: the registry's default model
  std::string models_dir;                          // empty: $LMZ_MODELS_DIR or the install dir
  std::string device = "auto";                     // auto, cpu or cuda
  uint32_t max_frame = 4u << 20;                   // payload bytes per frame
  uint32_t max_requests = 16;                      // concurrent requests per connection
  uint32_t max_connections = 256;
  // Connections one user (peer uid) may hold; 0: max_connections minus a
  // quarter (at least 1), so that no user can take every connection.
  uint32_t max_connections_per_user = 0;
  uint32_t request_credit = 1u << 20;  // in-flight input bytes per streaming request
  uint32_t max_batch_windows = 4096;   // windows per ENCODE/DECODE_WINDOWS frame
  uint32_t idle_timeout_ms = 60000;    // close connections silent this long
  uint32_t shutdown_grace_ms = 10000;  // SIGTERM: how long in-flight requests may finish
  uint32_t workers = 32;               // request handler threads
  uint32_t batch_windows = 0;          // windows per model batch; 0: the model's preference
  uint32_t output_buffer = 8u << 20;   // queued output bytes per connection before handlers wait
  uint32_t socket_mode = 0660;         // permissions of a socket lmzd creates itself
};

struct ParsedArgs {
  DaemonConfig config;
  bool help = false;
  bool version = false;
};

// Parses argv (without argv[0] semantics: argv[0] is skipped). Reads the file
// named by --config. Throws UsageError naming the bad option, key, line or value.
ParsedArgs parse_args(const std::vector<std::string>& args);

// The connection limit of one user that `config` asks for (resolves 0).
uint32_t connections_per_user(const DaemonConfig& config);

// The text printed by --help.
std::string usage_text();

}  // namespace lmz::daemon
