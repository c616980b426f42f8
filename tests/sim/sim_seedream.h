// The simulator's Seedream dialect, for requests under /seedream (the path prefix of an upstream
// pointed at the simulator as if it were ByteDance's Ark API): `response_format` defaults to
// "url", the image count comes from `sequential_image_generation: "auto"` and
// `sequential_image_generation_options.max_images` (no `n`), answers are
// {model, created, data:[{url|b64_json, size}], usage:{generated_images, output_tokens,
// total_tokens}}, and streams send one `image_generation.partial_succeeded` event per image (or
// `partial_failed` for the last one, with x-sim-fault: seedream-partial-failed), then
// `image_generation.completed` with the usage, then `data: [DONE]`. An `image` (reference URLs
// or data URIs, Seedream's way of editing) changes the result.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tests/sim/sim_images.h"

namespace arkroute::sim {

// Reads the Seedream fields of a request body already read by parseImageRequest into params;
// returns an error JSON body (status 400) on invalid input.
std::optional<std::string> applySeedreamFields(const std::string& body, ImageParams* params);

// The JSON answer; image_urls non-empty → url items.
std::string seedreamJson(ImageFactory& images, const ImageParams& params,
                         const std::vector<std::string>& image_urls);

// The SSE events, each a whole "event: …\ndata: …\n\n" block.
std::vector<std::string> seedreamEvents(ImageFactory& images, const ImageParams& params,
                                        const std::vector<std::string>& image_urls);

}  // namespace arkroute::sim
