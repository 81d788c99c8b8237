// IP addresses as parsed values: nothing from outside reaches a command line or a kernel message
// without having been parsed here and printed again by str().
#pragma once

#include <endian.h>
#include <array>

#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lvsctl {

enum class Family : std::uint8_t { inet, inet6 };

std::string_view to_string(Family family);  // "inet" / "inet6", as in the agent's JSON
// The inverse, for every reader of those documents; std::nullopt for anything else.
std::optional<Family> parse_family(std::string_view text);
// "IPv4" / "IPv6", as messages for people say it.
std::string_view ip_version(Family family);

class IpAddress {
  public:
    IpAddress() = default;  // 0.0.0.0, which validation refuses wherever an address matters

    // Accepts a plain IPv4 dotted quad or an IPv6 address; no prefix length, no zone, no spaces.
    static std::optional<IpAddress> parse(std::string_view text);

    Family family() const { return family_; }
    bool is_v4() const { return family_ == Family::inet; }
    // The prefix of a single host: 32 or 128 (website IPs are aliases of this length).
    int host_prefix() const { return is_v4() ? 32 : 128; }
    // Network byte order; an IPv4 address uses the first four bytes, the rest are zero.
    const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
    std::string str() const;  // canonical text (RFC 5952 for IPv6)

    // True for addresses that may serve websites: not unspecified, loopback, multicast,
    // broadcast, link-local or IPv4-mapped.
    bool is_global_unicast() const;

    // Family, then the bytes in network order; as two 64-bit words, not byte by byte: the
    // plans sort and search tens of thousands of addresses per web server.
    friend std::strong_ordering operator<=>(const IpAddress& a, const IpAddress& b) {
        if (a.family_ != b.family_) {
            return a.family_ <=> b.family_;
        }
        if (const auto high = a.word(0) <=> b.word(0); high != 0) {
            return high;
        }
        return a.word(8) <=> b.word(8);
    }
    friend bool operator==(const IpAddress&, const IpAddress&) = default;

  private:
    std::uint64_t word(std::size_t at) const {  // bytes [at, at + 8) as a big-endian number
        std::uint64_t value = 0;
        std::memcpy(&value, bytes_.data() + at, sizeof value);
        return be64toh(value);
    }
    IpAddress(Family family, const std::array<std::uint8_t, 16>& bytes)
        : family_(family), bytes_(bytes) {}

    Family family_ = Family::inet;
    std::array<std::uint8_t, 16> bytes_{};
};

// An address on an interface, with its prefix length.
struct InterfaceAddress {
    IpAddress address;
    int prefix = 0;
    bool is_host_route() const { return prefix == address.host_prefix(); }
};

// Sorted by operator<=>, duplicates dropped. Already sorted input (the database's order, a
// record lvsctl wrote) costs one pass.
std::vector<IpAddress> sorted_unique(std::vector<IpAddress> addresses);

}  // namespace lvsctl
