#pragma once
// Escaping of untrusted values (HTTP header values, webhook payload fields, upstream error
// texts) before they go into a log line, so no value can end the line, start a forged one,
// drive the terminal or break out of a quoted key="value" pair.
#include <string>
#include <string_view>

namespace deployguard::logging {

/// `value` with every byte that could forge or garble a log line replaced by a visible escape:
/// \n \r \t, `\"` and `\\` (so a value logged as key="{}" cannot close its quotes), other ASCII
/// control characters and DEL as \xNN (ESC is \x1b), the C1 controls and the Unicode line and
/// paragraph separators (U+0080..U+009F, U+2028, U+2029) as \u0085 style, and bytes that are not
/// valid UTF-8 as \xNN. Printable ASCII and other valid UTF-8 pass through unchanged, so an
/// ordinary value reads as itself. Pure, never throws except std::bad_alloc.
///
/// Both log formats get the escaped text: the JSON format quotes the whole message again, so a
/// JSON reader sees the same `\n` a text reader does.
std::string escape(std::string_view value);

}  // namespace deployguard::logging
