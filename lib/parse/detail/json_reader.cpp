#include "parse/detail/json_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include <simdjson.h>

namespace deployguard::parse::detail {

using nlohmann::json;

void ErrorSink::add(std::string path, std::string message) {
  // A hostile document could repeat one bad field a million times; a few errors tell the story.
  constexpr std::size_t kMaxErrors = 32;
  if (errors_.size() < kMaxErrors) errors_.push_back({std::move(path), std::move(message)});
}

KeyFilter::KeyFilter(std::initializer_list<std::span<const std::string_view>> key_lists) {
  for (const auto& list : key_lists) {
    for (const std::string_view key : list) {
      // Longer keys than kMaxLength would never match; a filter listing one is a programming error.
      if (key.size() > kMaxLength) std::abort();
      auto& bucket = by_length_[key.size()];
      if (std::find(bucket.begin(), bucket.end(), key) == bucket.end()) bucket.push_back(key);
    }
  }
}

bool KeyFilter::contains(std::string_view key) const noexcept {
  if (key.size() > kMaxLength) return false;
  for (const std::string_view candidate : by_length_[key.size()])
    if (std::memcmp(candidate.data(), key.data(), key.size()) == 0) return true;
  return false;
}

namespace {

// simdjson DOM -> nlohmann tree. Recursion is bounded by simdjson's maximum depth (1024): deeper
// documents fail to parse and go to the reference parser instead.
json convert(simdjson::dom::element element, const KeyFilter* keep) {
  using simdjson::dom::element_type;
  switch (element.type()) {
    case element_type::OBJECT: {
      const simdjson::dom::object object = element.get_object().value_unsafe();
      json out(json::value_t::object);
      auto& members = out.get_ref<json::object_t&>();
      for (const auto field : object) {
        if (keep != nullptr && !keep->contains(field.key)) continue;
        // insert_or_assign: a repeated key keeps its last value, as nlohmann's parser does.
        members.insert_or_assign(std::string(field.key), convert(field.value, keep));
      }
      return out;
    }
    case element_type::ARRAY: {
      const simdjson::dom::array array = element.get_array().value_unsafe();
      json out(json::value_t::array);
      auto& items = out.get_ref<json::array_t&>();
      items.reserve(array.size());  // a hint: size() saturates for huge arrays
      for (const auto item : array) items.push_back(convert(item, keep));
      return out;
    }
    case element_type::STRING:
      return json(std::string(element.get_string().value_unsafe()));
    case element_type::INT64: {
      // nlohmann stores a literal without '-' as unsigned and one with '-' as signed; simdjson
      // keeps everything that fits as int64. ("-0" becomes unsigned 0 here, signed 0 there: the
      // same value to every reader.)
      const std::int64_t v = element.get_int64().value_unsafe();
      if (v >= 0) return json(static_cast<json::number_unsigned_t>(v));
      return json(static_cast<json::number_integer_t>(v));
    }
    case element_type::UINT64:
      return json(static_cast<json::number_unsigned_t>(element.get_uint64().value_unsafe()));
    case element_type::DOUBLE:
      return json(static_cast<json::number_float_t>(element.get_double().value_unsafe()));
    case element_type::BOOL:
      return json(element.get_bool().value_unsafe());
    case element_type::NULL_VALUE:
      return json(nullptr);
  }
  return json(nullptr);  // unreachable: every element_type is handled above
}

// Documents up to this size are parsed with the thread's reused parser; larger ones with a
// parser of their own, so a thread does not keep ~10x the largest body it ever saw allocated.
constexpr std::size_t kReusedParserMaxBytes = std::size_t{1} << 20;

std::optional<json> parse_with_simdjson(std::string_view body, const KeyFilter* keep) {
  // parse(..., realloc_if_needed = true) copies the body into the parser's own padded buffer
  // (SIMDJSON_PADDING bytes past the end), reused across calls: the caller's buffer needs none.
  const auto parse = [&](simdjson::dom::parser& parser) -> std::optional<json> {
    simdjson::dom::element root;
    if (parser.parse(body.data(), body.size(), true).get(root) != simdjson::SUCCESS)
      return std::nullopt;
    return convert(root, keep);
  };
  if (body.size() > kReusedParserMaxBytes) {
    simdjson::dom::parser parser;
    return parse(parser);
  }
  thread_local simdjson::dom::parser parser;
  return parse(parser);
}

}  // namespace

Parsed<json> parse_document_reference(std::string_view body) {
  try {
    return json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    return ParseError{"", "invalid JSON at byte " + std::to_string(e.byte)};
  } catch (const std::exception&) {
    return ParseError{"", "invalid JSON"};
  }
}

Parsed<json> parse_document(std::string_view body, const KeyFilter* keep) {
  try {
    if (auto doc = parse_with_simdjson(body, keep)) return std::move(*doc);
  } catch (const std::exception&) {
    return ParseError{"", "internal error while reading document"};  // allocation failure
  }
  // Rejected (or too deep for simdjson): the reference parser decides, which keeps the error
  // message with its byte offset and accepts exactly what was accepted before. Only invalid
  // input pays for the second parse.
  return parse_document_reference(body);
}

namespace testing {

ReaderProbe*& probe() {
  thread_local ReaderProbe* current = nullptr;
  return current;
}

void record_lookup(const std::string& path, const json* node) {
  ReaderProbe* p = probe();
  if (p == nullptr) return;
  std::string entry = path + " = ";
  if (node == nullptr) {
    entry += "absent";
  } else {
    entry += std::to_string(static_cast<int>(node->type())) + ":";
    if (node->is_object())
      entry += "object";
    else if (node->is_array())
      entry += "array[" + std::to_string(node->size()) + "]";
    else
      entry += node->dump();
  }
  p->lookups.push_back(std::move(entry));
}

}  // namespace testing

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
  const json* child = nullptr;
  if (node_ != nullptr && node_->is_object()) {
    const auto it = node_->find(key);
    if (it != node_->end()) child = &*it;
  }
  if (auto* p = testing::probe(); p != nullptr) [[unlikely]] {
    p->keys_looked_up.emplace_back(key);
    testing::record_lookup(child_path, child);
  }
  return Reader(child, std::move(child_path), *sink_);
}

Reader Reader::operator[](std::size_t index) const {
  std::string child_path = path_ + "[" + std::to_string(index) + "]";
  const json* child = nullptr;
  if (node_ != nullptr && node_->is_array() && index < node_->size()) child = &(*node_)[index];
  if (testing::probe() != nullptr) [[unlikely]] testing::record_lookup(child_path, child);
  return Reader(child, std::move(child_path), *sink_);
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
