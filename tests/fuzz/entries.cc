#include <utility>

#include "tests/fuzz/fuzz_entries.h"

namespace lmz::fuzz {

Entry entry_by_name(std::string_view name) {
  static constexpr std::pair<std::string_view, Entry> kEntries[] = {
      {"stream_reader", stream_reader}, {"random_access", random_access},
      {"range_decoder", range_decoder}, {"model_file", model_file},
      {"protocol", protocol},           {"request", request},
      {"roundtrip", roundtrip},
  };
  for (const auto& [n, e] : kEntries) {
    if (n == name) return e;
  }
  return nullptr;
}

}  // namespace lmz::fuzz
