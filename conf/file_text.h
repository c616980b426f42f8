// Reading a whole small file the config names (the config itself, a provider key file) with a
// clear reason when it cannot be read: never an exception (a directory), and, for a file that must
// be regular, never a wait on a FIFO with no writer (a reload would hang on it).
#pragma once

#include <optional>
#include <string>

namespace arkroute {

enum class FileKind { kAny, kRegular };

// The file's bytes, or nullopt with *why set ("is a directory", "is not a regular file", or the
// system's reason, e.g. "No such file or directory").
std::optional<std::string> readFileText(const std::string& path, FileKind kind, std::string* why);

}  // namespace arkroute
