// The one table of every config setting: section, key, type, default and a doc line. The loader
// rejects keys that are not in it (with a did-you-mean), checks each value's type against it, and
// docs/CONFIG.md is rendered from it (a unit test keeps the two in sync).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace arkroute {

enum class SettingType {
  kString,
  kInteger,
  kNumber,
  kBoolean,
  kDuration,
  kByteSize,
  kStringList,
  kTable
};

struct Setting {
  std::string_view section;  // "server", "upstream", "model", "model.price", ...
  std::string_view key;
  SettingType type;
  std::string_view default_text;
  std::string_view doc;
};

const std::vector<Setting>& configSchema();
const Setting* findSetting(std::string_view section, std::string_view key);
std::string_view toString(SettingType type);
// The closest known key in section (edit distance ≤ 2), or "" when none is close.
std::string suggestKey(std::string_view section, std::string_view key);
// Markdown reference of every setting, one table per section (the content of docs/CONFIG.md).
std::string renderConfigReference();

}  // namespace arkroute
