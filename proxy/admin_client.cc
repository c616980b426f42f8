// Blocking admin API client for the CLI.
#include "proxy/admin_client.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace arkroute {

// One blocking HTTP/1.0 request to host:port; returns the body, or nullopt when unreachable.
std::optional<std::string> adminRequest(const Config& config, const std::string& method,
                                        const std::string& path, int* status,
                                        const std::string& json_body) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(config.server.listen_port);
  std::string host =
      config.server.listen_host == "0.0.0.0" ? "127.0.0.1" : config.server.listen_host;
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1 ||
      connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return std::nullopt;
  }
  std::string wire = method + " " + path + " HTTP/1.0\r\nHost: " + host +
                     "\r\nAuthorization: Bearer " + config.auth.admin_token + "\r\n";
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
