// Virtual keys (auth.mode = "keys"): what a key may do (budget, rate limits, allowed models,
// expiry) and the registry that creates, lists, revokes and recognises them. A key's secret is 32
// random bytes from OpenSSL, shown once at creation ("ark_" + 64 hex digits); only its SHA-256 is
// stored, in the "keys" table, as JSON. The registry keeps every key in memory (thread-safe) and
// writes through to the table on each change.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cache/kv_table.h"
#include "proxy/http/headers.h"
#include "proxy/http/hex.h"

namespace arkroute {

struct VirtualKey {
  std::string id;    // "key_" + 16 hex digits; public, used in the ledger and the admin API
  std::string name;  // a label chosen by the admin
  std::string secret_sha256;         // hex
  std::optional<double> budget_usd;  // nullopt = unlimited
  int rpm = 0;                       // requests per minute; 0 = unlimited
  int images_per_min = 0;            // generated images per minute; 0 = unlimited
  std::vector<std::string> models;   // allowed models; empty = all
  int64_t created_ms = 0;
  int64_t expires_ms = 0;  // 0 = never
  bool revoked = false;

  bool allowsModel(std::string_view model) const;
  // Public view: everything but the secret's hash.
  nlohmann::json toPublicJson() const;
  nlohmann::json toStoredJson() const;
  static std::optional<VirtualKey> fromStoredJson(std::string_view text);
};

struct KeySpec {
  std::string name;
  std::optional<double> budget_usd;  // nullopt: auth.default_budget_usd
  bool unlimited = false;            // no budget at all
  int rpm = 0;
  int images_per_min = 0;
  std::vector<std::string> models;
  int64_t expires_ms = 0;
};

struct CreatedKey {
  VirtualKey key;
  std::string secret;  // shown once, never stored
};

// Why a presented credential was refused.
enum class KeyRejection { kMissing, kUnknown, kRevoked, kExpired };
std::string_view describe(KeyRejection rejection);

class KeyRegistry {
 public:
  // Loads every stored key. The table must outlive the registry.
  explicit KeyRegistry(cache::KeyValueTable& table);

  // Validates the spec (name non-empty, limits non-negative) and stores a new key.
  std::variant<CreatedKey, std::string> create(const KeySpec& spec, double default_budget_usd,
                                               int64_t now_ms);
  std::vector<VirtualKey> list() const;
  std::optional<VirtualKey> find(std::string_view id) const;
  // Marks the key revoked (kept so usage reports still name it). false when unknown.
  bool revoke(std::string_view id, std::string* error);
  // The key whose secret is `secret` (the bearer token), if it may be used at now_ms.
  std::variant<VirtualKey, KeyRejection> authenticate(std::string_view secret,
                                                      int64_t now_ms) const;

 private:
  bool store(const VirtualKey& key, std::string* error);

  cache::KeyValueTable& table_;
  mutable std::mutex mutex_;
  std::map<std::string, VirtualKey, std::less<>> by_id_;
  std::map<std::string, std::string, std::less<>> id_by_hash_;
};

using http::bearerToken;

// What makes a key request unacceptable as written ("a key needs a name"...); nullopt when none.
// KeyRegistry::create refuses the same, and besides fails only on the gateway's side.
std::optional<std::string> keySpecProblem(const KeySpec& spec, int64_t now_ms);

}  // namespace arkroute
