# Every dependency comes from a Debian bookworm package installed by scripts/setup.sh.
# Nothing is downloaded at build time.
find_package(Boost 1.81 EXACT REQUIRED COMPONENTS url)
find_package(OpenSSL REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(simdjson 3.0 CONFIG REQUIRED)  # lib/parse only: the DOM parser for upstream JSON
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(prometheus-cpp REQUIRED COMPONENTS core)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
find_package(Threads REQUIRED)
find_package(date CONFIG REQUIRED)  # lib/core: calendar and IANA time zones (date::date-tz)
