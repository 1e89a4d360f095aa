#pragma once
// The durable state file (config key state.path): load at start-up, save after every mutation.
//
// Guarantees:
//  * save_state() is atomic and durable: it writes "<path>.tmp" in the same directory (mode 0600),
//    fsyncs it, renames it over <path> and fsyncs the directory. A crash at any point leaves
//    either the complete old file or the complete new one (plus, at worst, a stale .tmp that the
//    next save overwrites). It needs write access to the directory, not just the file.
//  * Nothing here throws; failures come back as results whose message names the file.
//  * Synchronous, blocking file I/O: call from the event loop thread (the file is a few KiB;
//    the fsyncs dominate). Not thread-safe; one process should own the file.
#include <cstddef>
#include <functional>
#include <string>

#include "core/time.hpp"
#include "state/state_json.hpp"

namespace deployguard::state {

/// Largest state file load_state() reads. A real file is a few KiB per environment.
inline constexpr std::size_t kMaxStateFileBytes = 16 * 1024 * 1024;

enum class LoadFailure {
  None,
  Unreadable,  // open/read failed (permissions, a directory in its place, I/O error, too large)
  Corrupt,     // read fine but not a version-1 state document; move_aside() applies
};

struct LoadResult {
  EnvironmentStates states;  // empty when the file does not exist (first start) or on failure
  DeliveryIds webhook_deliveries;  // likewise
  bool file_existed = false;
  LoadFailure failure = LoadFailure::None;
  /// One line naming the file and what is wrong, e.g.
  /// "state file /var/lib/deployguard/state.json is corrupt: not valid JSON (...)".
  std::string error;
  bool ok() const { return failure == LoadFailure::None; }
};

/// Reads and validates the file. A missing file is success with no environments.
LoadResult load_state(const std::string& path);

struct SaveResult {
  std::string error;  // empty on success; names the file and the failed step
  bool ok() const { return error.empty(); }
};

/// Steps of save_state(), for crash simulation in tests.
enum class SaveStep {
  TempWritten,  // <path>.tmp holds the new content (not yet fsynced); <path> untouched
  TempSynced,   // <path>.tmp fsynced; <path> untouched
  Renamed,      // <path> is the new file; the directory entry not yet fsynced
  DirectorySynced,  // the directory fsynced: the new file survives a power loss
};
const char* to_string(SaveStep step);

/// Test seam: called after each step completes. Returning false makes save_state() stop right
/// there without any cleanup, exactly as if the process had died at that point (the temp file
/// is closed, as the kernel would on death, but left behind), and return an error.
using SaveCrashHook = std::function<bool(SaveStep)>;

/// Writes the state atomically and durably (see the file comment).
SaveResult save_state(const std::string& path, const EnvironmentStates& states,
                      const SaveCrashHook& crash_hook = {});
/// The same, with the webhook delivery ids to keep.
SaveResult save_state(const std::string& path, const EnvironmentStates& states,
                      const DeliveryIds& deliveries, const SaveCrashHook& crash_hook = {});

/// The temp file save_state() uses: "<path>.tmp".
std::string temp_path_for(const std::string& path);

struct MoveAsideResult {
  std::string new_path;  // set on success
  std::string error;
  bool ok() const { return error.empty(); }
};
/// Renames a corrupt state file to "<path>.corrupt-<UTC now, e.g. 20251231T190358Z>" (adding
/// "-1", "-2", ... if that name is taken; an existing file is never replaced) and fsyncs the
/// directory. Used at start-up when the operator passes the explicit flag; the daemon then
/// starts with empty state.
MoveAsideResult move_aside(const std::string& path, TimePoint now);

/// The durable state of all environments plus the file it lives in. Holds the map the daemon
/// restores policies from and snapshots them into before each save.
class StateStore {
 public:
  explicit StateStore(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }

  /// Reads the file; on success replaces states() and webhook_deliveries(), on failure leaves
  /// them unchanged.
  LoadResult load();
  /// Writes states() and webhook_deliveries() to the file.
  SaveResult save(const SaveCrashHook& crash_hook = {}) const;

  EnvironmentStates& states() { return states_; }
  const EnvironmentStates& states() const { return states_; }
  DeliveryIds& webhook_deliveries() { return deliveries_; }
  const DeliveryIds& webhook_deliveries() const { return deliveries_; }

 private:
  std::string path_;
  EnvironmentStates states_;
  DeliveryIds deliveries_;
};

}  // namespace deployguard::state
