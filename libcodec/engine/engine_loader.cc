// load.h for builds with the neural engine: finds liblmz_engine.so and
// loads it on first use (engine_api.h says why it is a separate module).
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "libcodec/engine/engine_api.h"
#include "libcodec/engine/load.h"
#include "libcodec/errors.h"
#include "libcodec/predictor.h"

namespace lmz {
namespace {

// Where the module is looked for, in order: $LMZ_ENGINE_LIB; beside the
// running program as installed (BINDIR/../LIBDIR/lmz/); where this build
// tree made it.
std::vector<std::filesystem::path> module_candidates() {
  if (const char* env = std::getenv("LMZ_ENGINE_LIB"); env != nullptr && *env != '\0') {
    return {env};
  }
  std::vector<std::filesystem::path> paths;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) paths.push_back(exe.parent_path() / LMZ_ENGINE_INSTALL_RELPATH);
  // Beside the shared library this code is in (liblmz.so in LIBDIR, used by
  // a program installed anywhere, e.g. python3): LIBDIR/lmz/.
  Dl_info self{};
  if (::dladdr(reinterpret_cast<void*>(&neural_engine_available), &self) != 0 &&
      self.dli_fname != nullptr && exe != std::filesystem::path(self.dli_fname)) {
    paths.push_back(std::filesystem::path(self.dli_fname).parent_path() / "lmz" /
                    "liblmz_engine.so");
  }
  paths.emplace_back(LMZ_ENGINE_BUILD_PATH);
  return paths;
}

struct LoadedEngine {
  const EngineApi* api = nullptr;
  std::string problem;  // why api is null
};

LoadedEngine open_engine() {
  LoadedEngine result;
  std::vector<std::string> tried;
  for (const auto& path : module_candidates()) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      tried.push_back(fmt::format("{} (not there)", path.string()));
      continue;
    }
    // Never unloaded: predictors made by the module live until exit.
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      tried.push_back(fmt::format("{} ({})", path.string(), ::dlerror()));
      continue;
    }
    auto entry = reinterpret_cast<const EngineApi* (*)()>(::dlsym(handle, "lmz_engine_api"));
    const EngineApi* api = entry != nullptr ? entry() : nullptr;
    if (api == nullptr || api->version != kEngineApiVersion) {
      tried.push_back(fmt::format("{} (not an lmz engine of this version)", path.string()));
      continue;
    }
    result.api = api;
    return result;
  }
  result.problem = fmt::format("tried {}", fmt::join(tried, "; "));
  return result;
}

const LoadedEngine& engine() {
  static const LoadedEngine loaded = open_engine();
  return loaded;
}

}  // namespace

bool neural_engine_available() {
  return true;
}

// Whether this machine has a device node a CUDA driver works through
// (/dev/nvidiactl, /dev/nvidia0; /dev/dxg under WSL). Without one no CUDA
// device can be used, and saying so costs no loading of the engine and
// libtorch (about a second and 170 MB on a CPU-only machine).
bool cuda_driver_present() {
  std::error_code ec;
  for (const char* node : {"/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg"}) {
    if (std::filesystem::exists(node, ec)) return true;
  }
  return false;
}

bool cuda_available() {
  return cuda_driver_present() && engine().api != nullptr && engine().api->cuda_available();
}

std::unique_ptr<Predictor> load_neural_model(const std::filesystem::path& path, Device device) {
  const LoadedEngine& e = engine();
  if (e.api == nullptr) {
    throw UsageError(fmt::format(
        "cannot load model file {}: the neural engine module liblmz_engine.so could not be "
        "loaded ({}); reinstall lmz or point $LMZ_ENGINE_LIB at the module",
        path.string(), e.problem));
  }
  return e.api->load(path, device);
}

}  // namespace lmz
