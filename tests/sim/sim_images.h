// The simulator's OpenAI Images logic: request validation (OpenAI-style errors), deterministic
// generation of responses (JSON and SSE events), the usage block, and a small LRU of built bodies
// so benchmarks are not bound by PNG and base64 work.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace arkroute::sim {

struct ImageParams {
  std::string prompt, model, size = "1024x1024", quality = "auto", background = "auto";
  std::string output_format = "png", response_format = "b64_json", seed;
  int n = 1;
  int partial_images = 0;
  bool stream = false;
  std::string event_kind = "image_generation";  // SSE event prefix; edits: "image_edit"
  bool seedream = false;                        // answered in Seedream's dialect (sim_seedream.h)
  bool seedream_fail_last = false;              // its stream's last image is a partial_failed event
};

// Parses a request body; returns an error JSON body (status 400) on invalid input.
std::optional<std::string> parseImageRequest(const std::string& body, ImageParams* out);
// The same for an edit's multipart/form-data body (sim_edits.cc): its images (any bytes) are
// hashed into the seed, so another image gives another, still deterministic, result.
std::optional<std::string> parseEditRequest(const std::string& body,
                                            const std::string& content_type, ImageParams* out);
// The picture's width and height for a request's size: "WxH" as given, a Kling "A:B/1k|2k" with
// its longer side 1024 or 2048, Seedream's "1K"/"2K"/"4K" squares, anything else ("auto", a name)
// 1024x1024. makePng clamps each side.
std::pair<int, int> pictureSize(std::string_view size);
// An OpenAI-style error body.
std::string errorJson(const std::string& message, const std::string& param);

class ImageFactory {
 public:
  explicit ImageFactory(size_t payload_bytes) : payload_bytes_(payload_bytes) {}
  // base64 of image `index` for params (cached).
  const std::string& imageBase64(const ImageParams& params, int index);
  // A smaller, different valid PNG for partial image `index`.
  std::string partialBase64(const ImageParams& params, int index);
  // The whole JSON response; image_urls non-empty → url items instead of b64_json.
  std::string jsonResponse(const ImageParams& params, const std::vector<std::string>& image_urls);
  // SSE events: partials then completed events.
  std::vector<std::string> streamEvents(const ImageParams& params,
                                        const std::vector<std::string>& image_urls);
  // Identity of image `index` (for URL ids).
  static std::string imageKey(const ImageParams& params, int index);
  std::string pngForKey(const std::string& key);

 private:
  std::string usageJson(const ImageParams& params) const;
  size_t payload_bytes_;
  std::map<std::string, std::string> cache_;
  std::list<std::string> order_;
};

inline constexpr int64_t kCreated = 1767225600;

}  // namespace arkroute::sim
