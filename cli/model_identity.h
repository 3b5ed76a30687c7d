// Names the model a user asked for (--model NAME|PATH) by the identity an
// archive records, without loading it. The daemon client asks lmzd for a
// model by its hash; loading the model here just to learn that hash would
// cost the start-up time the daemon exists to save, and a build without the
// neural engine could not load a model file at all.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

#include "libcodec/types.h"

namespace lmz::cli {

// The identity of the model `name_or_path` denotes under the lookup of
// ModelRegistry::by_name_or_path: the built-in "order2", NAME.lmzm in
// `models_dir`, or the model file at a path (anything with a '/' or ending
// in .lmzm). The name is what an in-process codec records (the file's stem);
// the hash is the file's content hash (spec/MODEL.md), which is checked.
// Returns nullopt when no such file exists. Throws CorruptInput for a file
// that is not a model file or whose stored hash does not match its bytes,
// and IoError when it cannot be read.
std::optional<ModelId> identify_model(std::string_view name_or_path,
                                      const std::filesystem::path& models_dir);

}  // namespace lmz::cli
