// Unit: virtual key creation, storage (hash only), authentication, revocation and expiry.
#include "proxy/virtual_keys.h"

#include <gtest/gtest.h>

#include "proxy/key_spec_json.h"
#include "proxy/money_endpoints.h"

namespace arkroute {
namespace {

TEST(KeyRegistry, StoresOnlyTheHashAndRecognisesTheSecretAfterReload) {
  cache::MemoryKeyValueTable table;
  std::string secret, id;
  {
    KeyRegistry registry(table);
    KeySpec spec;
    spec.name = "app";
    auto created = registry.create(spec, 5.0, 1000);
    ASSERT_TRUE(std::holds_alternative<CreatedKey>(created));
    secret = std::get<CreatedKey>(created).secret;
    id = std::get<CreatedKey>(created).key.id;
    EXPECT_EQ(std::get<CreatedKey>(created).key.budget_usd, 5.0) << "free credits by default";
  }
  bool secret_stored = false;
  table.forEach([&](std::string_view, std::string_view value) {
    secret_stored = secret_stored || value.find(secret.substr(4)) != std::string_view::npos;
  });
  EXPECT_FALSE(secret_stored);
  KeyRegistry reloaded(table);
  auto found = reloaded.authenticate(secret, 2000);
  ASSERT_TRUE(std::holds_alternative<VirtualKey>(found));
  EXPECT_EQ(std::get<VirtualKey>(found).id, id);
  EXPECT_EQ(std::get<KeyRejection>(reloaded.authenticate(secret + "x", 2000)),
            KeyRejection::kUnknown);
  EXPECT_EQ(std::get<KeyRejection>(reloaded.authenticate("", 2000)), KeyRejection::kMissing);
  ASSERT_TRUE(reloaded.revoke(id, nullptr));
  EXPECT_EQ(std::get<KeyRejection>(KeyRegistry(table).authenticate(secret, 2000)),
            KeyRejection::kRevoked);
}

TEST(KeyRegistry, ExpiredKeysAndBadSpecsAreRefused) {
  cache::MemoryKeyValueTable table;
  KeyRegistry registry(table);
  KeySpec spec;
  spec.name = "temp";
  spec.expires_ms = 10'000;
  auto created = registry.create(spec, 1.0, 1'000);
  ASSERT_TRUE(std::holds_alternative<CreatedKey>(created));
  const std::string& secret = std::get<CreatedKey>(created).secret;
  EXPECT_TRUE(std::holds_alternative<VirtualKey>(registry.authenticate(secret, 9'999)));
  EXPECT_EQ(std::get<KeyRejection>(registry.authenticate(secret, 10'000)), KeyRejection::kExpired);
  KeySpec unnamed;
  EXPECT_TRUE(std::holds_alternative<std::string>(registry.create(unnamed, 1.0, 0)));
}

TEST(KeySpecJson, ReadsEveryFieldAndNamesTheBadOne) {
  auto spec = keySpecFromJson(
      R"({"name":"n","budget_usd":2.5,"rpm":60,"images_per_min":20,"models":["a","b"],)"
      R"("expires":"2030-01-02"})");
  ASSERT_TRUE(std::holds_alternative<KeySpec>(spec));
  const KeySpec& s = std::get<KeySpec>(spec);
  EXPECT_EQ(s.budget_usd, 2.5);
  EXPECT_EQ(s.rpm, 60);
  EXPECT_EQ(s.images_per_min, 20);
  EXPECT_EQ(s.models.size(), 2u);
  EXPECT_EQ(s.expires_ms, dayStartMs("2030-01-02"));
  EXPECT_TRUE(std::get<KeySpec>(keySpecFromJson(R"({"name":"n","budget_usd":null})")).unlimited);
  auto bad = [](const char* body) {
    auto parsed = keySpecFromJson(body);
    return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "";
  };
  EXPECT_NE(bad(R"({"name":"n","rpm":-1})").find("rpm"), std::string::npos);
  EXPECT_NE(bad(R"({"name":"n","budget_usd":"5"})").find("budget_usd"), std::string::npos);
  EXPECT_NE(bad(R"({"name":"n","expires":"tomorrow"})").find("expires"), std::string::npos);
  // Day 0 means "never expires" inside: an expiry on it is refused, not kept forever.
  EXPECT_NE(bad(R"({"name":"n","expires":"1970-01-01"})").find("after 1970-01-01"),
            std::string::npos);
  EXPECT_NE(bad(R"({"name":"n","budget_usd":-0.5})").find("budget_usd"), std::string::npos);
  EXPECT_NE(bad(R"([1])").find("object"), std::string::npos);
  EXPECT_NE(bad(R"({"rpm":1})").find("name"), std::string::npos);
  // A misspelt limit would make a key without it (and the default budget): refused, named.
  EXPECT_EQ(bad(R"({"name":"typo","budget":0.01,"rmp":1})"),
            "unknown field 'budget' (a key takes name, budget_usd, rpm, images_per_min, models "
            "and expires)");
  EXPECT_EQ(bad(R"({"name":"a","rpm":1,"name":"b"})"), "'name' is given twice");
  EXPECT_EQ(bad(R"({"name":"n","models":[{"name":"x"}]})"),
            "'models' must be a list of model names")
      << "a nested object's members are not the spec's";
}

// A table whose writes fail from some point on (a full disk).
class FailingTable : public cache::MemoryKeyValueTable {
 public:
  bool failing = false;
  bool put(std::string_view key, std::string_view value, std::string* error) override {
    if (!failing) return MemoryKeyValueTable::put(key, value, error);
    *error = "No space left on device";
    return false;
  }
};

// A key the database could not store is the gateway's failure (503), not the request's (400).
TEST(KeyRegistry, AKeyThatCannotBeStoredIsNotReportedAsABadRequest) {
  FailingTable table;
  table.failing = true;
  KeyRegistry registry(table);
  KeySpec spec;
  spec.name = "ci";
  auto created = registry.create(spec, 1.0, 1000);
  ASSERT_TRUE(std::holds_alternative<std::string>(created));
  ApiError refused = keyCreateRefusal(spec, 1000, std::get<std::string>(created));
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.code, "key_not_created");
  EXPECT_NE(refused.message.find("No space left"), std::string::npos);
  EXPECT_TRUE(registry.list().empty());
  KeySpec unnamed;
  auto bad = registry.create(unnamed, 1.0, 1000);
  ASSERT_TRUE(std::holds_alternative<std::string>(bad));
  EXPECT_EQ(keyCreateRefusal(unnamed, 1000, std::get<std::string>(bad)).status, 400);
}

// A revocation the database could not store leaves the key working: the admin API must not say
// 404 (which a script reads as "already gone"), but 503 and that the key still works.
TEST(KeyRegistry, ARevocationThatCannotBeStoredIsNotReportedAsAnUnknownKey) {
  FailingTable table;
  KeyRegistry registry(table);
  KeySpec spec;
  spec.name = "compromised";
  auto created = std::get<CreatedKey>(registry.create(spec, 1.0, 1000));
  table.failing = true;
  std::string error;
  ASSERT_FALSE(registry.revoke(created.key.id, &error));
  EXPECT_TRUE(std::holds_alternative<VirtualKey>(registry.authenticate(created.secret, 2000)));
  ApiError refused = keyRevokeRefusal(registry, created.key.id, error);
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.code, "key_not_revoked");
  EXPECT_NE(refused.message.find("still works"), std::string::npos);
  EXPECT_NE(refused.message.find("No space left"), std::string::npos);
  ASSERT_FALSE(registry.revoke("key_unknown", &error));
  EXPECT_EQ(keyRevokeRefusal(registry, "key_unknown", error).status, 404);
}

}  // namespace
}  // namespace arkroute
