// Accumulation and the cacheability rule (200 + complete images JSON or completed SSE events).
#include "proxy/response_capture.h"

#include "proxy/image_response.h"

namespace arkroute {

ResponseCapture::ResponseCapture(bool stream, size_t limit)
    : stream_(stream), limit_(limit), sse_(limit) {}

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

std::optional<std::string> ResponseCapture::cacheableBody(int status) const {
  if (status != 200 || overflowed_) return std::nullopt;
  if (stream_) return sse_.imagesJson();
  if (!isCacheableImagesJson(body_)) return std::nullopt;
  return body_;
}

}  // namespace arkroute
