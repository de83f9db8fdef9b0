// Replays every fuzz harness (fuzz/harnesses.h) on its seeds (made from fixtures/, as
// scripts/fuzz makes them) and on every input a fuzzer ever crashed on (fuzz/regressions/<name>/),
// so that what a fuzzer once found stays fixed; under `scripts/test asan` with ASan and UBSan.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz/harnesses.h"

namespace tally {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(slurp(e.path()));
  return out;
}

const fs::path kSource = TALLY_SOURCE_DIR;

// The lines of the JSON Lines seeds: the fixtures' and fuzz/seeds/items.jsonl (the item types
// the fixtures lack).
std::vector<std::string> json_seed_lines() {
  std::vector<std::string> out;
  for (const fs::path& f :
       {kSource / "fixtures" / "shop.jsonl", kSource / "fixtures" / "shopper.jsonl",
        kSource / "fixtures" / "fulfil.jsonl", kSource / "fuzz" / "seeds" / "items.jsonl"}) {
    std::istringstream lines(slurp(f));
    for (std::string l; std::getline(lines, l);) out.push_back(l);
  }
  return out;
}

// The seeds scripts/fuzz starts each fuzzer from (fuzz/seeds/README.md).
std::vector<std::string> seeds(std::string_view harness) {
  std::vector<std::string> out;
  if (harness == "json_line") {
    out = json_seed_lines();
  } else if (harness == "wire_item") {
    for (const auto& l : json_seed_lines()) out.push_back(fuzz::wire_item_seed(l));
  } else if (harness == "config_toml") {
    out.push_back(slurp(kSource / "fixtures" / "marketplaces.toml"));
    out.push_back(slurp(kSource / "fixtures" / "schedules.toml"));
  } else if (harness == "money_text") {
    std::istringstream lines(slurp(kSource / "fuzz" / "seeds" / "money_text.txt"));
    for (std::string l; std::getline(lines, l);)
      if (!l.empty()) out.push_back(std::string(1, static_cast<char>(l[0] - '0')) + l.substr(1));
  } else if (harness == "bank_report") {
    out = files_in(kSource / "fixtures" / "bank");
  }
  return out;
}

TEST(FuzzReplay, EveryHarnessTakesItsSeedsAndEveryInputAFuzzerCrashedOn) {
  for (const auto& h : fuzz::kHarnesses) {
    auto inputs = seeds(h.name);
    EXPECT_FALSE(inputs.empty()) << h.name << ": no seeds (fixtures moved?)";
    for (auto& r : files_in(kSource / "fuzz" / "regressions" / h.name)) inputs.push_back(r);
    for (const auto& in : inputs) h.run(in);
  }
}

// Every JSON Lines seed is an item the reader accepts, so each makes a wire_item seed: a seed the
// reader refuses would leave the fuzzer that much further from the items it should explore.
TEST(FuzzReplay, EveryJsonSeedIsAnItemAndAWireSeed) {
  for (const auto& l : json_seed_lines()) EXPECT_FALSE(fuzz::wire_item_seed(l).empty()) << l;
}

// Inputs that must be refused, not crash, whatever the harness: empty, NUL bytes, a lone quote,
// a deep nest.
TEST(FuzzReplay, DegenerateInputsAreRefusedQuietly) {
  const std::vector<std::string> inputs = {"",
                                           std::string(1, '\0'),
                                           std::string(64, '\0'),
                                           "\"",
                                           "{",
                                           "[[[[[[[[[[[[[[[[[[[[",
                                           std::string(10000, '['),
                                           std::string(10000, '{') + "\"a\":",
                                           "\xff\xfe",
                                           "9\x7f"};
  for (const auto& h : fuzz::kHarnesses)
    for (const auto& in : inputs) h.run(in);
}

}  // namespace
}  // namespace tally
