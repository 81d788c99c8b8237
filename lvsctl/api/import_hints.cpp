#include "lvsctl/api/import_hints.h"

#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>

#include <memory>

#include "lvsctl/error.h"

namespace lvsctl::engine {

namespace {

// A host name's address, as piranha's gethostbyname found it: IPv4 first, else IPv6.
std::optional<IpAddress> resolve(std::string_view name) {
    const std::string host(name);
    // Only what can be a host name goes to the resolver (no option-like or empty words).
    if (host.empty() || host.front() == '-' ||
        host.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") !=
            std::string::npos) {
        return std::nullopt;
    }
    for (const int family : {AF_INET, AF_INET6}) {
        addrinfo hints{};
        hints.ai_family = family;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* found = nullptr;
        if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
            continue;
        }
        const std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(found, freeaddrinfo);
        char text[NI_MAXHOST] = {};
        if (getnameinfo(found->ai_addr, found->ai_addrlen, text, sizeof text, nullptr, 0,
                        NI_NUMERICHOST) == 0) {
            if (auto ip = IpAddress::parse(text)) {
                return ip;
            }
        }
    }
    return std::nullopt;
}

}  // namespace

ImportHints import_hints(const std::vector<std::string>& servers) {
    ImportHints hints;
    for (const auto& hint : servers) {
        const auto eq = hint.find('=');
        const auto ip =
            eq == std::string::npos ? std::nullopt : IpAddress::parse(hint.substr(eq + 1));
        if (eq == 0 || !ip) {
            throw Error(ExitCode::usage,
                        fmt::format("--server {}: expected NAME=MGMT_IP (an IP address)", hint));
        }
        hints.servers[hint.substr(0, eq)] = *ip;
    }
    hints.resolve = resolve;
    return hints;
}

}  // namespace lvsctl::engine
