// The per-worker url-answer memo (see url_answers.h).
#include "proxy/url_answers.h"

#include "proxy/image_response.h"

namespace arkroute {

std::shared_ptr<const std::string> UrlAnswers::get(
    const std::shared_ptr<const cache::CacheEntry>& entry, std::string_view public_url,
    std::string_view id) {
  auto found = answers_.find(entry.get());
  if (found != answers_.end()) {
    const Answer& answer = found->second;
    if (answer.entry.lock() == entry && answer.public_url == public_url && answer.id == id) {
      return answer.text;
    }
  }
  std::optional<std::string> text = toUrlResponse(entry->body, public_url, id);
  if (!text) return nullptr;
  auto shared = std::make_shared<const std::string>(std::move(*text));
  remember(entry.get(), Answer{entry, std::string(public_url), std::string(id), shared});
  return shared;
}

void UrlAnswers::remember(const cache::CacheEntry* key, Answer answer) {
  auto [slot, inserted] = answers_.insert_or_assign(key, std::move(answer));
  (void)slot;
  if (inserted) order_.push_back(key);
  while (answers_.size() > capacity_ && !order_.empty()) {
    answers_.erase(order_.front());
    order_.pop_front();
  }
}

}  // namespace arkroute
