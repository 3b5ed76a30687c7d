#include "daemon/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>

#include "libcodec/errors.h"

namespace lmz::daemon {
namespace {

uint32_t parse_u32(const std::string& key, const std::string& value, uint32_t min, uint32_t max,
                   int base = 10) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v, base);
  if (ec != std::errc() || end != value.data() + value.size() || value.empty() || v < min ||
      v > max) {
    throw UsageError(fmt::format("bad value '{}' for {}: expected an integer from {} to {}", value,
                                 key, min, max));
  }
  return v;
}

// Sets one setting; `where` names the source for messages.
void apply(DaemonConfig& c, const std::string& key, const std::string& value,
           const std::string& where) {
  try {
    if (key == "socket") {
      if (value.empty()) throw UsageError("socket path is empty");
      c.socket_path = value;
    } else if (key == "model") {
      c.model = value;
    } else if (key == "models-dir") {
      c.models_dir = value;
    } else if (key == "device") {
      if (value != "auto" && value != "cpu" && value != "cuda") {
        throw UsageError(fmt::format("unknown device '{}': expected auto, cpu or cuda", value));
      }
      c.device = value;
    } else if (key == "max-frame") {
      c.max_frame = parse_u32(key, value, 64u << 10, 64u << 20);
    } else if (key == "max-requests") {
      c.max_requests = parse_u32(key, value, 1, 1024);
    } else if (key == "max-connections") {
      c.max_connections = parse_u32(key, value, 1, 65536);
    } else if (key == "max-connections-per-user") {
      c.max_connections_per_user = parse_u32(key, value, 0, 65536);
    } else if (key == "request-credit") {
      c.request_credit = parse_u32(key, value, 4096, 1u << 30);
    } else if (key == "max-batch-windows") {
      c.max_batch_windows = parse_u32(key, value, 1, 1u << 20);
    } else if (key == "idle-timeout-ms") {
      c.idle_timeout_ms = parse_u32(key, value, 100, 86400000);
    } else if (key == "shutdown-grace-ms") {
      c.shutdown_grace_ms = parse_u32(key, value, 0, 3600000);
    } else if (key == "workers") {
      c.workers = parse_u32(key, value, 1, 4096);
    } else if (key == "batch-windows") {
      c.batch_windows = parse_u32(key, value, 0, 1u << 20);
    } else if (key == "output-buffer") {
      c.output_buffer = parse_u32(key, value, 64u << 10, 1u << 30);
    } else if (key == "socket-mode") {
      c.socket_mode = parse_u32(key, value, 0, 0777, 8);
    } else {
      throw UsageError(fmt::format("unknown setting '{}'", key));
    }
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("{}: {}", where, e.what()));
  }
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

void read_config_file(DaemonConfig& c, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("cannot open config file {}", path));
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string text = trim(line);
    if (text.empty() || text[0] == '#') continue;
    size_t eq = text.find('=');
    std::string where = fmt::format("{}:{}", path, number);
    if (eq == std::string::npos) {
      throw UsageError(fmt::format("{}: expected key=value, got '{}'", where, text));
    }
    std::string key = trim(text.substr(0, eq));
    if (key == "config") throw UsageError(fmt::format("{}: config files cannot nest", where));
    apply(c, key, trim(text.substr(eq + 1)), where);
  }
  if (in.bad()) throw UsageError(fmt::format("cannot read config file {}", path));
}

}  // namespace

ParsedArgs parse_args(const std::vector<std::string>& args) {
  ParsedArgs parsed;
  std::vector<std::pair<std::string, std::string>> options;
  std::string config_file;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      parsed.help = true;
      continue;
    }
    if (arg == "--version" || arg == "-V") {
      parsed.version = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) throw UsageError(fmt::format("unexpected argument '{}'", arg));
    std::string key = arg.substr(2);
    std::string value;
    if (size_t eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else {
      if (i + 1 >= args.size()) throw UsageError(fmt::format("option {} needs a value", arg));
      value = args[++i];
    }
    if (key == "config") {
      config_file = value;
    } else {
      options.emplace_back(key, value);
    }
  }
  if (!config_file.empty()) read_config_file(parsed.config, config_file);
  for (const auto& [key, value] : options) {
    apply(parsed.config, key, value, fmt::format("option --{}", key));
  }
  return parsed;
}

uint32_t connections_per_user(const DaemonConfig& config) {
  if (config.max_connections_per_user != 0) return config.max_connections_per_user;
  return std::max<uint32_t>(1, config.max_connections - config.max_connections / 4);
}

std::string usage_text() {
  return R"(Usage: lmzd [OPTIONS]
The lmz daemon: keeps a compression model warm and serves lmz clients over a
Unix socket (protocol: spec/PROTOCOL.md).

  --socket PATH            listen here (default /run/lmz/lmzd.sock); ignored when
                           systemd passes a socket (socket activation)
  --model NAME|FILE        model for compression (default: the default model rule)
  --models-dir DIR         where model files are found (default $LMZ_MODELS_DIR or
                           the installed models directory)
  --device auto|cpu|cuda   where the model runs (default auto)
  --config FILE            read key=value settings (keys: the long options below
                           without "--"); command-line options win
  --max-frame BYTES        largest frame payload (default 4194304)
  --max-requests N         concurrent requests per connection (default 16)
  --max-connections N      (default 256)
  --max-connections-per-user N
                           connections one user (peer uid) may hold (default 0:
                           max-connections minus a quarter)
  --request-credit BYTES   in-flight input per streaming request (default 1048576)
  --max-batch-windows N    windows per encode/decode-windows frame (default 4096)
  --idle-timeout-ms MS     close silent connections (default 60000)
  --shutdown-grace-ms MS   on SIGTERM, time for requests to finish (default 10000)
  --workers N              request handler threads (default 32)
  --batch-windows N        windows per model batch (default: the model's choice)
  --output-buffer BYTES    queued output per connection (default 8388608)
  --socket-mode OCTAL      permissions of a socket lmzd creates (default 0660)
  --help, --version
)";
}

}  // namespace lmz::daemon
