// An OpenAI edit form as a Seedream generation: typed fields, the upstream model, the images as
// data URIs, and the forms Seedream cannot take refused with the field named.
#include "proxy/seedream_edit.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "proxy/image_response.h"

namespace arkroute::seedream {
namespace {

using nlohmann::json;

constexpr char kSeedreamBoundary[] = "seedream-edit-boundary";
const std::string kPngBytes("\x89PNG\r\n\x1a\n\x00\x01", 10);
const std::string kJpegBytes("\xff\xd8\xff\xe0\x00\x10", 6);

struct BuiltForm {
  std::string body;
  std::vector<http::FormPart> parts;
};

BuiltForm seedreamForm(const std::vector<http::FormField>& fields,
                       const std::vector<http::FormFile>& files) {
  BuiltForm form;
  form.body = http::buildForm(kSeedreamBoundary, fields, files).value();
  form.parts = std::get<std::vector<http::FormPart>>(http::parseForm(form.body, kSeedreamBoundary));
  return form;
}

json translated(const BuiltForm& form, bool b64_only = false) {
  auto body = editAsGeneration(form.body, form.parts, "seedream-4-5-251128", b64_only);
  if (auto* error = std::get_if<ApiError>(&body)) ADD_FAILURE() << error->message;
  return json::parse(std::get<std::string>(body));
}

std::string refusedParam(const BuiltForm& form) {
  auto body = editAsGeneration(form.body, form.parts, "m", false);
  const ApiError* error = std::get_if<ApiError>(&body);
  if (!error) return "not refused";
  EXPECT_EQ(error->status, 400);
  return error->param.value_or("");
}

TEST(SeedreamEdit, FieldsAreTypedAndTheImageIsADataUri) {
  BuiltForm form = seedreamForm({{"model", "seedream-4.5"},
                                 {"prompt", "make it dusk"},
                                 {"size", "2K"},
                                 {"seed", "42"},
                                 {"watermark", "false"},
                                 {"guidance_scale", "5.5"},
                                 {"stream", "true"},
                                 {"response_format", "url"}},
                                {{"image", "a.png", "image/png", kPngBytes}});
  json body = translated(form);
  EXPECT_EQ(body["model"], "seedream-4-5-251128");
  EXPECT_EQ(body["prompt"], "make it dusk");
  EXPECT_EQ(body["size"], "2K");
  EXPECT_EQ(body["seed"], 42);
  EXPECT_EQ(body["watermark"], false);
  EXPECT_DOUBLE_EQ(body["guidance_scale"].get<double>(), 5.5);
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["response_format"], "url");
  EXPECT_EQ(body["image"], "data:image/png;base64," + encodeBase64(kPngBytes));
  EXPECT_EQ(translated(form, true)["response_format"], "b64_json");
}

TEST(SeedreamEdit, SeveralImagesAreAnArrayTypedByTheirBytesWhenNotSaid) {
  BuiltForm form = seedreamForm({{"prompt", "p"}},
                                {{"image[]", "a.png", "image/PNG", kPngBytes},
                                 {"image[]", "b.jpg", "application/octet-stream", kJpegBytes}});
  json images = translated(form)["image"];
  ASSERT_TRUE(images.is_array());
  ASSERT_EQ(images.size(), 2u);
  EXPECT_EQ(images[0], "data:image/png;base64," + encodeBase64(kPngBytes));
  EXPECT_EQ(images[1], "data:image/jpeg;base64," + encodeBase64(kJpegBytes));
}

TEST(SeedreamEdit, FormsSeedreamCannotTakeAreRefusedNamingTheField) {
  http::FormFile png{"image", "a.png", "image/png", kPngBytes};
  EXPECT_EQ(refusedParam(
                seedreamForm({{"prompt", "p"}}, {png, {"mask", "m.png", "image/png", kPngBytes}})),
            "mask");
  EXPECT_EQ(refusedParam(seedreamForm({{"prompt", "p"}}, {})), "image");
  EXPECT_EQ(refusedParam(
                seedreamForm({{"prompt", "p"}}, {{"image", "notes.txt", "text/plain", "hello"}})),
            "image");
  EXPECT_EQ(refusedParam(seedreamForm({{"prompt", "p"}, {"image", "https://x/a.png"}}, {png})),
            "image")
      << "an image as a URL and as a file: the provider might read either";
  EXPECT_EQ(refusedParam(seedreamForm({{"prompt", "p"}, {"seed", "4x"}}, {png})), "seed");
  EXPECT_EQ(refusedParam(seedreamForm({{"prompt", "p"}, {"stream", "yes"}}, {png})), "stream");
  EXPECT_EQ(refusedParam(seedreamForm({{"prompt", "p"}, {"guidance_scale", "high"}}, {png})),
            "guidance_scale");
}

// A form's text is the client's bytes: text that is not UTF-8 is refused naming the field, as
// a JSON body's would be, never handed to a JSON library (whose strict dump throws on it).
TEST(SeedreamEdit, TextThatIsNotUtf8IsRefused) {
  const http::FormFile image{"image", "a.png", "image/png", kPngBytes};
  EXPECT_EQ(refusedParam(seedreamForm({{"prompt", "dusk \xff\xfe here"}}, {image})), "prompt");
  BuiltForm bad_name = seedreamForm({{"prompt", "dusk"}, {"x\xc3", "1"}}, {image});
  auto body = editAsGeneration(bad_name.body, bad_name.parts, "m", false);
  ASSERT_TRUE(std::holds_alternative<ApiError>(body)) << "a field name that is not UTF-8";
  EXPECT_EQ(std::get<ApiError>(body).status, 400);
  EXPECT_EQ(translated(seedreamForm({{"prompt", "crépuscule"}}, {image}))["prompt"], "crépuscule");
}

}  // namespace
}  // namespace arkroute::seedream
