// ResponseTail: it holds the last 4096 bytes of what was appended, whatever the pieces' sizes.
#include "proxy/response_tail.h"

#include <event2/buffer.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace arkroute {
namespace {

std::string numbered(size_t length, size_t from) {
  std::string text;
  for (size_t i = 0; i < length; ++i) text += static_cast<char>('a' + (from + i) % 26);
  return text;
}

using Buffer = std::unique_ptr<evbuffer, decltype(&evbuffer_free)>;

TEST(ResponseTail, KeepsTheLastBytesOfPiecesOfAnySize) {
  ResponseTail tail;
  std::string all;
  for (size_t length : {10u, 3000u, 2000u, 1u, 5000u, 4096u, 7u}) {
    std::string piece = numbered(length, all.size());
    Buffer buffer(evbuffer_new(), evbuffer_free);
    evbuffer_add(buffer.get(), piece.data(), piece.size());
    tail.append(buffer.get());
    all += piece;
    size_t kept = std::min<size_t>(all.size(), ResponseTail::kCapacity);
    ASSERT_EQ(tail.view(), std::string_view(all).substr(all.size() - kept)) << length;
  }
  tail.clear();
  EXPECT_TRUE(tail.view().empty());
}

TEST(ResponseTail, CopiesFromABufferWithoutDrainingIt) {
  Buffer buffer(evbuffer_new(), evbuffer_free);
  std::string first = numbered(3000, 0);
  std::string second = numbered(9000, 3000);
  ResponseTail tail;
  evbuffer_add(buffer.get(), first.data(), first.size());
  tail.append(buffer.get());
  EXPECT_EQ(tail.view(), first);
  EXPECT_EQ(evbuffer_get_length(buffer.get()), first.size());
  evbuffer_drain(buffer.get(), first.size());
  for (size_t at = 0; at < second.size(); at += 1500) {  // several chains in the buffer
    evbuffer_add(buffer.get(), second.data() + at, std::min<size_t>(1500, second.size() - at));
  }
  tail.append(buffer.get());
  EXPECT_EQ(tail.view(), std::string_view(second).substr(second.size() - ResponseTail::kCapacity));
}

}  // namespace
}  // namespace arkroute
