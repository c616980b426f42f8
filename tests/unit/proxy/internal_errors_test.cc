// answerInternalErrors: a request whose handling throws (a std::exception or anything else) gets
// an OpenAI-style 500 naming no internals (or is cut off when its answer had begun, or left alone
// when it was already answered), the cause goes to stderr, and the exception goes no further.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "proxy/internal_exchange.h"
#include "proxy/responses.h"

namespace arkroute {
namespace {

struct Answered {
  std::optional<InternalResponse> response;
  InternalExchange exchange;
  Answered()
      : exchange(nullptr, makeRequest(),
                 [this](InternalResponse answer) { response = std::move(answer); }) {}
  static http::Request makeRequest() {
    http::Request request;
    request.method = "POST";
    request.path = "/v1/images/generations";
    return request;
  }
};

TEST(InternalErrors, AThrowingHandlerIsAnswered500AndTheExceptionStopsThere) {
  Answered answered;
  EXPECT_NO_THROW(answerInternalErrors(answered.exchange, "req-boom-1", [] {
    throw std::runtime_error("[json.exception.type_error.316] secret-ish detail");
  }));
  ASSERT_TRUE(answered.response);
  EXPECT_EQ(answered.response->status, 500);
  EXPECT_EQ(answered.response->headers.get("x-request-id"), "req-boom-1");
  EXPECT_EQ(answered.response->headers.get("content-type"), "application/json");
  auto error = nlohmann::json::parse(answered.response->body)["error"];
  EXPECT_EQ(error["type"], "server_error");
  EXPECT_NE(error["message"].get<std::string>().find("internal error"), std::string::npos);
  EXPECT_EQ(answered.response->body.find("json.exception"), std::string::npos)
      << "what() goes to the log, not to the client";
}

TEST(InternalErrors, SomethingThrownThatIsNoStdExceptionIsAnswered500AndLogged) {
  Answered answered;
  ::testing::internal::CaptureStderr();
  EXPECT_NO_THROW(answerInternalErrors(answered.exchange, "req-boom-2", [] { throw 42; }));
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(answered.response);
  EXPECT_EQ(answered.response->status, 500);
  EXPECT_NE(log.find("arkroute: internal error on POST /v1/images/generations (request "
                     "req-boom-2): an exception that is not a std::exception"),
            std::string::npos)
      << log;
}

TEST(InternalErrors, AnAnswerAlreadyBegunIsCutOffNotCompleted) {
  Answered answered;
  answerInternalErrors(answered.exchange, "req-2", [&] {
    answered.exchange.startResponse(200, {}, 1000);
    answered.exchange.writeBody("{\"data\":[");
    throw std::logic_error("half way");
  });
  ASSERT_TRUE(answered.response);
  EXPECT_EQ(answered.response->status, 0);  // InternalExchange's mark of an aborted answer
}

TEST(InternalErrors, AnAnswerAlreadySentIsLeftAlone) {
  Answered answered;
  answerInternalErrors(answered.exchange, "req-2", [&] {
    sendJson(answered.exchange, 201, "{}", "req-1");
    throw std::runtime_error("after the answer");
  });
  ASSERT_TRUE(answered.response);
  EXPECT_EQ(answered.response->status, 201);
  EXPECT_EQ(answered.response->body, "{}");
}

TEST(InternalErrors, AHandlerThatReturnsIsUntouched) {
  Answered answered;
  int ran = 0;
  answerInternalErrors(answered.exchange, "req-2", [&] { ++ran; });
  EXPECT_EQ(ran, 1);
  EXPECT_FALSE(answered.response);
  EXPECT_FALSE(answered.exchange.responseStarted());
}

}  // namespace
}  // namespace arkroute
