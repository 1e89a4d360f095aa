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

# Beast/Asio are header-only; keep their compile-time knobs in one place.
add_library(deployguard_asio INTERFACE)
target_link_libraries(deployguard_asio INTERFACE Boost::headers Threads::Threads)
target_compile_definitions(deployguard_asio INTERFACE
  BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)
