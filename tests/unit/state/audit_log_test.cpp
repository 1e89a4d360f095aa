#include "state/audit_log.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <sstream>
#include <vector>

#include "state_fixtures.hpp"
#include "common/temp_dir.hpp"

namespace deployguard::state {
namespace {

using namespace deployguard::state::testing;
using namespace deployguard::testing;
using nlohmann::json;

AuditRecord record(const std::string& action, int n = 0) {
  AuditRecord r;
  r.time = at_ms(kT0 + n);
  r.environment = "prod";
  r.actor = "alice";
  r.action = action;
  r.old_value = nullptr;
  r.new_value = json{{"n", n}};
  r.detail = "record " + std::to_string(n);
  return r;
}

std::vector<json> read_records(const std::string& path) {
  std::vector<json> out;
  std::istringstream lines(read_file(path));
  for (std::string line; std::getline(lines, line);) out.push_back(json::parse(line));
  return out;
}

TEST(AuditLog, DefaultPathIsBesideTheStateFile) {
  EXPECT_EQ(AuditLog::default_path("/var/lib/deployguard/state.json"),
            "/var/lib/deployguard/audit.jsonl");
  EXPECT_EQ(AuditLog::default_path("state.json"), "./audit.jsonl");
}

TEST(AuditLog, FormatsOneLineWithKeysInTheDocumentedOrder) {
  AuditRecord r;
  r.time = at_ms(kT0);
  r.environment = "prod";
  r.actor = "alice";
  r.action = "freeze.set";
  r.old_value = nullptr;
  r.new_value = json{{"reason", "incident\n77"}};
  r.detail = json{{"source", "api"}};
  EXPECT_EQ(AuditLog::format_line(r),
            "{\"time\":\"2025-12-31T19:03:58.123Z\",\"environment\":\"prod\",\"actor\":\"alice\","
            "\"action\":\"freeze.set\",\"old\":null,\"new\":{\"reason\":\"incident\\n77\"},"
            "\"detail\":{\"source\":\"api\"}}\n");
}

TEST(AuditLog, InvalidUtf8DoesNotThrowAndStaysOneLine) {
  auto r = record("x");
  r.actor = std::string{"ev\xffil\nname"};
  const auto line = AuditLog::format_line(r);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_EQ(json::parse(line)["actor"], "ev\xef\xbf\xbdil\nname");
}

TEST(AuditLog, AppendsRecordsInOrderToAPrivateFile) {
  TempDir dir;
  const auto path = dir.file("audit.jsonl");
  AuditLog log;
  ASSERT_TRUE(log.open(path).ok());
  EXPECT_TRUE(log.is_open());
  ASSERT_TRUE(log.append(record("lease.acquire", 1)).ok());
  ASSERT_TRUE(log.append(record("decision.change", 2), AuditSync::NoFsync).ok());
  ASSERT_TRUE(log.append(record("lease.release", 3), AuditSync::Fsync).ok());
  EXPECT_EQ(mode_of(path), 0600u);

  const auto records = read_records(path);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0]["action"], "lease.acquire");
  EXPECT_EQ(records[1]["action"], "decision.change");
  EXPECT_EQ(records[2]["action"], "lease.release");
  EXPECT_EQ(records[2]["time"], "2025-12-31T19:03:58.126Z");
  EXPECT_EQ(records[2]["environment"], "prod");
  EXPECT_EQ(records[2]["actor"], "alice");
  EXPECT_EQ(records[2]["old"], nullptr);
  EXPECT_EQ(records[2]["new"], (json{{"n", 3}}));
  EXPECT_EQ(records[2]["detail"], "record 3");
}

TEST(AuditLog, AppendsToAnExistingFileWithoutTruncating) {
  TempDir dir;
  const auto path = dir.file("audit.jsonl");
  {
    AuditLog first;
    ASSERT_TRUE(first.open(path).ok());
    ASSERT_TRUE(first.append(record("a", 1)).ok());
  }
  AuditLog second;
  ASSERT_TRUE(second.open(path).ok());
  ASSERT_TRUE(second.append(record("b", 2)).ok());
  const auto records = read_records(path);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["action"], "a");
  EXPECT_EQ(records[1]["action"], "b");
}

TEST(AuditLog, ReopenAfterRotationWritesToTheNewFile) {
  TempDir dir;
  const auto path = dir.file("audit.jsonl");
  const auto rotated = dir.file("audit.jsonl.1");
  AuditLog log;
  ASSERT_TRUE(log.open(path).ok());
  ASSERT_TRUE(log.append(record("before", 1)).ok());
  ASSERT_EQ(std::rename(path.c_str(), rotated.c_str()), 0);  // logrotate
  ASSERT_TRUE(log.append(record("between", 2)).ok());       // still the old inode
  ASSERT_TRUE(log.reopen().ok());                              // SIGHUP
  ASSERT_TRUE(log.append(record("after", 3)).ok());

  const auto old_records = read_records(rotated);
  ASSERT_EQ(old_records.size(), 2u);
  EXPECT_EQ(old_records[0]["action"], "before");
  EXPECT_EQ(old_records[1]["action"], "between");
  const auto new_records = read_records(path);
  ASSERT_EQ(new_records.size(), 1u);
  EXPECT_EQ(new_records[0]["action"], "after");
  EXPECT_EQ(mode_of(path), 0600u);
}

TEST(AuditLog, FailedReopenKeepsWritingToTheOldFile) {
  TempDir dir;
  const auto path = dir.file("audit.jsonl");
  const auto rotated = dir.file("audit.jsonl.1");
  AuditLog log;
  ASSERT_TRUE(log.open(path).ok());
  ASSERT_EQ(std::rename(path.c_str(), rotated.c_str()), 0);
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);  // cannot be opened for writing, even by root
  const auto reopened = log.reopen();
  ASSERT_FALSE(reopened.ok());
  EXPECT_NE(reopened.error.find("cannot open audit log " + path), std::string::npos)
      << reopened.error;
  EXPECT_TRUE(log.is_open());
  ASSERT_TRUE(log.append(record("kept", 1)).ok());
  const auto records = read_records(rotated);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["action"], "kept");
}

TEST(AuditLog, ErrorsAreResultsThatNameTheFile) {
  TempDir dir;
  AuditLog log;
  EXPECT_FALSE(log.append(record("x")).ok());
  EXPECT_FALSE(log.reopen().ok());
  const auto path = dir.file("missing/audit.jsonl");
  const auto opened = log.open(path);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error.find(path), std::string::npos) << opened.error;
  EXPECT_FALSE(log.is_open());
}

}  // namespace
}  // namespace deployguard::state
