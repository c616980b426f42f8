// Unit: sse::LineSplitter and sse::splitField — the lines of an event stream with LF, CRLF and
// bare CR endings, fed whole and split at every byte, a reader that stops, and field reading.
#include "proxy/sse_lines.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace arkroute::sse {
namespace {

// Collects whole lines; stops reading once `stop_after` lines have ended.
struct Lines {
  std::vector<std::string> done;
  std::string current;
  size_t stop_after = SIZE_MAX;
  bool linePiece(std::string_view piece) {
    EXPECT_FALSE(piece.empty());
    current.append(piece);
    return true;
  }
  bool lineEnd() {
    done.push_back(std::move(current));
    current.clear();
    return done.size() < stop_after;
  }
};

std::vector<std::string> linesOf(const std::string& text, size_t piece) {
  LineSplitter splitter;
  Lines lines;
  for (size_t at = 0; at < text.size(); at += piece) {
    splitter.feed(std::string_view(text).substr(at, piece), lines);
  }
  return lines.done;
}

TEST(SseLines, EveryEndingEndsOneLineHoweverTheBytesAreSplit) {
  std::string text = "event: a\ndata: b\r\n\r\ndata: c\r\rdata:d\n\r\n";
  std::vector<std::string> expected = {"event: a", "data: b", "", "data: c", "", "data:d", ""};
  for (size_t piece = 1; piece <= text.size(); ++piece) {
    EXPECT_EQ(linesOf(text, piece), expected) << "pieces of " << piece;
  }
}

TEST(SseLines, ACrAtTheEndOfOneReadAndAnLfAtTheStartOfTheNextAreOneEnding) {
  LineSplitter splitter;
  Lines lines;
  splitter.feed("data: x\r", lines);
  splitter.feed("\n", lines);
  splitter.feed("\ndata: y\n", lines);
  EXPECT_EQ(lines.done, (std::vector<std::string>{"data: x", "", "data: y"}));
}

TEST(SseLines, AReaderThatStopsIsGivenNoMoreOfThoseBytes) {
  LineSplitter splitter;
  Lines lines;
  lines.stop_after = 1;
  splitter.feed("one\ntwo\nthree\n", lines);
  EXPECT_EQ(lines.done, std::vector<std::string>{"one"});
}

TEST(SseLines, AFieldIsItsNameAndItsValueLessOneLeadingSpace) {
  Field event = splitField("event: image_generation.completed");
  EXPECT_EQ(event.name, "event");
  EXPECT_EQ(event.value, "image_generation.completed");
  EXPECT_EQ(splitField("data:  two").value, " two");
  EXPECT_EQ(splitField("data:{\"a\":1}").value, "{\"a\":1}");
  EXPECT_EQ(splitField(": keep-alive").name, "");
  Field bare = splitField("data");
  EXPECT_EQ(bare.name, "data");
  EXPECT_EQ(bare.value, "");
}

}  // namespace
}  // namespace arkroute::sse
