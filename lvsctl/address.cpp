#include "lvsctl/address.h"

#include <arpa/inet.h>

#include <cstring>

namespace lvsctl {

std::string_view to_string(Family family) {
    return family == Family::inet ? "inet" : "inet6";
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    // inet_pton needs a NUL-terminated string, and its longest valid input is 45 characters.
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) {
        return std::nullopt;
    }
    char buffer[INET6_ADDRSTRLEN] = {};
    std::memcpy(buffer, text.data(), text.size());
    std::array<std::uint8_t, 16> bytes{};
    if (text.find(':') == std::string_view::npos) {
        if (inet_pton(AF_INET, buffer, bytes.data()) == 1) {
            return IpAddress(Family::inet, bytes);
        }
        return std::nullopt;
    }
    if (inet_pton(AF_INET6, buffer, bytes.data()) == 1) {
        return IpAddress(Family::inet6, bytes);
    }
    return std::nullopt;
}

std::string IpAddress::str() const {
    char buffer[INET6_ADDRSTRLEN] = {};
    inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buffer, sizeof buffer);
    return buffer;
}

bool IpAddress::is_global_unicast() const {
    const auto& b = bytes_;
    if (is_v4()) {
        const bool unspecified = b[0] == 0;
        const bool loopback = b[0] == 127;
        const bool link_local = b[0] == 169 && b[1] == 254;
        const bool multicast_or_reserved = b[0] >= 224;  // includes 255.255.255.255
        return !(unspecified || loopback || link_local || multicast_or_reserved);
    }
    bool all_zero_but_last = true;
    for (std::size_t i = 0; i < 15; ++i) {
        all_zero_but_last = all_zero_but_last && b[i] == 0;
    }
    const bool unspecified_or_loopback = all_zero_but_last && b[15] <= 1;
    const bool multicast = b[0] == 0xff;
    const bool link_local = b[0] == 0xfe && (b[1] & 0xc0) == 0x80;
    bool v4_mapped = b[10] == 0xff && b[11] == 0xff;
    for (std::size_t i = 0; i < 10; ++i) {
        v4_mapped = v4_mapped && b[i] == 0;
    }
    return !(unspecified_or_loopback || multicast || link_local || v4_mapped);
}

}  // namespace lvsctl
