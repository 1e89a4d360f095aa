// The one translation unit that compiles Boost.Asio (with its OpenSSL layer) and Boost.Beast.
// Every other file includes their headers with BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION (set by the deployguard_asio target), so it sees only
// declarations: the library bodies are compiled once here instead of in ~40 files.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
