// The entry points of the fuzz targets (spec/FORMAT.md, spec/PROTOCOL.md,
// spec/MODEL.md): each takes arbitrary bytes and feeds them to one parser of
// untrusted input. A libFuzzer target (fuzz_main.cc) and the regression
// test (regression_test.cc) call the same functions, so a crash file found
// by the fuzzer replays in the normal test suite.
//
// An entry returns normally when the parser accepted the input or refused it
// with an lmz::Error (what bad input must produce). It throws FuzzFinding
// when an invariant that must hold for every input is broken (e.g. a round
// trip that does not give the input back); a sanitizer report, a crash or
// any other exception is a finding too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

namespace lmz::fuzz {

class FuzzFinding : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

using Entry = void (*)(const uint8_t* data, size_t size);

// Container: the streaming reader (decompress_stream).
void stream_reader(const uint8_t* data, size_t size);
// Container: the random-access reader (footer, index, window table, read()).
void random_access(const uint8_t* data, size_t size);
// The range decoder, alone and inside the window codec.
void range_decoder(const uint8_t* data, size_t size);
// The model-file loader (libcodec/engine/model_file.h).
void model_file(const uint8_t* data, size_t size);
// lmzd frame headers and payload decoders (daemon/protocol.h).
void protocol(const uint8_t* data, size_t size);
// lmzd request input/output accounting (daemon/request.h).
void request(const uint8_t* data, size_t size);
// Compress arbitrary bytes, decompress whole and by ranges.
void roundtrip(const uint8_t* data, size_t size);

// The entry named `name` (one of the above), or nullptr.
Entry entry_by_name(std::string_view name);

// Throws FuzzFinding with `what` unless `ok`.
inline void require(bool ok, const char* what) {
  if (!ok) throw FuzzFinding(what);
}

}  // namespace lmz::fuzz
