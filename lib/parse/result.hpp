#pragma once
// Result type shared by every parser in lib/parse. Parsers never throw on bad input: they return
// either a value or the list of problems found, each tagged with the JSON path it was found at.
#include <cassert>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace deployguard::parse {

/// One problem with an upstream document. `path` uses dots and brackets
/// ("workflow_runs[3].id"); it is empty for the document itself (e.g. invalid JSON).
/// Messages name types and positions, never the offending value, so they are safe to log even
/// when the document carries a token.
struct ParseError {
  std::string path;
  std::string message;

  std::string to_string() const { return path.empty() ? message : path + ": " + message; }
  friend bool operator==(const ParseError&, const ParseError&) = default;
};

/// Joins errors as "a.b: message; c[1]: message".
inline std::string to_string(const std::vector<ParseError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += "; ";
    out += e.to_string();
  }
  return out;
}

/// Value-or-errors result (std::expected is C++23). A failed Parsed holds at least one error.
/// Reading value() of a failed result is a programming error (asserts in debug builds).
template <class T>
class [[nodiscard]] Parsed {
 public:
  Parsed(T value) : state_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Parsed(ParseError error) : state_(std::vector<ParseError>{std::move(error)}) {}  // NOLINT
  Parsed(std::vector<ParseError> errors) : state_(std::move(errors)) {  // NOLINT
    assert(!std::get<1>(state_).empty());
  }

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  /// All errors; empty when ok().
  const std::vector<ParseError>& errors() const {
    static const std::vector<ParseError> kNone;
    return ok() ? kNone : std::get<1>(state_);
  }
  /// The first error; only valid when !ok().
  const ParseError& error() const {
    assert(!ok());
    return std::get<1>(state_).front();
  }
  /// All errors joined for logs and HTTP answers; "" when ok().
  std::string error_text() const { return to_string(errors()); }

 private:
  std::variant<T, std::vector<ParseError>> state_;
};

}  // namespace deployguard::parse
