#include "state/state_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <vector>

#include "state/file_io.hpp"
#include "state_fixtures.hpp"
#include "common/temp_dir.hpp"

namespace deployguard::state {

// Readable parameter names in gtest output (found by ADL, so not in the unnamed namespace).
void PrintTo(SaveStep step, std::ostream* os) { *os << to_string(step); }

namespace {

using namespace deployguard::state::testing;
using namespace deployguard::testing;

EnvironmentStates state_a() {
  EnvironmentStates s;
  s["prod"].freeze = Freeze{"old state", "alice", at_ms(kT0), std::nullopt};
  return s;
}

EnvironmentStates state_b() { return full_states(); }

void expect_loads_as(const std::string& path, const EnvironmentStates& expected) {
  const auto loaded = load_state(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error;
  expect_same(expected, loaded.states);
}

// ---- load ------------------------------------------------------------------------------------

TEST(StateStoreLoad, MissingFileIsAnEmptyFirstStart) {
  TempDir dir;
  const auto loaded = load_state(dir.file("state.json"));
  EXPECT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded.file_existed);
  EXPECT_TRUE(loaded.states.empty());
  EXPECT_TRUE(loaded.error.empty());
}

TEST(StateStoreLoad, MissingDirectoryIsAnEmptyFirstStartToo) {
  // ENOENT anywhere in the path: the save will then report the missing directory.
  TempDir dir;
  EXPECT_TRUE(load_state(dir.file("nope/state.json")).ok());
}

TEST(StateStoreLoad, TruncatedFileIsCorruptAndTheErrorNamesTheFile) {
  TempDir dir;
  const auto path = dir.file("state.json");
  ASSERT_TRUE(save_state(path, state_b()).ok());
  const auto full = read_file(path);
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, full.size() / 2, full.size() - 1}) {
    write_file(path, full.substr(0, n));
    const auto loaded = load_state(path);
    EXPECT_FALSE(loaded.ok()) << n;
    EXPECT_TRUE(loaded.file_existed);
    EXPECT_EQ(loaded.failure, LoadFailure::Corrupt) << n;
    EXPECT_NE(loaded.error.find("state file " + path + " is corrupt"), std::string::npos)
        << loaded.error;
    EXPECT_TRUE(loaded.states.empty());
  }
}

TEST(StateStoreLoad, GarbageAndWrongVersionAreCorrupt) {
  TempDir dir;
  const auto path = dir.file("state.json");
  write_file(path, "\x7f" "ELF garbage");
  EXPECT_EQ(load_state(path).failure, LoadFailure::Corrupt);
  write_file(path, R"({"version": 7, "environments": {}})");
  const auto loaded = load_state(path);
  EXPECT_EQ(loaded.failure, LoadFailure::Corrupt);
  EXPECT_NE(loaded.error.find("unsupported state format version 7"), std::string::npos)
      << loaded.error;
}

TEST(StateStoreLoad, ADirectoryInPlaceOfTheFileIsUnreadable) {
  // Works as root too, unlike chmod 000.
  TempDir dir;
  const auto path = dir.file("state.json");
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  const auto loaded = load_state(path);
  EXPECT_EQ(loaded.failure, LoadFailure::Unreadable);
  EXPECT_TRUE(loaded.file_existed);
  EXPECT_NE(loaded.error.find("state file " + path + " cannot be read"), std::string::npos)
      << loaded.error;
  EXPECT_NE(loaded.error.find("EISDIR"), std::string::npos) << loaded.error;
}

TEST(StateStoreLoad, PermissionDeniedIsUnreadable) {
  if (running_as_root()) {
    GTEST_SKIP() << "root bypasses file permissions; "
                    "ADirectoryInPlaceOfTheFileIsUnreadable covers the read-error path";
  }
  TempDir dir;
  const auto path = dir.file("state.json");
  ASSERT_TRUE(save_state(path, state_a()).ok());
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  const auto loaded = load_state(path);
  EXPECT_EQ(loaded.failure, LoadFailure::Unreadable);
  EXPECT_NE(loaded.error.find("EACCES"), std::string::npos) << loaded.error;
}

TEST(StateStoreLoad, OversizedFileIsRefused) {
  TempDir dir;
  const auto path = dir.file("state.json");
  ASSERT_EQ(::truncate(path.c_str(), 0), -1);  // does not exist yet
  write_file(path, "");
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(kMaxStateFileBytes + 1)), 0);
  const auto loaded = load_state(path);
  EXPECT_EQ(loaded.failure, LoadFailure::Unreadable);
  EXPECT_NE(loaded.error.find("larger than"), std::string::npos) << loaded.error;
}

TEST(StateStoreLoad, FailedLoadLeavesTheStoreUnchanged) {
  TempDir dir;
  StateStore store{dir.file("state.json")};
  store.states() = state_a();
  write_file(store.path(), "{");
  EXPECT_FALSE(store.load().ok());
  expect_same(state_a(), store.states());
}

// ---- save ------------------------------------------------------------------------------------

TEST(StateStoreSave, RoundTripsThroughTheFileWithMode0600AndNoTempLeft) {
  TempDir dir;
  StateStore store{dir.file("state.json")};
  store.states() = state_b();
  const auto saved = store.save();
  ASSERT_TRUE(saved.ok()) << saved.error;
  EXPECT_EQ(mode_of(store.path()), 0600u);
  EXPECT_FALSE(exists(temp_path_for(store.path())));

  StateStore reloaded{store.path()};
  const auto loaded = reloaded.load();
  ASSERT_TRUE(loaded.ok()) << loaded.error;
  EXPECT_TRUE(loaded.file_existed);
  expect_same(state_b(), reloaded.states());
}

TEST(StateStoreSave, KeepsTheWebhookDeliveryIds) {
  TempDir dir;
  StateStore store{dir.file("state.json")};
  store.states() = state_a();
  store.webhook_deliveries() = {"d-1", "d-2"};
  ASSERT_TRUE(store.save().ok());
  StateStore reloaded{store.path()};
  ASSERT_TRUE(reloaded.load().ok());
  EXPECT_EQ(reloaded.webhook_deliveries(), (DeliveryIds{"d-1", "d-2"}));
  EXPECT_EQ(load_state(store.path()).webhook_deliveries, (DeliveryIds{"d-1", "d-2"}));
}

TEST(StateStoreSave, ReplacesAnExistingFileAndItsMode) {
  TempDir dir;
  const auto path = dir.file("state.json");
  ASSERT_TRUE(save_state(path, state_a()).ok());
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);

  ASSERT_TRUE(save_state(path, state_b()).ok());
  expect_loads_as(path, state_b());
  EXPECT_EQ(mode_of(path), 0600u);
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino) << "replaced by rename, not rewritten in place";
  EXPECT_FALSE(exists(temp_path_for(path)));
}

TEST(StateStoreSave, ReusesAStaleTempFileFromACrash) {
  TempDir dir;
  const auto path = dir.file("state.json");
  write_file(temp_path_for(path), std::string(100000, 'x'));  // longer than the new content
  ASSERT_EQ(::chmod(temp_path_for(path).c_str(), 0666), 0);
  ASSERT_TRUE(save_state(path, state_a()).ok());
  expect_loads_as(path, state_a());
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_FALSE(exists(temp_path_for(path)));
}

TEST(StateStoreSave, NonexistentDirectoryIsAnError) {
  TempDir dir;
  const auto path = dir.file("missing/state.json");
  const auto saved = save_state(path, state_a());
  ASSERT_FALSE(saved.ok());
  EXPECT_NE(saved.error.find("cannot save state file " + path), std::string::npos)
      << saved.error;
  EXPECT_NE(saved.error.find("ENOENT"), std::string::npos) << saved.error;
}

TEST(StateStoreSave, ReadOnlyDirectoryIsAnError) {
  if (running_as_root()) {
    GTEST_SKIP() << "root bypasses directory permissions; TempPathOccupiedIsAnError and "
                    "TargetIsADirectoryIsAnError cover save failures as root";
  }
  TempDir dir;
  const auto sub = dir.file("ro");
  ASSERT_EQ(::mkdir(sub.c_str(), 0500), 0);
  const auto saved = save_state(sub + "/state.json", state_a());
  ASSERT_FALSE(saved.ok());
  EXPECT_NE(saved.error.find("EACCES"), std::string::npos) << saved.error;
}

TEST(StateStoreSave, TempPathOccupiedIsAnErrorAndTheOldFileSurvives) {
  TempDir dir;
  const auto path = dir.file("state.json");
  ASSERT_TRUE(save_state(path, state_a()).ok());
  ASSERT_EQ(::mkdir(temp_path_for(path).c_str(), 0700), 0);
  const auto saved = save_state(path, state_b());
  ASSERT_FALSE(saved.ok());
  EXPECT_NE(saved.error.find("cannot create temp file"), std::string::npos) << saved.error;
  expect_loads_as(path, state_a());
}

TEST(StateStoreSave, DoesNotWriteThroughASymlinkedTempPath) {
  TempDir dir;
  const auto path = dir.file("state.json");
  const auto victim = dir.file("victim");
  write_file(victim, "precious");
  ASSERT_EQ(::symlink(victim.c_str(), temp_path_for(path).c_str()), 0);
  const auto saved = save_state(path, state_a());
  ASSERT_FALSE(saved.ok());
  EXPECT_NE(saved.error.find("ELOOP"), std::string::npos) << saved.error;
  EXPECT_EQ(read_file(victim), "precious");
}

TEST(StateStoreSave, TargetIsADirectoryIsAnErrorAndTheTempIsRemoved) {
  TempDir dir;
  const auto path = dir.file("state.json");
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  const auto saved = save_state(path, state_a());
  ASSERT_FALSE(saved.ok());
  EXPECT_NE(saved.error.find("cannot rename"), std::string::npos) << saved.error;
  EXPECT_FALSE(exists(temp_path_for(path)));
}

TEST(StateStoreSave, UnserializableStateIsAnErrorAndTouchesNothing) {
  TempDir dir;
  const auto path = dir.file("state.json");
  ASSERT_TRUE(save_state(path, state_a()).ok());
  auto bad = state_b();
  bad["prod"].busy.consecutive_failures = -5;
  const auto saved = save_state(path, bad);
  ASSERT_FALSE(saved.ok());
  EXPECT_NE(saved.error.find("consecutive_failures"), std::string::npos) << saved.error;
  expect_loads_as(path, state_a());
  EXPECT_FALSE(exists(temp_path_for(path)));
}

// ---- crash simulation ------------------------------------------------------------------------

TEST(StateStoreSave, CallsTheCrashHookAfterEachStepInOrder) {
  TempDir dir;
  std::vector<SaveStep> steps;
  const auto saved = save_state(dir.file("state.json"), state_a(), [&](SaveStep s) {
    steps.push_back(s);
    return true;
  });
  ASSERT_TRUE(saved.ok()) << saved.error;
  EXPECT_EQ(steps, (std::vector<SaveStep>{SaveStep::TempWritten, SaveStep::TempSynced,
                                          SaveStep::Renamed, SaveStep::DirectorySynced}));
}

// The directory fsync is what makes the rename survive a power loss; no file content shows it,
// so count the fsyncs of directories: exactly one, after the rename, before the last step.
TEST(StateStoreSave, FsyncsTheDirectoryAfterTheRename) {
  TempDir dir;
  const auto path = dir.file("state.json");
  std::optional<std::uint64_t> at_rename;
  std::optional<std::uint64_t> at_directory_synced;
  const auto before = detail::directory_fsync_count();
  const auto saved = save_state(path, state_a(), [&](SaveStep s) {
    if (s == SaveStep::TempSynced) {
      EXPECT_EQ(detail::directory_fsync_count(), before);
    }
    if (s == SaveStep::Renamed) at_rename = detail::directory_fsync_count();
    if (s == SaveStep::DirectorySynced) at_directory_synced = detail::directory_fsync_count();
    return true;
  });
  ASSERT_TRUE(saved.ok()) << saved.error;
  ASSERT_TRUE(at_rename && at_directory_synced);
  EXPECT_EQ(*at_rename, before) << "the directory must be synced after the rename, not before";
  EXPECT_EQ(*at_directory_synced, before + 1);
  EXPECT_EQ(detail::directory_fsync_count(), before + 1);
}

class CrashDuringSave : public ::testing::TestWithParam<SaveStep> {};

TEST_P(CrashDuringSave, LeavesTheOldOrTheNewFileNeverATornOne) {
  const SaveStep crash_at = GetParam();
  TempDir dir;
  const auto path = dir.file("state.json");
  ASSERT_TRUE(save_state(path, state_a()).ok());

  const auto crashed = save_state(path, state_b(), [&](SaveStep s) { return s != crash_at; });
  ASSERT_FALSE(crashed.ok());
  EXPECT_NE(crashed.error.find("simulated crash"), std::string::npos) << crashed.error;

  // What a restart would find.
  if (crash_at == SaveStep::Renamed || crash_at == SaveStep::DirectorySynced) {
    expect_loads_as(path, state_b());
    EXPECT_FALSE(exists(temp_path_for(path)));
  } else {
    expect_loads_as(path, state_a());
    EXPECT_TRUE(exists(temp_path_for(path))) << "a crash does not clean up";
  }

  // The next save after the restart works and leaves no temp file behind.
  ASSERT_TRUE(save_state(path, state_b()).ok());
  expect_loads_as(path, state_b());
  EXPECT_FALSE(exists(temp_path_for(path)));
}

std::string step_name(const ::testing::TestParamInfo<SaveStep>& param) {
  switch (param.param) {
    case SaveStep::TempWritten: return "TempWritten";
    case SaveStep::TempSynced: return "TempSynced";
    case SaveStep::Renamed: return "Renamed";
    case SaveStep::DirectorySynced: return "DirectorySynced";
  }
  return "Unknown";
}

INSTANTIATE_TEST_SUITE_P(EveryStep, CrashDuringSave,
                         ::testing::Values(SaveStep::TempWritten, SaveStep::TempSynced,
                                           SaveStep::Renamed, SaveStep::DirectorySynced),
                         step_name);

// ---- move aside ------------------------------------------------------------------------------

TEST(StateStoreMoveAside, RenamesTheCorruptFileWithAUtcTimestamp) {
  TempDir dir;
  const auto path = dir.file("state.json");
  write_file(path, "{corrupt");
  const auto moved = move_aside(path, at_ms(kT0));
  ASSERT_TRUE(moved.ok()) << moved.error;
  EXPECT_EQ(moved.new_path, path + ".corrupt-20251231T190358Z");
  EXPECT_EQ(read_file(moved.new_path), "{corrupt");
  EXPECT_FALSE(exists(path));
  // The daemon then starts empty.
  const auto loaded = load_state(path);
  EXPECT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded.file_existed);
}

TEST(StateStoreMoveAside, NeverReplacesAnEarlierCorruptCopy) {
  TempDir dir;
  const auto path = dir.file("state.json");
  write_file(path, "first");
  const auto first = move_aside(path, at_ms(kT0));
  ASSERT_TRUE(first.ok()) << first.error;
  write_file(path, "second");
  const auto second = move_aside(path, at_ms(kT0));  // same second
  ASSERT_TRUE(second.ok()) << second.error;
  EXPECT_EQ(second.new_path, path + ".corrupt-20251231T190358Z-1");
  EXPECT_EQ(read_file(first.new_path), "first");
  EXPECT_EQ(read_file(second.new_path), "second");
}

TEST(StateStoreMoveAside, MissingFileIsAnError) {
  TempDir dir;
  const auto path = dir.file("state.json");
  const auto moved = move_aside(path, at_ms(kT0));
  ASSERT_FALSE(moved.ok());
  EXPECT_NE(moved.error.find(path), std::string::npos) << moved.error;
  EXPECT_NE(moved.error.find("ENOENT"), std::string::npos) << moved.error;
}

}  // namespace
}  // namespace deployguard::state
