// Unit tests for multipart/form-data parsing (proxy/http/multipart_form.cc).
#include "proxy/http/multipart_form.h"

#include <gtest/gtest.h>

namespace arkroute::http {
namespace {

constexpr std::string_view kBoundary = "XyZ-42";

// A form body with the given parts, each "headers\r\n\r\ncontents", as an SDK lays it out.
std::string form(std::initializer_list<std::string> parts) {
  std::string body;
  for (const std::string& part : parts) {
    body += "--" + std::string(kBoundary) + "\r\n" + part + "\r\n";
  }
  return body + "--" + std::string(kBoundary) + "--\r\n";
}

std::string field(const std::string& name, const std::string& value) {
  return "Content-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value;
}

std::vector<FormPart> partsOf(std::string_view body) {
  auto parsed = parseForm(body, kBoundary);
  EXPECT_TRUE(std::holds_alternative<std::vector<FormPart>>(parsed))
      << std::get<std::string>(parsed);
  return std::holds_alternative<std::vector<FormPart>>(parsed)
             ? std::get<std::vector<FormPart>>(parsed)
             : std::vector<FormPart>{};
}

std::string errorOf(std::string_view body) {
  auto parsed = parseForm(body, kBoundary);
  EXPECT_TRUE(std::holds_alternative<std::string>(parsed)) << body;
  return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "";
}

TEST(FormBoundary, ReadsTheBoundaryQuotedOrNot) {
  EXPECT_EQ(formBoundary("multipart/form-data; boundary=abc-1"), "abc-1");
  EXPECT_EQ(formBoundary("Multipart/Form-Data;boundary=\"a b:c\""), "a b:c");
  EXPECT_EQ(formBoundary("multipart/form-data; charset=utf-8; BOUNDARY=z"), "z");
}

TEST(FormBoundary, RefusesOtherTypesAndBadBoundaries) {
  EXPECT_FALSE(formBoundary("application/json"));
  EXPECT_FALSE(formBoundary("multipart/form-data"));
  EXPECT_FALSE(formBoundary("multipart/mixed; boundary=abc"));
  EXPECT_FALSE(formBoundary("multipart/form-data; boundary="));
  EXPECT_FALSE(formBoundary("multipart/form-data; boundary=\"unterminated"));
  EXPECT_FALSE(formBoundary("multipart/form-data; boundary=a; boundary=b"));
  EXPECT_FALSE(formBoundary("multipart/form-data; boundary=\"ends with space \""));
  EXPECT_FALSE(formBoundary("multipart/form-data; boundary=\"semi;colon\""));
  EXPECT_FALSE(formBoundary("multipart/form-data; boundary=" + std::string(71, 'a')));
  EXPECT_TRUE(formBoundary("multipart/form-data; boundary=" + std::string(70, 'a')));
}

TEST(ParseForm, SplitsPartsWithTheirNamesFilenamesAndContents) {
  std::string body = form({field("model", "gpt-image-1"),
                           "Content-Disposition: form-data; name=\"image[]\"; filename=\"a b.png\""
                           "\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n--XyZ-4",
                           field("prompt", "")});
  auto parts = partsOf(body);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].name, "model");
  EXPECT_EQ(parts[0].value(body), "gpt-image-1");
  EXPECT_FALSE(parts[0].filename);
  EXPECT_EQ(parts[1].name, "image[]");
  EXPECT_EQ(parts[1].filename, "a b.png");
  EXPECT_EQ(parts[1].content_type, "image/png");
  EXPECT_EQ(parts[1].value(body), "\x89PNG\r\n\x1a\n--XyZ-4");  // a near-delimiter stays contents
  EXPECT_EQ(parts[2].name, "prompt");
  EXPECT_EQ(parts[2].value(body), "");
}

TEST(ParseForm, IgnoresAPreambleAndAnEpilogue) {
  std::string body = "preamble text\r\n" + form({field("n", "2")}) + "epilogue";
  auto parts = partsOf(body);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].value(body), "2");
}

TEST(ParseForm, ReadsEscapedQuotesInNames) {
  std::string body = form({"Content-Disposition: form-data; name=\"a\\\"b\"\r\n\r\nv"});
  auto parts = partsOf(body);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].name, "a\"b");
}

TEST(ParseForm, RefusesBrokenStructure) {
  EXPECT_NE(errorOf("no boundary here").find("boundary"), std::string::npos);
  std::string whole = form({field("model", "m")});
  EXPECT_NE(errorOf(whole.substr(0, whole.size() - 12)).find("closing boundary"),
            std::string::npos);
  EXPECT_NE(errorOf("--XyZ-42junk\r\n" + field("a", "b") + "\r\n--XyZ-42--").find("CRLF"),
            std::string::npos);
  EXPECT_NE(errorOf("--XyZ-42\r\nContent-Disposition: form-data; name=\"a\"\r\nvalue"
                    "\r\n--XyZ-42--")
                .find("headers"),
            std::string::npos);
}

TEST(ParseForm, RefusesWhatAProviderCouldReadAsOtherFields) {
  // A bare-LF "boundary" inside a part: contents here, a model part to a lenient parser.
  std::string hidden = form({field("prompt",
                                   "hi\n--XyZ-42\nContent-Disposition: form-data; "
                                   "name=\"model\"\n\nexpensive-model")});
  EXPECT_NE(errorOf(hidden).find("hold the boundary"), std::string::npos);
  std::string encoded =
      form({"Content-Disposition: form-data; name=\"model\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\nZ3B0LWltYWdlLTE="});
  EXPECT_NE(errorOf(encoded).find("Content-Transfer-Encoding"), std::string::npos);
}

// The one-pass search: the first "--boundary" after a part's contents must follow a CRLF.
TEST(ParseForm, ABoundaryNotAfterACrlfIsInsideThePart) {
  for (const char* contents : {"--XyZ-42", "a\r--XyZ-42", "a\n--XyZ-42", "a--XyZ-42\r\n"}) {
    EXPECT_NE(errorOf(form({field("prompt", contents)})).find("hold the boundary"),
              std::string::npos)
        << contents;
  }
  auto parsed = parseForm(form({field("empty", ""), field("b", "x")}), "XyZ-42");
  ASSERT_TRUE(std::holds_alternative<std::vector<FormPart>>(parsed));
  const auto& parts = std::get<std::vector<FormPart>>(parsed);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].value_length, 0u);
  EXPECT_EQ(parts[1].value_length, 1u);
}

TEST(ParseForm, RefusesPartsWithoutAUsableDisposition) {
  EXPECT_NE(errorOf(form({"Content-Type: text/plain\r\n\r\nv"})).find("Content-Disposition"),
            std::string::npos);
  for (std::string disposition :
       {"attachment; name=\"a\"", "form-data", "form-data; filename=\"f\"", "form-data; name=\"\"",
        "form-data; name=\"a\"; name=\"b\"", "form-data; name=\"a"}) {
    std::string body = form({"Content-Disposition: " + disposition + "\r\n\r\nv"});
    EXPECT_NE(errorOf(body).find("Content-Disposition"), std::string::npos) << disposition;
  }
  std::string twice =
      form({"Content-Disposition: form-data; name=\"a\"\r\nContent-Disposition: "
            "form-data; name=\"b\"\r\n\r\nv"});
  EXPECT_NE(errorOf(twice).find("Content-Disposition"), std::string::npos);
}

TEST(ParseForm, RefusesMoreThanSixtyFourParts) {
  std::vector<std::string> many(65, field("image[]", "x"));
  std::string body;
  for (const std::string& part : many) body += "--XyZ-42\r\n" + part + "\r\n";
  body += "--XyZ-42--\r\n";
  EXPECT_NE(errorOf(body).find("more than 64"), std::string::npos);
  many.pop_back();
  std::string fits;
  for (const std::string& part : many) fits += "--XyZ-42\r\n" + part + "\r\n";
  EXPECT_EQ(partsOf(fits + "--XyZ-42--").size(), 64u);
}

std::string fileField(const std::string& name, const std::string& value,
                      const std::string& filename = "in.png") {
  return "Content-Disposition: form-data; name=\"" + name + "\"; filename=\"" + filename +
         "\"\r\nContent-Type: image/png\r\n\r\n" + value;
}

TEST(SetFormFields, ReplacesOnlyThatPartsContents) {
  std::string body = form({field("prompt", "p"), field("model", "short"), field("n", "1")});
  auto parts = partsOf(body);
  ASSERT_EQ(parts.size(), 3u);
  auto replaced = setFormFields(body, kBoundary, parts, {{"model", "a-much-longer-model-name"}});
  ASSERT_TRUE(replaced);
  EXPECT_EQ(*replaced, form({field("prompt", "p"), field("model", "a-much-longer-model-name"),
                             field("n", "1")}));
  auto again = partsOf(*replaced);
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[1].value(*replaced), "a-much-longer-model-name");
}

// Two parts change length in one pass, named in the other order than they come: every other byte
// stays where it was relative to its neighbours.
TEST(SetFormFields, ReplacesSeveralPartsWhateverOrderTheyAreNamedIn) {
  std::string body = form({field("model", "m"), field("prompt", "p"),
                           field("response_format", "url"), fileField("image[]", "\x89PNG")});
  auto replaced = setFormFields(body, kBoundary, partsOf(body),
                                {{"response_format", "b64_json"}, {"model", "upstream-model-2"}});
  ASSERT_TRUE(replaced);
  EXPECT_EQ(*replaced,
            form({field("model", "upstream-model-2"), field("prompt", "p"),
                  field("response_format", "b64_json"), fileField("image[]", "\x89PNG")}));
}

// A field the form lacks is added as the last part, and the result parses again.
TEST(SetFormFields, AddsAFieldTheFormLacksAfterTheLastPart) {
  std::string body = form({field("prompt", "p"), fileField("image[]", "bytes")});
  auto set = setFormFields(body, kBoundary, partsOf(body),
                           {{"response_format", "b64_json"}, {"prompt", "q"}});
  ASSERT_TRUE(set);
  EXPECT_EQ(*set, form({field("prompt", "q"), fileField("image[]", "bytes"),
                        field("response_format", "b64_json")}));
  auto parts = partsOf(*set);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[2].name, "response_format");
  EXPECT_FALSE(parts[2].filename);
}

TEST(SetFormFields, RefusesWhatCouldNotBeReadBackAsTheSameFields) {
  std::string body = form({field("model", "m")});
  auto parts = partsOf(body);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_FALSE(setFormFields(body, kBoundary, parts, {{"model", "x\r\n--XyZ-42--\r\n"}}));
  EXPECT_FALSE(setFormFields(body, kBoundary, parts, {{"new", "x--XyZ-42"}}));
  EXPECT_FALSE(setFormFields(body, kBoundary, parts, {{"a\"b", "x"}}));
  EXPECT_FALSE(setFormFields(body, kBoundary, parts, {{"a\r\nb", "x"}}));
  EXPECT_FALSE(setFormFields("", kBoundary, {}, {{"model", "m"}})) << "no parts: no place to add";
  EXPECT_EQ(setFormFields(body, kBoundary, parts, {}), body);
}

// A built form reads back as the same fields and files, in order.
TEST(BuildForm, ReadsBackAsItsFieldsThenItsFiles) {
  const std::string png("\x89PNG\r\n\x1a\n\0\r\n--", 13);
  auto built = buildForm(kBoundary, {{"prompt", "add a hat"}, {"n", "2"}},
                         {{"image[]", "image-1.png", "image/png", png},
                          {"image[]", "image-2.png", "image/png", "second"}});
  ASSERT_TRUE(built);
  EXPECT_EQ(*built, form({field("prompt", "add a hat"), field("n", "2"),
                          fileField("image[]", png, "image-1.png"),
                          fileField("image[]", "second", "image-2.png")}));
  auto parts = partsOf(*built);
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[0].value(*built), "add a hat");
  EXPECT_EQ(parts[2].filename, "image-1.png");
  EXPECT_EQ(parts[2].content_type, "image/png");
  EXPECT_EQ(parts[2].value(*built), png);
  EXPECT_EQ(parts[3].value(*built), "second");
}

TEST(BuildForm, RefusesContentsHoldingTheBoundaryAndUnwritableHeaders) {
  EXPECT_FALSE(buildForm(kBoundary, {{"prompt", "a\r\n--XyZ-42 b"}}, {}));
  EXPECT_FALSE(buildForm(kBoundary, {}, {{"image[]", "a.png", "image/png", "x--XyZ-42"}}));
  EXPECT_FALSE(buildForm(kBoundary, {{"a\"b", "v"}}, {}));
  EXPECT_FALSE(buildForm(kBoundary, {}, {{"image[]", "a\r\n.png", "image/png", "x"}}));
  EXPECT_FALSE(buildForm(kBoundary, {}, {{"image[]", "a.png", "image/png\r\nX: y", "x"}}));
}

}  // namespace
}  // namespace arkroute::http
