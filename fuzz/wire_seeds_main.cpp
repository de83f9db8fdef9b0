// fuzz_wire_seeds OUTDIR FILE...: the wire_item harness's seeds (fuzz/harnesses.h
// wire_item_seed), one file per JSON Lines line the JSON reader accepts, written to OUTDIR as
// seed-1, seed-2... scripts/fuzz runs it on the json_line seeds.
#include <fstream>
#include <iostream>
#include <string>

#include "fuzz/harnesses.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: fuzz_wire_seeds OUTDIR FILE...\n";
    return 2;
  }
  const std::string out = argv[1];
  int n = 0;
  for (int i = 2; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::cerr << "fuzz_wire_seeds: cannot read " << argv[i] << "\n";
      return 1;
    }
    for (std::string line; std::getline(in, line);) {
      const std::string seed = tally::fuzz::wire_item_seed(line);
      if (seed.empty()) continue;
      const std::string path = out + "/seed-" + std::to_string(++n);
      std::ofstream f(path, std::ios::binary);
      f.write(seed.data(), static_cast<std::streamsize>(seed.size()));
      if (!f) {
        std::cerr << "fuzz_wire_seeds: cannot write " << path << "\n";
        return 1;
      }
    }
  }
  std::cerr << "fuzz_wire_seeds: " << n << " seeds\n";
  return n > 0 ? 0 : 1;
}
