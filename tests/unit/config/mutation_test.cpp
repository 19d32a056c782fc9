// Hostile input: byte-level mutations of real configuration files never crash
// the loader, and every load ends either with a snapshot or with errors.

#include <fstream>
#include <random>
#include <sstream>

#include "config_test_support.h"

namespace jwtgate::config::testing {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Mutation, MutatedConfigsLoadOrFailCleanly) {
  ::setenv("JWT_SECRET", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 1);
  const std::string examples = std::string(JWTGATE_FIXTURES) + "/../../config/";
  std::vector<std::string> seeds = {
      read_text(examples + "fronting-backend.yaml"), read_text(examples + "sidecar-jwks.yaml"),
      read_text(examples + "forward-auth-nginx.yaml"), read_text(fixture_config_dir() + "/broken/several-errors.yaml")};
  for (const auto& seed : seeds) ASSERT_FALSE(seed.empty());

  using namespace std::string_literals;
  const std::string alphabet = ":-[]{},&*!|>'\"#%@`\n\t ~?0123456789abcnull\x00\xff"s;  // NUL included
  std::mt19937 rng(20240611);  // fixed: the same inputs on every run
  std::size_t loaded = 0, refused = 0;
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::string text = seeds[iteration % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t at = rng() % text.size();
      switch (rng() % 4) {
        case 0: text[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: text.erase(at, 1 + rng() % 8); break;
        case 2: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 3: text.insert(at, text.substr(rng() % text.size(), rng() % 40)); break;
      }
    }
    load_result r = load_string(text, examples + "mutated.yaml");
    ASSERT_EQ(r.snap == nullptr, !r.errors.empty()) << text;
    for (const auto& e : r.errors) ASSERT_FALSE(e.message.empty());
    (r.snap ? loaded : refused)++;
  }
  EXPECT_GT(refused, 0u);
  EXPECT_GT(loaded, 0u) << "some mutations (inside comments, for instance) keep the file valid";
}

}  // namespace
}  // namespace jwtgate::config::testing
