// The C API (include/lmz.h) over the library: the same in-process backend,
// levels and container code as the lmz program, so that archives are the
// program's. Every entry point catches everything: no exception crosses
// into C.
#include "lmz.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <string>

#include "cli/backend.h"
#include "cli/commands.h"
#include "cli/file_io.h"
#include "cli/levels.h"
#include "cli/options.h"
#include "format/archive_reader.h"
#include "format/archive_writer.h"
#include "libcodec/errors.h"

struct lmz_options {
  lmz::cli::Options cli;
};

struct lmz_context {
  lmz::cli::Options options;
  lmz::cli::CodecSettings settings;
  std::unique_ptr<lmz::cli::CodecBackend> backend;
  std::string error;
};

struct lmz_archive {
  lmz_context* context = nullptr;
  lmz::Bytes memory;  // the archive, when opened from a buffer
  std::unique_ptr<lmz::MemoryRandomAccessSource> memory_source;
  int fd = -1;
  std::unique_ptr<lmz::cli::FdRandomAccessSource> file_source;
  std::unique_ptr<lmz::RandomAccessReader> reader;
  ~lmz_archive() {
    reader.reset();
    if (fd >= 0) close(fd);
  }
};

namespace {

// The models installed beside this library (LIBDIR/../share/lmz/models),
// for programs that link liblmz from an installed tree: the running
// program's own path says nothing about where lmz was installed.
std::string models_beside_library() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&lmz_version), &info) == 0 || info.dli_fname == nullptr) {
    return {};
  }
  std::error_code ec;
  auto dir = (std::filesystem::path(info.dli_fname).parent_path() / LMZ_MODELS_FROM_LIBDIR)
                 .lexically_normal();
  return std::filesystem::is_directory(dir, ec) ? dir.string() : std::string();
}

lmz_status status_of(const std::exception& e) {
  return static_cast<lmz_status>(lmz::cli::exit_code_for(e));
}

// Runs `body`, turning exceptions into a status and `context`'s message.
template <typename Body>
lmz_status guarded(lmz_context* context, Body&& body) {
  if (context == nullptr) return LMZ_ERROR_USAGE;
  context->error.clear();
  try {
    body();
    return LMZ_OK;
  } catch (const std::bad_alloc&) {
    context->error = "out of memory";
    return LMZ_ERROR_MEMORY;
  } catch (const std::exception& e) {
    context->error = e.what();
    return status_of(e);
  } catch (...) {
    context->error = "unknown error";
    return LMZ_ERROR_INTERNAL;
  }
}

template <typename Body>
lmz_status guarded_options(lmz_options* options, Body&& body) {
  if (options == nullptr) return LMZ_ERROR_USAGE;
  try {
    body();
    return LMZ_OK;
  } catch (const std::bad_alloc&) {
    return LMZ_ERROR_MEMORY;
  } catch (const std::exception& e) {
    return status_of(e);
  }
}

class CallbackSource final : public lmz::ByteSource {
 public:
  CallbackSource(lmz_read_fn fn, void* user) : read_(fn), user_(user) {}
  size_t read(lmz::MutableByteView out) override {
    long long n = read_(user_, out.data(), out.size());
    if (n < 0 || static_cast<unsigned long long>(n) > out.size()) {
      throw lmz::IoError("the read callback failed");
    }
    return static_cast<size_t>(n);
  }

 private:
  lmz_read_fn read_;
  void* user_;
};

class CallbackSink final : public lmz::ByteSink {
 public:
  CallbackSink(lmz_write_fn fn, void* user) : write_(fn), user_(user) {}
  void write(lmz::ByteView bytes) override {
    if (!bytes.empty() && write_(user_, bytes.data(), bytes.size()) != 0) {
      throw lmz::IoError("the write callback failed");
    }
  }

 private:
  lmz_write_fn write_;
  void* user_;
};

// Copies `bytes` into memory the caller frees with lmz_free.
void hand_out(const lmz::Bytes& bytes, void** out, size_t* out_size) {
  void* memory = std::malloc(bytes.empty() ? 1 : bytes.size());
  if (memory == nullptr) throw std::bad_alloc();
  if (!bytes.empty()) std::memcpy(memory, bytes.data(), bytes.size());
  *out = memory;
  *out_size = bytes.size();
}

void compress(lmz_context* c, lmz::ByteSource& in, lmz::ByteSink& out) {
  lmz::WindowCodec& codec = c->backend->compress_codec();
  lmz::ArchiveWriter writer(out, codec, c->settings.writer, c->backend->log_codec(codec));
  lmz::Bytes buffer(256 << 10);
  while (size_t n = in.read(buffer)) writer.write(lmz::ByteView(buffer.data(), n));
  writer.finish();
}

void require(bool ok, const char* what) {
  if (!ok) throw lmz::UsageError(what);
}

}  // namespace

extern "C" {

const char* lmz_version(void) {
  return LMZ_VERSION;
}

const char* lmz_status_name(lmz_status status) {
  switch (status) {
    case LMZ_OK:
      return "ok";
    case LMZ_ERROR_USAGE:
      return "usage error";
    case LMZ_ERROR_CORRUPT:
      return "corrupt input";
    case LMZ_ERROR_MODEL:
      return "model not installed";
    case LMZ_ERROR_IO:
      return "I/O error";
    case LMZ_ERROR_INTERNAL:
      return "internal error";
    case LMZ_ERROR_MEMORY:
      return "out of memory";
  }
  return "unknown status";
}

lmz_options* lmz_options_new(void) {
  return new (std::nothrow) lmz_options();
}

void lmz_options_free(lmz_options* options) {
  delete options;
}

lmz_status lmz_options_set_level(lmz_options* options, int level) {
  return guarded_options(options, [&] {
    if (level == 0) {
      options->cli.level.reset();
    } else {
      lmz::cli::level_preset(level);  // throws for a bad level
      options->cli.level = level;
    }
  });
}

lmz_status lmz_options_set_model(lmz_options* options, const char* model) {
  return guarded_options(options, [&] { options->cli.model = model != nullptr ? model : ""; });
}

lmz_status lmz_options_set_models_dir(lmz_options* options, const char* dir) {
  return guarded_options(options, [&] { options->cli.models_dir = dir != nullptr ? dir : ""; });
}

lmz_status lmz_options_set_threads(lmz_options* options, unsigned threads) {
  return guarded_options(options, [&] { options->cli.threads = threads; });
}

lmz_status lmz_options_set_device(lmz_options* options, const char* device) {
  return guarded_options(options, [&] {
    require(device != nullptr, "lmz_options_set_device: device is NULL");
    options->cli.device = lmz::parse_device(device);
  });
}

lmz_context* lmz_context_new(const lmz_options* options) {
  try {
    auto context = std::make_unique<lmz_context>();
    if (options != nullptr) context->options = options->cli;
    context->settings = lmz::cli::resolve_settings(context->options);
    lmz::cli::BackendOptions backend;
    backend.models.models_dir = context->options.models_dir;
    if (backend.models.models_dir.empty()) {
      const char* env = std::getenv("LMZ_MODELS_DIR");
      if (env == nullptr || *env == '\0') backend.models.models_dir = models_beside_library();
    }
    backend.models.device = context->options.device;
    backend.model = context->settings.model;
    backend.log_model = context->settings.log_model;
    backend.stage = context->settings.stage;
    backend.log_stage = context->settings.log_stage;
    backend.threads = context->options.threads;
    context->backend = lmz::cli::make_in_process_backend(backend);
    return context.release();
  } catch (...) {
    return nullptr;
  }
}

void lmz_context_free(lmz_context* context) {
  delete context;
}

const char* lmz_last_error(const lmz_context* context) {
  return context != nullptr ? context->error.c_str() : "no context";
}

void lmz_free(void* memory) {
  std::free(memory);
}

lmz_status lmz_compress_buffer(lmz_context* context, const void* data, size_t size, void** out,
                               size_t* out_size) {
  return guarded(context, [&] {
    require(out != nullptr && out_size != nullptr && (data != nullptr || size == 0),
            "lmz_compress_buffer: NULL argument");
    lmz::MemorySource in(lmz::ByteView(static_cast<const uint8_t*>(data), size));
    lmz::MemorySink sink;
    compress(context, in, sink);
    hand_out(sink.data, out, out_size);
  });
}

lmz_status lmz_decompress_buffer(lmz_context* context, const void* data, size_t size, void** out,
                                 size_t* out_size) {
  return guarded(context, [&] {
    require(out != nullptr && out_size != nullptr && (data != nullptr || size == 0),
            "lmz_decompress_buffer: NULL argument");
    lmz::MemorySource in(lmz::ByteView(static_cast<const uint8_t*>(data), size));
    lmz::MemorySink sink;
    lmz::decompress_stream(in, sink, context->backend->resolver());
    hand_out(sink.data, out, out_size);
  });
}

lmz_status lmz_compress_stream(lmz_context* context, lmz_read_fn read, void* read_user,
                               lmz_write_fn write, void* write_user) {
  return guarded(context, [&] {
    require(read != nullptr && write != nullptr, "lmz_compress_stream: NULL callback");
    CallbackSource in(read, read_user);
    CallbackSink out(write, write_user);
    compress(context, in, out);
  });
}

lmz_status lmz_decompress_stream(lmz_context* context, lmz_read_fn read, void* read_user,
                                 lmz_write_fn write, void* write_user) {
  return guarded(context, [&] {
    require(read != nullptr && write != nullptr, "lmz_decompress_stream: NULL callback");
    CallbackSource in(read, read_user);
    CallbackSink out(write, write_user);
    lmz::decompress_stream(in, out, context->backend->resolver());
  });
}

lmz_status lmz_archive_open(lmz_context* context, const char* path, lmz_archive** archive) {
  return guarded(context, [&] {
    require(path != nullptr && archive != nullptr, "lmz_archive_open: NULL argument");
    auto a = std::make_unique<lmz_archive>();
    a->context = context;
    a->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (a->fd < 0) {
      throw lmz::IoError(std::string("cannot open ") + path + ": " + std::strerror(errno));
    }
    a->file_source = std::make_unique<lmz::cli::FdRandomAccessSource>(a->fd, path);
    a->reader =
        std::make_unique<lmz::RandomAccessReader>(*a->file_source, context->backend->resolver());
    *archive = a.release();
  });
}

lmz_status lmz_archive_open_buffer(lmz_context* context, const void* data, size_t size,
                                   lmz_archive** archive) {
  return guarded(context, [&] {
    require(archive != nullptr && (data != nullptr || size == 0),
            "lmz_archive_open_buffer: NULL argument");
    auto a = std::make_unique<lmz_archive>();
    a->context = context;
    const auto* p = static_cast<const uint8_t*>(data);
    a->memory.assign(p, p + size);
    a->memory_source = std::make_unique<lmz::MemoryRandomAccessSource>(a->memory);
    a->reader =
        std::make_unique<lmz::RandomAccessReader>(*a->memory_source, context->backend->resolver());
    *archive = a.release();
  });
}

void lmz_archive_close(lmz_archive* archive) {
  delete archive;
}

uint64_t lmz_archive_raw_size(const lmz_archive* archive) {
  return archive != nullptr ? archive->reader->raw_size() : 0;
}

lmz_status lmz_archive_read(lmz_archive* archive, uint64_t offset, void* buffer, size_t size,
                            size_t* got) {
  if (archive == nullptr) return LMZ_ERROR_USAGE;
  return guarded(archive->context, [&] {
    require(got != nullptr && (buffer != nullptr || size == 0), "lmz_archive_read: NULL argument");
    lmz::Bytes bytes = archive->reader->read(offset, size);
    if (!bytes.empty()) std::memcpy(buffer, bytes.data(), bytes.size());
    *got = bytes.size();
  });
}

size_t lmz_archive_member_count(const lmz_archive* archive) {
  return archive != nullptr ? archive->reader->info().members.size() : 0;
}

lmz_status lmz_archive_member(const lmz_archive* archive, size_t index, lmz_member_info* info) {
  if (archive == nullptr || info == nullptr) return LMZ_ERROR_USAGE;
  const auto& members = archive->reader->info().members;
  if (index >= members.size()) return LMZ_ERROR_USAGE;
  const lmz::MemberInfo& m = members[index];
  std::memset(info, 0, sizeof *info);
  info->archive_offset = m.archive_offset;
  info->archive_size = m.archive_size;
  info->raw_offset = m.raw_offset;
  info->raw_size = m.raw_size;
  info->format_version = m.format_version;
  info->stage = m.stage;
  info->blocks = m.blocks.size();
  for (const lmz::BlockInfo& b : m.blocks) {
    if (b.codec == "neural") ++info->neural_blocks;
    if (b.codec == "zstd") ++info->zstd_blocks;
    if (b.codec == "stored") ++info->stored_blocks;
  }
  std::strncpy(info->model_name, m.model_name.c_str(), sizeof info->model_name - 1);
  std::string hash = m.model_hash.hex();
  std::strncpy(info->model_hash, hash.c_str(), sizeof info->model_hash - 1);
  return LMZ_OK;
}

}  // extern "C"
