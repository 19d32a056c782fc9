// The local store's journal: replay, restart, a torn last record, a damaged
// record in the middle, compaction, expiry on load.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "jwtgate/revocation/journal.h"

namespace jwtgate::revocation {
namespace {

constexpr std::int64_t now = 1'700'000'000;

entry make(kind k, std::string v, std::int64_t exp = now + 100) {
  entry e;
  e.type = k;
  e.value = std::move(v);
  e.exp = exp;
  if (k == kind::sub) e.before = now - 1;
  return e;
}

class journal_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("jwtgate-journal-" + std::to_string(::getpid()) + "-" +
                                                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "revocations").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<entry> reopen(journal::load_report* report = nullptr, std::int64_t at = now) {
    journal j;
    std::vector<entry> live;
    journal::load_report r;
    std::string error;
    EXPECT_TRUE(j.open(path_, at, live, r, error)) << error;
    if (report) *report = r;
    return live;
  }

  std::string contents() const {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(journal_test, SurvivesRestart) {
  {
    journal j;
    std::vector<entry> live;
    journal::load_report r;
    std::string error;
    ASSERT_TRUE(j.open(path_, now, live, r, error)) << error;
    EXPECT_TRUE(live.empty());
    ASSERT_TRUE(j.append_add(make(kind::jti, "a"), error));
    ASSERT_TRUE(j.append_add(make(kind::sub, "bob"), error));
    ASSERT_TRUE(j.append_add(make(kind::sid, "s"), error));
    ASSERT_TRUE(j.append_remove(make(kind::jti, "a"), error));
    ASSERT_TRUE(j.append_add(make(kind::sid, "s", now + 500), error));  // replaces
  }
  journal::load_report report;
  auto live = reopen(&report);
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].value, "bob");
  EXPECT_EQ(live[0].before, now - 1);
  EXPECT_EQ(live[1].value, "s");
  EXPECT_EQ(live[1].exp, now + 500);
  EXPECT_EQ(report.records, 5u);
  EXPECT_FALSE(report.torn_tail);
  // Compacted: only the live entries are left.
  auto text = contents();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  EXPECT_EQ(reopen().size(), 2u);
}

TEST_F(journal_test, TornLastRecordIsDropped) {
  {
    std::ofstream out(path_, std::ios::binary);
    out << journal::format_record('+', make(kind::jti, "kept")) << "\n";
    auto torn = journal::format_record('+', make(kind::jti, "torn"));
    out << torn.substr(0, torn.size() / 2);  // the crash came mid-write
  }
  journal::load_report report;
  auto live = reopen(&report);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].value, "kept");
  EXPECT_TRUE(report.torn_tail);
  EXPECT_EQ(contents(), journal::format_record('+', make(kind::jti, "kept")) + "\n");
}

TEST_F(journal_test, LastRecordWithBadChecksumIsTorn) {
  {
    std::ofstream out(path_, std::ios::binary);
    out << journal::format_record('+', make(kind::jti, "kept")) << "\n";
    auto bad = journal::format_record('+', make(kind::jti, "zzzz"));
    bad[bad.size() - 3] ^= 1;
    out << bad << "\n";
  }
  journal::load_report report;
  EXPECT_EQ(reopen(&report).size(), 1u);
  EXPECT_TRUE(report.torn_tail);
}

TEST_F(journal_test, DamagedRecordBeforeTheLastRefusesToStart) {
  {
    std::ofstream out(path_, std::ios::binary);
    auto bad = journal::format_record('+', make(kind::jti, "first"));
    bad[12] ^= 1;
    out << bad << "\n" << journal::format_record('+', make(kind::jti, "second")) << "\n";
  }
  journal j;
  std::vector<entry> live;
  journal::load_report r;
  std::string error;
  EXPECT_FALSE(j.open(path_, now, live, r, error));
  EXPECT_NE(error.find(":1: damaged revocation record"), std::string::npos) << error;
}

TEST_F(journal_test, ExpiredEntriesAreDroppedOnLoad) {
  {
    journal j;
    std::vector<entry> live;
    journal::load_report r;
    std::string error;
    ASSERT_TRUE(j.open(path_, now, live, r, error));
    ASSERT_TRUE(j.append_add(make(kind::jti, "short", now + 10), error));
    ASSERT_TRUE(j.append_add(make(kind::jti, "long", now + 1000), error));
  }
  journal::load_report report;
  auto live = reopen(&report, now + 10);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].value, "long");
  EXPECT_EQ(report.expired, 1u);
}

TEST_F(journal_test, RecordFormat) {
  auto line = journal::format_record('-', make(kind::jti, "x"));
  char op = 0;
  entry e;
  std::string error;
  ASSERT_TRUE(journal::parse_record(line, op, e, error)) << error;
  EXPECT_EQ(op, '-');
  EXPECT_EQ(e.value, "x");
  EXPECT_FALSE(journal::parse_record("", op, e, error));
  EXPECT_FALSE(journal::parse_record("00000000 + {\"jti\":\"x\"}", op, e, error));
  EXPECT_FALSE(journal::parse_record(line.substr(0, 8) + " * " + line.substr(11), op, e, error));
}

TEST_F(journal_test, UnreadableDirectoryIsAnError) {
  journal j;
  std::vector<entry> live;
  journal::load_report r;
  std::string error;
  EXPECT_FALSE(j.open((dir_ / "missing" / "file").string(), now, live, r, error));
  EXPECT_FALSE(error.empty());
}

}  // namespace
}  // namespace jwtgate::revocation
