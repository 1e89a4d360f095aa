// Prints the configuration reference generated from the schema table.
//   deployguard_config_docgen                  -> stdout
//   deployguard_config_docgen docs/configuration.md  -> writes that file
#include <cstdio>
#include <fstream>
#include <iostream>

#include "config/loader.hpp"

int main(int argc, char** argv) {
  const std::string text = deployguard::config::reference_markdown();
  if (argc < 2) {
    std::cout << text;
    return std::cout ? 0 : 1;
  }
  if (argc > 2) {
    std::cerr << "usage: " << argv[0] << " [OUTPUT.md]\n";
    return 2;
  }
  std::ofstream out(argv[1], std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    std::cerr << argv[0] << ": cannot write " << argv[1] << "\n";
    return 1;
  }
  return 0;
}
