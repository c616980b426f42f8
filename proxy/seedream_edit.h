// images.edit for a Seedream upstream (api = "seedream"). Seedream has no edits endpoint: an edit
// is a generation whose `image` field holds the reference images, so the client's form is sent to
// <base_url>/images/generations as that JSON.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proxy/api_error.h"
#include "proxy/http/multipart_form.h"

namespace arkroute::seedream {

// The generation JSON for an edit form (parts of body): its text fields (typed as
// readEditAsGeneration does), `model` set to upstream_model, `response_format` "b64_json" when
// b64_only, and `image`: each image file as a data URI (its Content-Type when it is an image/
// type, else the type its bytes show), a string for one, an array for several. A mask, no image,
// or a file of no known image type is a 400 naming the field.
std::variant<std::string, ApiError> editAsGeneration(std::string_view body,
                                                     const std::vector<http::FormPart>& parts,
                                                     std::string_view upstream_model,
                                                     bool b64_only);

}  // namespace arkroute::seedream
