// Lines for stderr from the HTTP layer and the gateway where a failure has nobody else to tell:
// an exception described in words, and one write(2) per line (no iostreams: this also runs with no
// file descriptor to spare, where a first use of std::cerr's machinery may need one).
#pragma once

#include <exception>
#include <string>
#include <string_view>

namespace arkroute::http {

// The exception's what(), or a note that it was not a std::exception.
std::string exceptionText(const std::exception_ptr& error);

// Writes line and a newline to stderr in one write(2); a failure to write is ignored.
void writeErrorLine(std::string line);

}  // namespace arkroute::http
