#pragma once
// Internal to lib/parse: a cursor over a nlohmann::json tree that knows its JSON path and records
// every type problem into an ErrorSink instead of throwing. Accessors follow one convention:
//   opt_*  absent or null -> nullopt, no error; wrong type -> error + nullopt
//   req_*  absent or null -> "missing" error;  wrong type -> error; both give nullopt
//   str()  absent or null -> "";               wrong type -> error + ""
// Numbers are accepted as JSON numbers or as decimal strings (the services send both).
#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/time.hpp"
#include "parse/result.hpp"

namespace deployguard::parse::detail {

class ErrorSink {
 public:
  void add(std::string path, std::string message);
  bool empty() const { return errors_.empty(); }
  std::size_t size() const { return errors_.size(); }
  std::vector<ParseError> take() { return std::move(errors_); }

 private:
  std::vector<ParseError> errors_;
};

/// The object keys a reader can look up. parse_document drops every object member whose key is
/// not in the filter, at any depth, before it is materialized; arrays and scalars are kept. A
/// reader that only looks values up by key (Reader::operator[]) and indexes arrays therefore
/// sees exactly what it would see in the complete tree, as long as every key it asks for is
/// listed. Nothing that enumerates object members may read a filtered tree.
class KeyFilter {
 public:
  /// The union of the given key lists. The strings must outlive the filter (string literals).
  KeyFilter(std::initializer_list<std::span<const std::string_view>> key_lists);

  bool contains(std::string_view key) const noexcept;

 private:
  // Keys grouped by length: a lookup compares a handful of candidates of the right length, which
  // is cheaper than hashing for the short keys of REST payloads.
  static constexpr std::size_t kMaxLength = 48;
  std::array<std::vector<std::string_view>, kMaxLength + 1> by_length_;
};

/// Parses a document without throwing. Valid documents are parsed with simdjson (full
/// validation, UTF-8 included) and converted into a nlohmann tree; with `keep`, object members
/// with other keys are left out. A document simdjson rejects is parsed again with
/// parse_document_reference, so rejected input gives that function's result: its byte-offset
/// error, or the complete tree for what nlohmann accepts beyond simdjson's limits (nesting
/// deeper than 1024, integers beyond 64 bits). The error message
/// carries the byte offset only: nlohmann's own message quotes the last token read, which may be
/// part of a secret. Thread-safe: each thread reuses its own simdjson parser.
Parsed<nlohmann::json> parse_document(std::string_view body, const KeyFilter* keep = nullptr);

/// The pure nlohmann parse (the parser used before simdjson): always the complete tree.
Parsed<nlohmann::json> parse_document_reference(std::string_view body);

namespace testing {
/// Test seam. While a probe is installed on a thread, read_document records every value a
/// Reader looks up on that thread and the filter the document was parsed with, and read_body can
/// be switched to the reference parser without a filter. Production code never installs one; the
/// cost there is one thread-local load per lookup.
struct ReaderProbe {
  bool reference_parser = false;           // read_body: parse_document_reference, no filter
  const KeyFilter* filter = nullptr;       // set by read_body: the filter in use (or nullptr)
  std::vector<std::string> lookups;        // "path = summary of the value found" in read order
  std::vector<std::string> keys_looked_up;  // every key passed to Reader::operator[]
};
ReaderProbe*& probe();

/// Installs `p` on this thread for the scope of the object.
class ScopedProbe {
 public:
  explicit ScopedProbe(ReaderProbe& p) : previous_(probe()) { probe() = &p; }
  ~ScopedProbe() { probe() = previous_; }
  ScopedProbe(const ScopedProbe&) = delete;
  ScopedProbe& operator=(const ScopedProbe&) = delete;

 private:
  ReaderProbe* previous_;
};

/// Records the value found at `path` (called by Reader lookups while a probe is installed).
void record_lookup(const std::string& path, const nlohmann::json* node);
}  // namespace testing

class Reader {
 public:
  Reader(const nlohmann::json* node, std::string path, ErrorSink& sink)
      : node_(node), path_(std::move(path)), sink_(&sink) {}

  const std::string& path() const { return path_; }
  const nlohmann::json* raw() const { return node_; }
  bool absent_or_null() const { return node_ == nullptr || node_->is_null(); }

  /// Child by key; an absent child when this is not an object or lacks the key.
  Reader operator[](std::string_view key) const;
  /// Array element; an absent child when out of range or not an array.
  Reader operator[](std::size_t index) const;

  /// True when this is an object; errors on a wrong type (and, for req_, on absent/null).
  bool opt_object() const;
  bool req_object() const;
  /// Number of elements when this is an array; nullopt when absent/null (req_: error).
  std::optional<std::size_t> opt_array() const;
  std::optional<std::size_t> req_array() const;

  std::optional<std::int64_t> opt_int64() const;
  std::optional<std::int64_t> req_int64() const;
  /// int range-checked (weights, replicas, attempts).
  std::optional<int> opt_int() const;
  std::optional<double> opt_number() const;
  std::optional<bool> opt_bool() const;

  std::string str() const;
  std::optional<std::string> opt_str() const;
  std::optional<std::string> req_str() const;
  /// A string, or a number rendered as decimal text (PostgreSQL "version": "16" or 16).
  std::optional<std::string> opt_text() const;

  std::optional<TimePoint> opt_time() const;
  std::optional<TimePoint> req_time() const;

  void error(std::string message) const { sink_->add(path_, std::move(message)); }
  ErrorSink& sink() const { return *sink_; }

 private:
  bool missing(bool required) const;  // absent/null; records "missing" when required
  void wrong_type(std::string_view expected) const;

  const nlohmann::json* node_;
  std::string path_;
  ErrorSink* sink_;
};

/// Parses a decimal integer that must span the whole text (no sign other than '-', no spaces).
std::optional<std::int64_t> parse_int64_text(std::string_view text);

/// Runs `fn(Reader root)` on a parsed document and turns the collected errors into a Parsed.
/// Exceptions cannot escape: the readers do not throw, and anything else (allocation failure) is
/// reported as an error so the public API keeps its no-throw promise.
template <class T, class Fn>
Parsed<T> read_document(const nlohmann::json& doc, Fn&& fn) {
  try {
    ErrorSink sink;
    if (testing::probe() != nullptr) testing::record_lookup("", &doc);
    Reader root(&doc, "", sink);
    T value = fn(root);
    if (!sink.empty()) return Parsed<T>(sink.take());
    return Parsed<T>(std::move(value));
  } catch (const std::exception&) {
    return Parsed<T>(ParseError{"", "internal error while reading document"});
  }
}

/// parse_document + read_document. With `keep`, `fn` must look up only keys the filter lists
/// (see KeyFilter).
template <class T, class Fn>
Parsed<T> read_body(std::string_view body, Fn&& fn, const KeyFilter* keep = nullptr) {
  auto* const test_probe = testing::probe();
  if (test_probe != nullptr) test_probe->filter = test_probe->reference_parser ? nullptr : keep;
  auto doc = test_probe != nullptr && test_probe->reference_parser
                 ? parse_document_reference(body)
                 : parse_document(body, keep);
  if (!doc) return Parsed<T>(doc.errors());
  return read_document<T>(*doc, std::forward<Fn>(fn));
}

// Reads a list page: `items_key` is required; each item is read with its own sink so one bad
// item is reported and skipped instead of failing the page.
template <class Item, class ReadItem>
std::vector<Item> read_items(const Reader& root, std::string_view items_key, ReadItem read_item,
                             std::vector<ParseError>& item_errors) {
  std::vector<Item> items;
  const Reader list = root[items_key];
  const auto n = list.req_array();
  if (!n) return items;
  items.reserve(*n);
  for (std::size_t i = 0; i < *n; ++i) {
    ErrorSink item_sink;
    const Reader item(list[i].raw(), list[i].path(), item_sink);
    Item value = read_item(item);
    if (item_sink.empty()) {
      items.push_back(std::move(value));
    } else {
      constexpr std::size_t kMaxItemErrors = 64;  // enough to diagnose, bounded for hostile input
      for (auto& e : item_sink.take())
        if (item_errors.size() < kMaxItemErrors) item_errors.push_back(std::move(e));
    }
  }
  return items;
}

}  // namespace deployguard::parse::detail
