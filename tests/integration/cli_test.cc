// Integration: the command line as a user types it: a misspelt or doubled flag, a flag without its
// value, --flag=value, --help on any command, and a relative cache path run from elsewhere.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

TEST(Cli, AMisspeltFlagOrAMissingDatabaseIsRefusedNeverGuessed) {
  TempDir dir;
  std::string config = dir.path() + "/cli.toml";
  writeFile(config,
            "[cache]\npath = \"./not-here/db\"\n[[upstream]]\nname = \"sim\"\n"
            "base_url = \"http://127.0.0.1:9/v1\"\n[[model]]\nname = \"m\"\n"
            "upstream = \"sim\"\n");
  std::string in_dir = "cd '" + dir.path() + "' &&";
  int rc = 0;
  // --model for --models: the key would have been made for every model, without complaint.
  std::string misspelt =
      runCli({"keys", "create", "--name", "x", "--model", "m", "--config", config}, in_dir, &rc);
  EXPECT_EQ(rc, 2) << misspelt;
  EXPECT_NE(misspelt.find("unknown flag --model for 'keys create'"), std::string::npos) << misspelt;
  std::string serve = runCli({"serve", "--lsiten", "127.0.0.1:1", "--config", config}, in_dir, &rc);
  EXPECT_EQ(rc, 2) << serve;
  EXPECT_NE(serve.find("unknown flag --lsiten for 'serve'"), std::string::npos) << serve;
  // A flag without its value must not take the next flag as one ("--url --config f").
  std::string swallowed = runCli({"keys", "list", "--url", "--config", config}, in_dir, &rc);
  EXPECT_EQ(rc, 2) << swallowed;
  EXPECT_NE(swallowed.find("--url needs a value"), std::string::npos) << swallowed;
  std::string twice = runCli({"check", "--config=" + config, "--config", config}, in_dir, &rc);
  EXPECT_EQ(rc, 2) << twice;
  EXPECT_NE(twice.find("--config is given twice"), std::string::npos) << twice;
  std::string format = runCli({"usage", "--format", "yaml", "--config", config}, in_dir, &rc);
  EXPECT_EQ(rc, 2) << format;
  EXPECT_NE(format.find("--format takes json or table"), std::string::npos) << format;
  std::string no_config = runCli({"check"}, in_dir, &rc);
  EXPECT_EQ(rc, 2) << no_config;
  EXPECT_NE(no_config.find("arkroute check: --config FILE is required"), std::string::npos)
      << no_config;
  std::string help = runCli({"keys", "create", "--help"}, in_dir, &rc);
  EXPECT_EQ(rc, 0) << help;
  EXPECT_NE(help.find("usage: arkroute serve"), std::string::npos) << help;
  std::string bare = runCli({"keys"}, in_dir, &rc);
  EXPECT_EQ(rc, 2) << bare;
  EXPECT_NE(bare.find("create, list or revoke"), std::string::npos) << bare;
  // Run from a directory without the gateway's database, a relative cache.path named no
  // database: none is created (the key would have gone where the gateway never looks).
  std::string created = runCli({"keys", "create", "--name", "x", "--config", config}, in_dir, &rc);
  EXPECT_EQ(rc, 1) << created;
  EXPECT_NE(created.find("no database at " + dir.path() + "/not-here/db (cache.path is relative"),
            std::string::npos)
      << created;
  EXPECT_EQ(created.find("secret"), std::string::npos) << created;
  std::string stats = runCli({"cache", "stats", "--config", config}, in_dir, &rc);
  EXPECT_EQ(rc, 1) << stats;
  EXPECT_NE(stats.find("no database at"), std::string::npos) << stats;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/not-here")) << "the CLI created a database";
}

}  // namespace
}  // namespace arkroute::testing
