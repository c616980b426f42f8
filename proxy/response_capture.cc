// Accumulation and the cacheability rule (200 + complete images JSON or completed SSE events).
#include "proxy/response_capture.h"

#include "proxy/image_response.h"

namespace arkroute {

ResponseCapture::ResponseCapture(bool stream, size_t limit, ImageEvents events)
    : stream_(stream), limit_(limit), sse_(limit, events) {}

void ResponseCapture::expectLength(uint64_t length) {
  constexpr uint64_t kMostReservedAhead = 64u << 20;  // a false length costs no more than this
  if (stream_ || overflowed_ || length > limit_ || length > kMostReservedAhead) return;
  body_.reserve(static_cast<size_t>(length) + kJsonPadding);
}

void ResponseCapture::append(std::string_view bytes) {
  if (overflowed_) return;
  if (stream_) {
    sse_.feed(bytes);
    return;
  }
  if (body_.size() + bytes.size() > limit_) {
    overflowed_ = true;
    body_.clear();
    body_.shrink_to_fit();
    return;
  }
  body_.append(bytes);
}

std::optional<ResponseCapture::Cacheable> ResponseCapture::takeCacheable(int status) {
  if (status != 200 || overflowed()) return std::nullopt;
  if (stream_) {
    std::optional<std::string> json = sse_.imagesJson();
    size_t images = json ? imageCount(*json) : 0;
    if (images == 0) return std::nullopt;
    return Cacheable{std::move(*json), images};
  }
  if (body_.capacity() - body_.size() < kJsonPadding) body_.reserve(body_.size() + kJsonPadding);
  size_t images = imageCount(body_);
  if (images == 0) return std::nullopt;
  return Cacheable{std::move(body_), images};
}

}  // namespace arkroute
