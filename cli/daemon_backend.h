// The choice between coding windows on lmzd (daemon/client.h) and in this
// process, and the backend that codes them on lmzd.
//
// The daemon backend runs the archive writer and readers here, exactly as
// the in-process backend does, and sends only the windows to lmzd
// (ENCODE_WINDOWS / DECODE_WINDOWS, spec/PROTOCOL.md). So an archive is byte
// for byte the one `--local` writes with the same model: the container code
// is this binary's in both cases, and the exactness contract makes the coded
// windows independent of where they were coded. Random access (--range)
// reads the index and the needed windows from the file here and has lmzd
// decode only those; lmzd never opens a file.
#pragma once

#include <memory>
#include <string>

#include "cli/backend.h"
#include "cli/options.h"

namespace lmz::cli {

// Returns the backend `use` asks for, with lmzd at `socket` (empty: $LMZ_SOCKET,
// else the default path; daemon/client.h):
//  - kForbidden (--local): in-process, without contacting the daemon;
//  - kAuto: the daemon when the socket answers, else in-process (with a
//    note at -v; a warning when the socket exists but cannot be used);
//  - kRequired (--daemon): the daemon, or IoError naming the socket and
//    what to do.
// Under kAuto a model lmzd does not have (asked for with --model or
// $LMZ_MODEL, or named by an archive) is coded in-process instead, with a
// note at -v; under kRequired it is ModelMismatch naming both models. When
// lmzd stops answering in the middle of a run, kAuto goes on in-process
// (with a warning; the archive stays the same) and kRequired fails (IoError).
// Without --model and $LMZ_MODEL the daemon backend compresses with lmzd's
// own model: the default rule (spec/MODEL.md) depends on the device, and the
// device is lmzd's. `verbosity` is Options::verbosity.
std::unique_ptr<CodecBackend> make_backend(const BackendOptions& options, DaemonUse use,
                                           const std::string& socket, int verbosity);

}  // namespace lmz::cli
