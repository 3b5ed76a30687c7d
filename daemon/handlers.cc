#include "daemon/handlers.h"

#include <fmt/format.h>

#include <exception>

#include "daemon/scheduler.h"
#include "format/archive_reader.h"
#include "format/archive_writer.h"
#include "libcodec/model_registry.h"
#include "libcodec/order2_model.h"
#include "libcodec/predictor.h"
#include "libcodec/window_codec.h"

namespace lmz::daemon {
namespace {

using proto::ErrorCode;
using proto::FrameType;

// Input chunk the compress handler reads at a time.
constexpr size_t kReadChunk = 256u << 10;

// Runs `body`; on failure ends the request with the ERROR that matches the
// exception (or the abort reason, when the request was stopped from outside).
template <typename Body>
void run_guarded(Request& request, Body&& body) {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  try {
    body();
    return;
  } catch (const proto::ProtocolError& e) {
    code = ErrorCode::kBadRequest;
    message = e.what();
  } catch (const CorruptInput& e) {
    code = ErrorCode::kCorruptInput;
    message = e.what();
  } catch (const ModelMismatch& e) {
    code = ErrorCode::kModelMismatch;
    message = e.what();
  } catch (const UsageError& e) {
    code = ErrorCode::kUsage;
    message = e.what();
  } catch (const std::exception& e) {
    code = ErrorCode::kInternal;
    message = e.what();
  }
  if (auto reason = request.abort_reason()) {
    code = reason->first;
    message = reason->second;
  }
  request.finish_error(code, message);
}

}  // namespace

WindowCodec& ModelService::codec(const Hash128& hash, StageId stage) {
  Predictor& model =
      hash == Hash128{} ? default_model : registry.by_hash(hash, proto::hash_hex(hash));
  return scheduler.codec(registry.codec(model, stage));
}

WindowCodec* ModelService::log_codec(const WindowCodec& main, StageId stage) {
  if (main.model().name == kOrder2ModelName) return nullptr;
  return &registry.codec(registry.by_name_or_path(kOrder2ModelName), stage);
}

void handle_compress(Request& request, const proto::CompressParams& params, ModelService& models) {
  run_guarded(request, [&] {
    // ArchiveWriter checks its options; the daemon adds bounds on what one
    // request may make it hold in memory.
    const WriterOptions& options = params.writer;
    if (options.block_size > (64u << 20)) {
      throw UsageError(
          fmt::format("block size {} is above the daemon's limit of 64 MiB", options.block_size));
    }
    if (options.classifier.chunk_size == 0 || options.classifier.chunk_size > (1u << 20)) {
      throw UsageError(fmt::format("classifier chunk size {} is outside 1 .. 1 MiB",
                                   options.classifier.chunk_size));
    }
    WindowCodec& codec = models.codec(params.model, params.stage);

    ArchiveWriter writer(request, codec, options, models.log_codec(codec, params.stage));
    Bytes buffer(kReadChunk);
    for (;;) {
      size_t n = request.read(buffer);
      if (n == 0) break;
      writer.write(ByteView(buffer.data(), n));
    }
    writer.finish();
    request.finish(FrameType::kEnd,
                   proto::encode_end({request.input_bytes(), request.output_bytes()}));
  });
}

void handle_decompress(Request& request, ModelService& models) {
  run_guarded(request, [&] {
    CodecResolver resolve = [&models](const Hash128& hash, const std::string& name,
                                      StageId stage) -> WindowCodec& {
      Predictor& model = models.registry.by_hash(hash, name);
      return models.scheduler.codec(models.registry.codec(model, stage));
    };
    decompress_stream(request, request, resolve);
    request.finish(FrameType::kEnd,
                   proto::encode_end({request.input_bytes(), request.output_bytes()}));
  });
}

void handle_decode_windows(Request& request, ByteView payload, const WindowLimits& limits,
                           ModelService& models) {
  run_guarded(request, [&] {
    proto::WindowsRequest req = proto::decode_decode_windows(payload, limits.max_windows);
    uint64_t raw_total = 0;
    for (uint32_t s : req.raw_sizes) raw_total += s;
    if (raw_total > limits.max_result) {
      throw UsageError(
          fmt::format("DECODE_WINDOWS asks for {} raw bytes; one request may ask for at most {}",
                      raw_total, limits.max_result));
    }
    WindowCodec& codec = models.codec(req.model, req.stage);
    Bytes raw(raw_total);
    std::vector<EncodedWindowView> in(req.raw_sizes.size());
    std::vector<MutableByteView> out(req.raw_sizes.size());
    size_t coded_at = 0;
    size_t raw_at = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      in[i].coded = req.data.subspan(coded_at, req.coded_sizes[i]);
      in[i].raw_size = req.raw_sizes[i];
      out[i] = MutableByteView(raw.data() + raw_at, req.raw_sizes[i]);
      coded_at += req.coded_sizes[i];
      raw_at += req.raw_sizes[i];
    }
    codec.decode(in, out);
    request.finish(FrameType::kResult, raw);
  });
}

void handle_encode_windows(Request& request, ByteView payload, const WindowLimits& limits,
                           ModelService& models) {
  run_guarded(request, [&] {
    proto::WindowsRequest req = proto::decode_encode_windows(payload, limits.max_windows);
    if (req.data.size() > limits.max_result / 2) {
      throw UsageError(
          fmt::format("ENCODE_WINDOWS carries {} raw bytes; one request may carry at most {}",
                      req.data.size(), limits.max_result / 2));
    }
    WindowCodec& codec = models.codec(req.model, req.stage);
    std::vector<ByteView> windows(req.raw_sizes.size());
    size_t at = 0;
    for (size_t i = 0; i < windows.size(); ++i) {
      windows[i] = req.data.subspan(at, req.raw_sizes[i]);
      at += req.raw_sizes[i];
    }
    std::vector<Bytes> coded = codec.encode(windows);
    request.finish(FrameType::kResult, proto::encode_encoded_windows(coded));
  });
}

}  // namespace lmz::daemon
