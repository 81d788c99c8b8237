// IP addresses as parsed values: nothing from outside reaches a command line or a kernel message
// without having been parsed here and printed again by str().
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lvsctl {

enum class Family : std::uint8_t { inet, inet6 };

std::string_view to_string(Family family);  // "inet" / "inet6", as in the agent's JSON

class IpAddress {
  public:
    IpAddress() = default;  // 0.0.0.0, which validation refuses wherever an address matters

    // Accepts a plain IPv4 dotted quad or an IPv6 address; no prefix length, no zone, no spaces.
    static std::optional<IpAddress> parse(std::string_view text);

    Family family() const { return family_; }
    bool is_v4() const { return family_ == Family::inet; }
    // Network byte order; an IPv4 address uses the first four bytes, the rest are zero.
    const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
    std::string str() const;  // canonical text (RFC 5952 for IPv6)

    // True for addresses that may serve websites: not unspecified, loopback, multicast,
    // broadcast, link-local or IPv4-mapped.
    bool is_global_unicast() const;

    friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

  private:
    IpAddress(Family family, const std::array<std::uint8_t, 16>& bytes)
        : family_(family), bytes_(bytes) {}

    Family family_ = Family::inet;
    std::array<std::uint8_t, 16> bytes_{};
};

}  // namespace lvsctl
