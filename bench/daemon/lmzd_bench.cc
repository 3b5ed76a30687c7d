// lmzd_bench: aggregate throughput of N concurrent clients against one lmzd.
//
//   lmzd_bench --socket PATH --input FILE --clients N [--block-size B] [--window-size W]
//              [--zstd-level L]
//
// The input (one large job) is cut into N equal slices; N clients, each on
// its own connection and thread, compress their slice at the same time;
// then they decompress their archives at the same time and the result is
// checked against the input. Then the same for the model path alone: the
// slices' windows through ENCODE_WINDOWS and DECODE_WINDOWS. Prints one
// tab-separated line:
//   clients input_bytes archive_bytes compress_s compress_MB/s decompress_s decompress_MB/s
//   coded_bytes encode_s encode_MB/s decode_s decode_MB/s windows_per_batch
// (MB = 10^6 bytes; rates are input bytes over wall time of all clients.)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "daemon/client.h"
#include "format/io.h"

namespace {

struct Args {
  std::string socket;
  std::string input;
  int clients = 1;
  uint32_t block_size = 0;
  uint32_t window_size = 0;
  int zstd_level = 0;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--socket") {
      a.socket = v;
    } else if (k == "--input") {
      a.input = v;
    } else if (k == "--clients") {
      a.clients = std::stoi(v);
    } else if (k == "--block-size") {
      a.block_size = static_cast<uint32_t>(std::stoul(v));
    } else if (k == "--zstd-level") {
      a.zstd_level = std::stoi(v);
    } else if (k == "--window-size") {
      a.window_size = static_cast<uint32_t>(std::stoul(v));
    } else {
      throw std::runtime_error("unknown option " + k);
    }
  }
  if (a.socket.empty() || a.input.empty() || a.clients < 1) {
    throw std::runtime_error(
        "usage: lmzd_bench --socket PATH --input FILE --clients N [--block-size B] "
        "[--window-size W] [--zstd-level L]");
  }
  return a;
}

// Runs fn(i) on `n` threads at once; returns the wall time in seconds.
template <typename Fn>
double run_parallel(int n, Fn fn) {
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::vector<std::string> errors(n);
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      try {
        fn(i);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < n; ++i) {
    if (!errors[i].empty())
      throw std::runtime_error("client " + std::to_string(i) + ": " + errors[i]);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Args args = parse(argc, argv);
    std::ifstream file(args.input, std::ios::binary);
    if (!file) throw std::runtime_error("cannot open " + args.input);
    lmz::Bytes input((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    const int n = args.clients;
    std::vector<lmz::Bytes> slices(n);
    for (int i = 0; i < n; ++i) {
      size_t begin = input.size() * i / n;
      size_t end = input.size() * (i + 1) / n;
      slices[i].assign(input.begin() + begin, input.begin() + end);
    }
    std::vector<lmz::DaemonClient> clients;
    for (int i = 0; i < n; ++i) {
      auto c = lmz::DaemonClient::connect(args.socket);
      if (!c) throw std::runtime_error("no lmzd at " + args.socket);
      clients.push_back(std::move(*c));
    }
    lmz::DaemonCompressOptions options;
    if (args.block_size != 0) options.writer.block_size = args.block_size;
    if (args.window_size != 0) options.writer.window_size = args.window_size;
    if (args.zstd_level != 0) options.writer.zstd_level = args.zstd_level;

    auto model_work = [&] {
      auto st = clients[0].status();
      return std::pair<double, double>(
          std::stod(st.at("windows_encoded")) + std::stod(st.at("windows_decoded")),
          std::stod(st.at("batches")));
    };
    const auto work_before = model_work();

    std::vector<lmz::Bytes> archives(n);
    double compress_s = run_parallel(n, [&](int i) {
      lmz::MemorySource in(slices[i]);
      lmz::MemorySink out;
      clients[i].compress(in, out, options);
      archives[i] = std::move(out.data);
    });
    double decompress_s = run_parallel(n, [&](int i) {
      lmz::MemorySource in(archives[i]);
      lmz::MemorySink out;
      clients[i].decompress(in, out);
      if (out.data != slices[i]) throw std::runtime_error("round trip differs");
    });
    // The model path alone: each client codes its slice as windows through
    // ENCODE_WINDOWS / DECODE_WINDOWS (DaemonWindowCodec), one block's worth
    // of windows per call, as ArchiveWriter and the readers do.
    const size_t window = options.writer.window_size;
    const size_t per_call = options.writer.block_size / window;
    std::vector<std::vector<lmz::Bytes>> coded(n);
    double encode_s = run_parallel(n, [&](int i) {
      lmz::DaemonWindowCodec codec(clients[i], clients[i].info().model, options.stage);
      std::vector<lmz::ByteView> windows;
      for (size_t off = 0; off < slices[i].size(); off += window) {
        windows.push_back(
            lmz::ByteView(slices[i]).subspan(off, std::min(window, slices[i].size() - off)));
      }
      for (size_t w = 0; w < windows.size(); w += per_call) {
        auto part = std::span(windows).subspan(w, std::min(per_call, windows.size() - w));
        for (auto& c : codec.encode(part)) coded[i].push_back(std::move(c));
      }
    });
    double decode_s = run_parallel(n, [&](int i) {
      lmz::DaemonWindowCodec codec(clients[i], clients[i].info().model, options.stage);
      lmz::Bytes out(slices[i].size());
      for (size_t w = 0; w < coded[i].size(); w += per_call) {
        std::vector<lmz::EncodedWindowView> in;
        std::vector<lmz::MutableByteView> outs;
        for (size_t k = w; k < std::min(coded[i].size(), w + per_call); ++k) {
          size_t off = k * window;
          size_t len = std::min(window, slices[i].size() - off);
          in.push_back({coded[i][k], len});
          outs.push_back(lmz::MutableByteView(out.data() + off, len));
        }
        codec.decode(in, outs);
      }
      if (out != slices[i]) throw std::runtime_error("window round trip differs");
    });
    size_t coded_bytes = 0;
    for (auto& c : coded) {
      for (auto& w : c) coded_bytes += w.size();
    }

    size_t archive_bytes = 0;
    for (auto& a : archives) archive_bytes += a.size();
    const auto work_after = model_work();
    const double batches = work_after.second - work_before.second;
    const double per_batch = batches > 0 ? (work_after.first - work_before.first) / batches : 0;
    std::printf("%d\t%zu\t%zu\t%.3f\t%.3f\t%.3f\t%.3f\t%zu\t%.3f\t%.3f\t%.3f\t%.3f\t%.1f\n", n,
                input.size(), archive_bytes, compress_s, input.size() / compress_s / 1e6,
                decompress_s, input.size() / decompress_s / 1e6, coded_bytes, encode_s,
                input.size() / encode_s / 1e6, decode_s, input.size() / decode_s / 1e6, per_batch);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lmzd_bench: %s\n", e.what());
    return 1;
  }
}
