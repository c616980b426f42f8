// Blocking admin API client for the CLI.
#include "proxy/admin_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cache/rocks_database.h"

namespace arkroute {

namespace {

// A connected socket to the gateway's listen address (a wildcard as loopback), or -1.
int connectToGateway(const ServerConfig& server, std::string* host) {
  *host = server.listen_host == "0.0.0.0" ? "127.0.0.1"
          : server.listen_host == "::"    ? "::1"
                                          : server.listen_host;
  sockaddr_storage address{};
  socklen_t length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (inet_pton(AF_INET, host->c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(server.listen_port);
    length = sizeof *v4;
  } else if (inet_pton(AF_INET6, host->c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(server.listen_port);
    length = sizeof *v6;
    *host = "[" + *host + "]";  // as the Host header writes it
  } else {
    return -1;
  }
  int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

// One blocking HTTP/1.0 request to the gateway; returns the body, or nullopt when unreachable.
std::optional<std::string> adminRequest(const Config& config, const std::string& method,
                                        const std::string& path, int* status,
                                        const std::string& json_body) {
  std::string host;
  int fd = connectToGateway(config.server, &host);
  if (fd < 0) return std::nullopt;
  std::string wire = method + " " + path + " HTTP/1.0\r\nHost: " + host +
                     "\r\nAuthorization: Bearer " + config.auth.admin_token + "\r\n" +
                     std::string(kDatabaseHeader) + ": " +
                     cache::RocksDatabase::canonicalPath(config.cache.path) + "\r\n";
  if (!json_body.empty()) {
    wire +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(json_body.size()) +
        "\r\n";
  }
  wire += "\r\n" + json_body;
  if (send(fd, wire.data(), wire.size(), MSG_NOSIGNAL) < 0) {
    close(fd);
    return std::nullopt;
  }
  std::string response;
  char buffer[8192];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) response.append(buffer, size_t(n));
  close(fd);
  size_t space = response.find(' ');
  *status = space == std::string::npos ? 0 : std::atoi(response.c_str() + space + 1);
  size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : response.substr(body + 4);
}

bool applyUrlFlag(const std::map<std::string, std::string>& flags, std::string_view command,
                  Config* config) {
  auto url = flags.find("url");
  if (url == flags.end()) return true;
  std::string_view rest = url->second;
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  if (rest.ends_with("/")) rest.remove_suffix(1);
  auto address = parseListen(rest);
  if (!address) {
    std::cerr << "arkroute " << command
              << ": --url must look like http://127.0.0.1:8080 or http://[::1]:8080\n";
    return false;
  }
  config->server.listen_host = std::move(address->first);
  config->server.listen_port = address->second;
  return true;
}

std::optional<std::string> missingDatabase(const std::string& path) {
  if (path.empty()) return "cache.path is empty: there is no database, only the gateway's memory";
  std::error_code ignored;
  if (std::filesystem::exists(std::filesystem::path(path) / "CURRENT", ignored))
    return std::nullopt;
  std::string absolute = std::filesystem::absolute(path, ignored).lexically_normal().string();
  return "no database at " + absolute +
         (std::filesystem::path(path).is_relative()
              ? " (cache.path is relative to the directory you run in)"
              : "") +
         ": run this where the gateway runs, or start the gateway once to create it";
}

}  // namespace arkroute
