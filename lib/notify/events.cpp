#include "notify/events.hpp"

#include <string>

namespace deployguard::notify {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// decision.change records carry {"safe", "reasons": ["code", ...]} as old and new.
bool has_reason(const nlohmann::json& verdict, std::string_view code) {
  if (!verdict.is_object()) return false;
  const auto it = verdict.find("reasons");
  if (it == verdict.end() || !it->is_array()) return false;
  for (const auto& reason : *it)
    if (reason.is_string() && reason.get_ref<const std::string&>() == code) return true;
  return false;
}

}  // namespace

std::string_view to_string(Category category) {
  switch (category) {
    case Category::Verdict: return "verdict";
    case Category::Queue: return "queue";
    case Category::Gate: return "gate";
    case Category::Freeze: return "freeze";
    case Category::Stop: return "stop";
    case Category::Override: return "override";
    case Category::SourceError: return "source_error";
  }
  return "?";
}

std::optional<Category> parse_category(std::string_view name) {
  for (const Category category : kAllCategories)
    if (to_string(category) == name) return category;
  return std::nullopt;
}

std::vector<Category> categories_of(const state::AuditRecord& record) {
  const std::string_view action = record.action;
  if (action == "decision.change") {
    std::vector<Category> out{Category::Verdict};
    if (has_reason(record.new_value, "source_error") && !has_reason(record.old_value, "source_error"))
      out.push_back(Category::SourceError);
    return out;
  }
  if (starts_with(action, "queue.")) return {Category::Queue};
  if (starts_with(action, "gate.")) return {Category::Gate};
  if (starts_with(action, "freeze.")) return {Category::Freeze};
  if (action == "stop") return {Category::Stop};
  if (starts_with(action, "override.")) return {Category::Override};
  return {};
}

}  // namespace deployguard::notify
