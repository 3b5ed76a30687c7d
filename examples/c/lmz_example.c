/* lmz_example: compresses a text with liblmz, decompresses it, reads a
 * range through random access and lists the archive's members.
 * Build against an installed lmz:
 *   cc lmz_example.c $(pkg-config --cflags --libs lmz)
 * or with CMake (CMakeLists.txt beside this file). Exit status 0 when every
 * step gave back the original bytes. */
#include <lmz.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(lmz_context* context, const char* what, lmz_status status) {
  fprintf(stderr, "lmz_example: %s: %s (%s)\n", what, lmz_status_name(status),
          lmz_last_error(context));
  return 1;
}

int main(int argc, char** argv) {
  const char* model = argc > 1 ? argv[1] : "order2";
  char text[20000];
  size_t size = 0;
  while (size + 64 < sizeof text) {
    size += (size_t)snprintf(text + size, sizeof text - size,
                             "Dec 4 18:%02u:%02u host sshd[%u]: Accepted key for user%u\n",
                             (unsigned)(size / 60 % 60), (unsigned)(size % 60),
                             (unsigned)(1000 + size % 977), (unsigned)(size % 13));
  }
  lmz_options* options = lmz_options_new();
  lmz_options_set_model(options, model);
  lmz_options_set_threads(options, 2);
  lmz_context* context = lmz_context_new(options);
  lmz_options_free(options);
  if (context == NULL) return 1;

  void* archive = NULL;
  size_t archive_size = 0;
  lmz_status s = lmz_compress_buffer(context, text, size, &archive, &archive_size);
  if (s != LMZ_OK) return fail(context, "compress", s);
  void* back = NULL;
  size_t back_size = 0;
  s = lmz_decompress_buffer(context, archive, archive_size, &back, &back_size);
  if (s != LMZ_OK) return fail(context, "decompress", s);
  if (back_size != size || memcmp(back, text, size) != 0) return 1;

  lmz_archive* a = NULL;
  s = lmz_archive_open_buffer(context, archive, archive_size, &a);
  if (s != LMZ_OK) return fail(context, "open", s);
  char range[100];
  size_t got = 0;
  s = lmz_archive_read(a, 1000, range, sizeof range, &got);
  if (s != LMZ_OK) return fail(context, "read", s);
  if (got != sizeof range || memcmp(range, text + 1000, got) != 0) return 1;
  lmz_member_info info;
  lmz_archive_member(a, 0, &info);
  printf("lmz %s: %zu bytes -> %zu, %zu member(s), model %s, %llu blocks\n", lmz_version(), size,
         archive_size, lmz_archive_member_count(a), info.model_name,
         (unsigned long long)info.blocks);

  /* A bad archive is an error with a message, never a crash. */
  s = lmz_decompress_buffer(context, "not an archive", 14, &back, &back_size);
  if (s != LMZ_ERROR_CORRUPT) return 1;
  printf("corrupt input: %s\n", lmz_last_error(context));

  lmz_archive_close(a);
  lmz_free(archive);
  lmz_context_free(context);
  return 0;
}
