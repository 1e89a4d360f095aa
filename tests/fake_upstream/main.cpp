// fake_upstream: a scriptable stand-in for GitHub REST, Azure Resource Manager and the Entra ID
// / managed-identity token endpoints. See README.md.
#include "server.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace {

// "host:port" -> (host, port); port 0 picks a free one.
bool parse_listen(const std::string& text, std::string& host, std::uint16_t& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = text.substr(0, colon);
  try {
    const unsigned long p = std::stoul(text.substr(colon + 1));
    if (p > 65535) return false;
    port = static_cast<std::uint16_t>(p);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

bool write_ready(int fd, const std::string& listen) {
  const std::string line = "{\"listen\":\"" + listen + "\"}\n";
  std::size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd, line.data() + written, line.size() - written);
    if (n <= 0) return false;
    written += static_cast<std::size_t>(n);
  }
  return ::close(fd) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fake GitHub / Azure Resource Manager / token server for deployguard tests and demos"};
  std::string listen = "127.0.0.1:0";
  std::string scenario_file;
  int ready_fd = -1;
  std::string log_level = "info";
  app.add_option("--listen", listen, "host:port to listen on (port 0 = any free port)");
  app.add_option("--scenario", scenario_file, "scenario JSON: initial state and timeline")->check(CLI::ExistingFile);
  app.add_option("--ready-fd", ready_fd, "write {\"listen\":\"host:port\"} to this fd once listening, then close it")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  CLI11_PARSE(app, argc, argv);

  try {
    spdlog::set_level(spdlog::level::from_str(log_level));
    deployguard::fake::FakeUpstreamServer::Options options;
    if (!parse_listen(listen, options.address, options.port)) {
      std::cerr << "fake_upstream: --listen must be host:port, got '" << listen << "'\n";
      return 2;
    }
    if (!scenario_file.empty()) {
      auto loaded = deployguard::fake::load_scenario_file(scenario_file);
      if (!loaded.scenario) {
        for (const auto& e : loaded.errors) std::cerr << "fake_upstream: " << e << '\n';
        return 2;
      }
      options.scenario = std::move(loaded.scenario);
    }
    deployguard::fake::FakeUpstreamServer server(std::move(options));
    spdlog::get("fake_upstream")->info("listening on {}", server.listen_address());
    if (ready_fd >= 0 && !write_ready(ready_fd, server.listen_address())) {
      std::cerr << "fake_upstream: cannot write to --ready-fd " << ready_fd << '\n';
      return 2;
    }
    server.run();
  } catch (const std::exception& e) {
    std::cerr << "fake_upstream: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
