// Virtual key records, their JSON forms, and the registry (creation with OpenSSL randomness,
// revocation, authentication by the secret's SHA-256).
#include "proxy/virtual_keys.h"

#include <algorithm>

#include "proxy/http/hex.h"

namespace arkroute {

std::string_view describe(KeyRejection rejection) {
  switch (rejection) {
    case KeyRejection::kMissing:
      return "Missing API key: send it as 'Authorization: Bearer ark_...'.";
    case KeyRejection::kUnknown:
      return "Incorrect API key provided.";
    case KeyRejection::kRevoked:
      return "This API key has been revoked.";
    case KeyRejection::kExpired:
      return "This API key has expired.";
  }
  return "Invalid API key.";
}

bool VirtualKey::allowsModel(std::string_view model) const {
  return models.empty() || std::find(models.begin(), models.end(), model) != models.end();
}

nlohmann::json VirtualKey::toPublicJson() const {
  nlohmann::json out = {{"id", id},
                        {"name", name},
                        {"budget_usd", budget_usd ? nlohmann::json(*budget_usd) : nullptr},
                        {"rpm", rpm},
                        {"images_per_min", images_per_min},
                        {"models", models},
                        {"created_ms", created_ms},
                        {"expires_ms", expires_ms ? nlohmann::json(expires_ms) : nullptr},
                        {"revoked", revoked}};
  return out;
}

nlohmann::json VirtualKey::toStoredJson() const {
  nlohmann::json out = toPublicJson();
  out["secret_sha256"] = secret_sha256;
  out["format"] = 1;
  return out;
}

std::optional<VirtualKey> VirtualKey::fromStoredJson(std::string_view text) {
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_object() || !json.contains("id") || !json.contains("secret_sha256")) {
    return std::nullopt;
  }
  try {
    VirtualKey key;
    key.id = json.at("id").get<std::string>();
    key.name = json.value("name", "");
    key.secret_sha256 = json.at("secret_sha256").get<std::string>();
    if (json.contains("budget_usd") && json["budget_usd"].is_number()) {
      key.budget_usd = json["budget_usd"].get<double>();
    }
    key.rpm = json.value("rpm", 0);
    key.images_per_min = json.value("images_per_min", 0);
    key.models = json.value("models", std::vector<std::string>{});
    key.created_ms = json.value("created_ms", int64_t{0});
    if (json.contains("expires_ms") && json["expires_ms"].is_number()) {
      key.expires_ms = json["expires_ms"].get<int64_t>();
    }
    key.revoked = json.value("revoked", false);
    return key;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

KeyRegistry::KeyRegistry(cache::KeyValueTable& table) : table_(table) {
  table_.forEach([this](std::string_view, std::string_view value) {
    if (auto key = VirtualKey::fromStoredJson(value)) {
      id_by_hash_[key->secret_sha256] = key->id;
      by_id_[key->id] = std::move(*key);
    }
  });
}

bool KeyRegistry::store(const VirtualKey& key, std::string* error) {
  return table_.put(key.id, key.toStoredJson().dump(), error);
}

std::optional<std::string> keySpecProblem(const KeySpec& spec, int64_t now_ms) {
  if (spec.name.empty()) return "a key needs a name (--name)";
  if (spec.rpm < 0 || spec.images_per_min < 0) return "limits must not be negative";
  if (spec.budget_usd && *spec.budget_usd < 0) return "budget must not be negative";
  if (spec.expires_ms && spec.expires_ms <= now_ms) return "expiry is in the past";
  return std::nullopt;
}

std::variant<CreatedKey, std::string> KeyRegistry::create(const KeySpec& spec,
                                                          double default_budget_usd,
                                                          int64_t now_ms) {
  if (auto problem = keySpecProblem(spec, now_ms)) return *problem;
  auto secret_hex = randomHex(32);
  auto id_hex = randomHex(8);
  if (!secret_hex || !id_hex) return std::string("the system random generator failed");
  CreatedKey created;
  created.secret = "ark_" + *secret_hex;
  VirtualKey& key = created.key;
  key.id = "key_" + *id_hex;
  key.name = spec.name;
  key.secret_sha256 = sha256Hex(created.secret);
  if (!spec.unlimited) key.budget_usd = spec.budget_usd.value_or(default_budget_usd);
  key.rpm = spec.rpm;
  key.images_per_min = spec.images_per_min;
  key.models = spec.models;
  key.created_ms = now_ms;
  key.expires_ms = spec.expires_ms;
  // The write happens outside the lock: every authenticated request takes it, and a database
  // write can wait behind a whole cached image. A new id conflicts with no other write.
  std::string error;
  if (!store(key, &error)) return "cannot store the key: " + error;
  std::lock_guard lock(mutex_);
  id_by_hash_[key.secret_sha256] = key.id;
  by_id_[key.id] = key;
  return created;
}

std::vector<VirtualKey> KeyRegistry::list() const {
  std::lock_guard lock(mutex_);
  std::vector<VirtualKey> out;
  for (const auto& [id, key] : by_id_) out.push_back(key);
  std::sort(out.begin(), out.end(),
            [](const VirtualKey& a, const VirtualKey& b) { return a.created_ms < b.created_ms; });
  return out;
}

std::optional<VirtualKey> KeyRegistry::find(std::string_view id) const {
  std::lock_guard lock(mutex_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

bool KeyRegistry::revoke(std::string_view id, std::string* error) {
  VirtualKey updated;
  {
    std::lock_guard lock(mutex_);
    auto it = by_id_.find(id);
    if (it == by_id_.end()) {
      if (error) *error = "no key with id '" + std::string(id) + "'";
      return false;
    }
    if (it->second.revoked) return true;  // nothing to write: it is revoked already
    updated = it->second;
  }
  updated.revoked = true;
  if (!store(updated, error)) return false;  // outside the lock, as in create()
  std::lock_guard lock(mutex_);
  by_id_.find(id)->second.revoked = true;  // keys are never removed from by_id_
  return true;
}

std::variant<VirtualKey, KeyRejection> KeyRegistry::authenticate(std::string_view secret,
                                                                 int64_t now_ms) const {
  if (secret.empty()) return KeyRejection::kMissing;
  std::string hash = sha256Hex(secret);
  std::lock_guard lock(mutex_);
  auto id = id_by_hash_.find(hash);
  if (id == id_by_hash_.end()) return KeyRejection::kUnknown;
  const VirtualKey& key = by_id_.at(id->second);
  if (key.revoked) return KeyRejection::kRevoked;
  if (key.expires_ms && now_ms >= key.expires_ms) return KeyRejection::kExpired;
  return key;
}

}  // namespace arkroute
