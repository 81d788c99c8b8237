#include "lvsctl/address.h"

#include <algorithm>
#include <charconv>

#include <arpa/inet.h>

#include <cstring>

namespace lvsctl {

std::string_view to_string(Family family) {
    return family == Family::inet ? "inet" : "inet6";
}

std::optional<Family> parse_family(std::string_view text) {
    if (text == "inet") {
        return Family::inet;
    }
    if (text == "inet6") {
        return Family::inet6;
    }
    return std::nullopt;
}

std::string_view ip_version(Family family) {
    return family == Family::inet ? "IPv4" : "IPv6";
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    // inet_pton needs a NUL-terminated string, and its longest valid input is 45 characters.
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) {
        return std::nullopt;
    }
    std::array<std::uint8_t, 16> bytes{};
    if (text.find(':') == std::string_view::npos) {
        // By hand, as inet_pton reads it (four decimal parts, no leading zeros), without the
        // copy: a web server's lo and record are 20,000 of these on every run.
        const char* p = text.data();
        const char* const end = p + text.size();
        for (std::size_t i = 0; i < 4; ++i) {
            if (i > 0 && (p == end || *p++ != '.')) {
                return std::nullopt;
            }
            unsigned value = 0;
            const auto [next, ec] = std::from_chars(p, end, value);
            const auto digits = next - p;
            if (ec != std::errc() || digits > 3 || value > 255 || (digits > 1 && *p == '0')) {
                return std::nullopt;
            }
            bytes[i] = static_cast<std::uint8_t>(value);
            p = next;
        }
        if (p != end) {
            return std::nullopt;
        }
        return IpAddress(Family::inet, bytes);
    }
    char buffer[INET6_ADDRSTRLEN] = {};
    std::memcpy(buffer, text.data(), text.size());
    if (inet_pton(AF_INET6, buffer, bytes.data()) == 1) {
        return IpAddress(Family::inet6, bytes);
    }
    return std::nullopt;
}

std::string IpAddress::str() const {
    if (is_v4()) {  // by hand: inet_ntop formats IPv4 with sprintf, ten times slower
        char buffer[INET_ADDRSTRLEN];
        char* out = buffer;
        for (std::size_t i = 0; i < 4; ++i) {
            if (i > 0) {
                *out++ = '.';
            }
            out = std::to_chars(out, buffer + sizeof buffer, bytes_[i]).ptr;
        }
        return std::string(buffer, out);
    }
    char buffer[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, bytes_.data(), buffer, sizeof buffer);
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

std::vector<IpAddress> sorted_unique(std::vector<IpAddress> addresses) {
    // Natural merge sort for the orders met here: the database and lvsctl's record are sorted,
    // and the kernel lists an interface's IPv4 addresses in the order they were added and its
    // IPv6 addresses in the reverse one. A few ascending or descending runs are merged in linear
    // time; anything else is sorted.
    constexpr std::size_t kMaxRuns = 16;
    auto& v = addresses;
    std::vector<std::size_t> ends;
    for (std::size_t i = 0; i < v.size() && ends.size() <= kMaxRuns;) {
        std::size_t j = i + 1;
        if (j < v.size() && v[j] < v[i]) {
            while (j < v.size() && v[j] < v[j - 1]) {
                ++j;
            }
            std::reverse(v.begin() + static_cast<std::ptrdiff_t>(i),
                         v.begin() + static_cast<std::ptrdiff_t>(j));
        } else {
            while (j < v.size() && !(v[j] < v[j - 1])) {
                ++j;
            }
        }
        ends.push_back(j);
        i = j;
    }
    if (ends.size() > kMaxRuns) {
        std::sort(v.begin(), v.end());
    } else {
        for (std::size_t k = 1; k < ends.size(); ++k) {
            std::inplace_merge(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(ends[k - 1]),
                               v.begin() + static_cast<std::ptrdiff_t>(ends[k]));
        }
    }
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return addresses;
}

}  // namespace lvsctl
