/* lmz.h: the C API of lmz, a lossless compressor for text and logs.
 *
 * Stable: functions and types here keep their meaning and layout within a
 * major version (the shared library's soname, liblmz.so.0). New features
 * come as new functions.
 *
 * Archives are the .lmz format (spec/FORMAT.md) that the lmz program reads
 * and writes: what this API compresses, `lmz -d` decompresses, and the
 * other way round. Everything runs in the calling process (lmzd is not
 * used). Errors are status codes; the context keeps a message for the last
 * error. A context is used by one thread at a time; several contexts may
 * be used at once.
 *
 * Link: pkg-config --cflags --libs lmz, or in CMake
 *   find_package(lmz REQUIRED) and target_link_libraries(app PRIVATE lmz::lmz).
 */
#ifndef LMZ_H
#define LMZ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LMZ_VERSION_MAJOR 0
#define LMZ_VERSION_MINOR 1
#define LMZ_VERSION_PATCH 0

/* The library's version, "MAJOR.MINOR.PATCH". */
const char* lmz_version(void);

/* Status codes; the numbers are those of the lmz program's exit statuses. */
typedef enum lmz_status {
  LMZ_OK = 0,
  LMZ_ERROR_USAGE = 1,      /* a bad argument or option, an unknown model */
  LMZ_ERROR_CORRUPT = 2,    /* not an lmz archive, truncated, a checksum mismatch */
  LMZ_ERROR_MODEL = 3,      /* the archive's model is not installed */
  LMZ_ERROR_IO = 4,         /* a file or a callback failed */
  LMZ_ERROR_INTERNAL = 5,   /* a bug in lmz */
  LMZ_ERROR_MEMORY = 6      /* out of memory */
} lmz_status;

/* A short English name of a status ("ok", "corrupt input", ...). */
const char* lmz_status_name(lmz_status status);

/* Settings of a context. Unset settings are lmz's defaults. */
typedef struct lmz_options lmz_options;

lmz_options* lmz_options_new(void); /* NULL when out of memory */
void lmz_options_free(lmz_options* options);
/* Compression level 1..19 (`lmz -1` .. `lmz -19`); 0: the default. */
lmz_status lmz_options_set_level(lmz_options* options, int level);
/* The model to compress with: an installed name, a .lmzm path or "order2"
 * (built in); NULL or "": the default model rule. */
lmz_status lmz_options_set_model(lmz_options* options, const char* model);
/* Where installed models are looked up; NULL or "": $LMZ_MODELS_DIR, else
 * the models installed beside this library. */
lmz_status lmz_options_set_models_dir(lmz_options* options, const char* dir);
/* Most threads one call codes with; 0: one per hardware thread. */
lmz_status lmz_options_set_threads(lmz_options* options, unsigned threads);
/* "auto", "cpu" or "cuda". */
lmz_status lmz_options_set_device(lmz_options* options, const char* device);

/* A context: the settings, the models it loaded, the last error. */
typedef struct lmz_context lmz_context;

/* Creates a context with `options` (copied; NULL: the defaults). Returns
 * NULL only when out of memory. */
lmz_context* lmz_context_new(const lmz_options* options);
void lmz_context_free(lmz_context* context);
/* The message of the last error of a call on `context` (or on an archive
 * opened with it), "" after a success. Valid until the next call. */
const char* lmz_last_error(const lmz_context* context);

/* Frees memory that lmz returned (lmz_compress_buffer, ...). */
void lmz_free(void* memory);

/* Compresses `size` bytes at `data` into a new buffer, returned in *out
 * and *out_size (free it with lmz_free). */
lmz_status lmz_compress_buffer(lmz_context* context, const void* data, size_t size, void** out,
                               size_t* out_size);
/* Decompresses a whole archive (or concatenated archives) into a new
 * buffer. Every checksum is verified. */
lmz_status lmz_decompress_buffer(lmz_context* context, const void* data, size_t size,
                                 void** out, size_t* out_size);

/* Streams. A read function fills up to `capacity` bytes at `buffer` and
 * returns how many (0 at the end), or -1 on an error; a write function
 * takes all `size` bytes and returns 0, or non-zero on an error. */
typedef long long (*lmz_read_fn)(void* user, void* buffer, size_t capacity);
typedef int (*lmz_write_fn)(void* user, const void* data, size_t size);

/* Compresses everything `read` gives into `write`, block by block. */
lmz_status lmz_compress_stream(lmz_context* context, lmz_read_fn read, void* read_user,
                               lmz_write_fn write, void* write_user);
/* Decompresses an archive front to back; raw bytes are written only after
 * their block's checksum matched. */
lmz_status lmz_decompress_stream(lmz_context* context, lmz_read_fn read, void* read_user,
                                 lmz_write_fn write, void* write_user);

/* Random access to an archive file: reads only its footers, indexes and the
 * windows a range needs. */
typedef struct lmz_archive lmz_archive;

lmz_status lmz_archive_open(lmz_context* context, const char* path, lmz_archive** archive);
/* The same over `size` bytes at `data` (copied). */
lmz_status lmz_archive_open_buffer(lmz_context* context, const void* data, size_t size,
                                   lmz_archive** archive);
void lmz_archive_close(lmz_archive* archive);
/* Bytes of decompressed data in the archive. */
uint64_t lmz_archive_raw_size(const lmz_archive* archive);
/* Reads the decompressed bytes [offset, offset + size) into `buffer`;
 * *got is how many there were (fewer at the end of the data). */
lmz_status lmz_archive_read(lmz_archive* archive, uint64_t offset, void* buffer, size_t size,
                            size_t* got);

/* One member of an archive (archives concatenate; each part is a member). */
typedef struct lmz_member_info {
  uint64_t archive_offset;
  uint64_t archive_size;
  uint64_t raw_offset;
  uint64_t raw_size;
  uint32_t format_version;
  uint32_t stage;         /* coding stage id (spec/FORMAT.md) */
  uint64_t blocks;
  uint64_t neural_blocks;
  uint64_t zstd_blocks;
  uint64_t stored_blocks;
  char model_name[256];   /* as the archive records it, NUL-terminated */
  char model_hash[33];    /* 32 hex digits */
} lmz_member_info;

size_t lmz_archive_member_count(const lmz_archive* archive);
/* Fills *info for member `index` (< lmz_archive_member_count). */
lmz_status lmz_archive_member(const lmz_archive* archive, size_t index, lmz_member_info* info);

#ifdef __cplusplus
}
#endif

#endif /* LMZ_H */
