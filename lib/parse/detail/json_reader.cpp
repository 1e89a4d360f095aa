#include "parse/detail/json_reader.hpp"

#include <charconv>
#include <cmath>
#include <limits>

namespace deployguard::parse::detail {

using nlohmann::json;

void ErrorSink::add(std::string path, std::string message) {
  // A hostile document could repeat one bad field a million times; a few errors tell the story.
  constexpr std::size_t kMaxErrors = 32;
  if (errors_.size() < kMaxErrors) errors_.push_back({std::move(path), std::move(message)});
}

Parsed<json> parse_document(std::string_view body) {
  try {
    return json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    return ParseError{"", "invalid JSON at byte " + std::to_string(e.byte)};
  } catch (const std::exception&) {
    return ParseError{"", "invalid JSON"};
  }
}

std::optional<std::int64_t> parse_int64_text(std::string_view text) {
  if (text.empty() || text.front() == '+') return std::nullopt;
  std::int64_t v = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  return v;
}

Reader Reader::operator[](std::string_view key) const {
  std::string child_path = path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  if (node_ == nullptr || !node_->is_object()) return Reader(nullptr, std::move(child_path), *sink_);
  const auto it = node_->find(key);
  return Reader(it == node_->end() ? nullptr : &*it, std::move(child_path), *sink_);
}

Reader Reader::operator[](std::size_t index) const {
  std::string child_path = path_ + "[" + std::to_string(index) + "]";
  if (node_ == nullptr || !node_->is_array() || index >= node_->size())
    return Reader(nullptr, std::move(child_path), *sink_);
  return Reader(&(*node_)[index], std::move(child_path), *sink_);
}

bool Reader::missing(bool required) const {
  if (!absent_or_null()) return false;
  if (required) error(node_ == nullptr ? "missing" : "missing (null)");
  return true;
}

void Reader::wrong_type(std::string_view expected) const {
  error("expected " + std::string(expected) + ", got " + std::string(node_->type_name()));
}

bool Reader::opt_object() const {
  if (missing(false)) return false;
  if (!node_->is_object()) {
    wrong_type("object");
    return false;
  }
  return true;
}

bool Reader::req_object() const {
  if (missing(true)) return false;
  return opt_object();
}

std::optional<std::size_t> Reader::opt_array() const {
  if (missing(false)) return std::nullopt;
  if (!node_->is_array()) {
    wrong_type("array");
    return std::nullopt;
  }
  return node_->size();
}

std::optional<std::size_t> Reader::req_array() const {
  if (missing(true)) return std::nullopt;
  return opt_array();
}

std::optional<std::int64_t> Reader::opt_int64() const {
  if (missing(false)) return std::nullopt;
  if (node_->is_number_integer() && !node_->is_number_unsigned()) {
    return node_->get<std::int64_t>();
  }
  if (node_->is_number_unsigned()) {
    const auto u = node_->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      error("integer out of range");
      return std::nullopt;
    }
    return static_cast<std::int64_t>(u);
  }
  if (node_->is_number_float()) {
    // nlohmann stores integers beyond 64 bits as doubles.
    const double d = node_->get<double>();
    error(std::isfinite(d) && std::trunc(d) == d ? "integer out of range"
                                                 : "expected integer, got fractional number");
    return std::nullopt;
  }
  if (node_->is_string()) {
    const auto& s = node_->get_ref<const std::string&>();
    if (auto v = parse_int64_text(s)) return v;
    error("expected integer, got string that is not a 64-bit integer");
    return std::nullopt;
  }
  wrong_type("integer");
  return std::nullopt;
}

std::optional<std::int64_t> Reader::req_int64() const {
  if (missing(true)) return std::nullopt;
  return opt_int64();
}

std::optional<int> Reader::opt_int() const {
  const auto v = opt_int64();
  if (!v) return std::nullopt;
  if (*v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max()) {
    error("integer out of range");
    return std::nullopt;
  }
  return static_cast<int>(*v);
}

std::optional<double> Reader::opt_number() const {
  if (missing(false)) return std::nullopt;
  if (node_->is_number()) return node_->get<double>();
  if (node_->is_string()) {
    const auto& s = node_->get_ref<const std::string&>();
    double d = 0;
    const auto* end = s.data() + s.size();
    const auto [ptr, ec] = std::from_chars(s.data(), end, d);
    if (!s.empty() && ec == std::errc{} && ptr == end && std::isfinite(d)) return d;
    error("expected number, got string that is not a number");
    return std::nullopt;
  }
  wrong_type("number");
  return std::nullopt;
}

std::optional<bool> Reader::opt_bool() const {
  if (missing(false)) return std::nullopt;
  if (node_->is_boolean()) return node_->get<bool>();
  if (node_->is_string()) {
    const auto& s = node_->get_ref<const std::string&>();
    if (s == "true" || s == "True") return true;
    if (s == "false" || s == "False") return false;
  }
  wrong_type("boolean");
  return std::nullopt;
}

std::string Reader::str() const { return opt_str().value_or(std::string{}); }

std::optional<std::string> Reader::opt_str() const {
  if (missing(false)) return std::nullopt;
  if (!node_->is_string()) {
    wrong_type("string");
    return std::nullopt;
  }
  return node_->get<std::string>();
}

std::optional<std::string> Reader::req_str() const {
  if (missing(true)) return std::nullopt;
  return opt_str();
}

std::optional<std::string> Reader::opt_text() const {
  if (missing(false)) return std::nullopt;
  if (node_->is_string()) return node_->get<std::string>();
  if (node_->is_number_integer()) return node_->dump();
  wrong_type("string or integer");
  return std::nullopt;
}

std::optional<TimePoint> Reader::opt_time() const {
  const auto s = opt_str();
  if (!s) return std::nullopt;
  if (auto t = parse_timestamp(*s)) return t;
  error("expected RFC 3339 timestamp");
  return std::nullopt;
}

std::optional<TimePoint> Reader::req_time() const {
  if (missing(true)) return std::nullopt;
  return opt_time();
}

}  // namespace deployguard::parse::detail
