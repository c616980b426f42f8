// One access-log line: a RequestRecord as a single JSON object (no newline inside), fields in a
// fixed order. It carries only what the record carries: never a request or response body, never a
// header value, and the prompt only when the caller asks for it (log.prompts = true) and the
// record has one; otherwise the prompt is known only by its SHA-256.
#pragma once

#include <cstdint>
#include <string>

#include "proxy/request_record.h"

namespace arkroute::ops {

// The JSON line, terminated by '\n'. The prompt is written when the record carries it, which it
// does only while log.prompts is on (read per request, so a reload turns it on or off).
std::string formatAccessLogLine(const RequestRecord& record);

// RFC 3339 UTC with milliseconds: "2026-11-29T20:10:42.123Z".
std::string formatRfc3339Millis(int64_t ms_since_epoch);

}  // namespace arkroute::ops
