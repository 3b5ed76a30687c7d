// Removes the temporary output file when lmz is killed by SIGINT, SIGTERM,
// SIGHUP or SIGPIPE, so an interrupted run leaves nothing behind. A signal
// handler can only reach global data, so this module holds the one path
// being written (files are processed one at a time).
#pragma once

namespace lmz::cli {

// Installs the handlers (once, from main). The handler unlinks the
// registered path, restores the default action and re-raises the signal.
void install_signal_cleanup();

// Registers the temporary file to remove on a signal (copied into a fixed
// buffer; paths longer than 4095 bytes are not registered). One at a time.
void register_temp_file(const char* path);
void unregister_temp_file();

}  // namespace lmz::cli
