// CLI11 checks for values that must parse before any command runs (a bad one is exit 64).
#pragma once

#include <CLI/CLI.hpp>

#include "lvsctl/address.h"

namespace lvsctl::cli {

inline CLI::Validator ip_address(std::optional<Family> family = std::nullopt) {
    return CLI::Validator(
        [family](std::string& text) -> std::string {
            const auto ip = IpAddress::parse(text);
            if (!ip) {
                return "not an IP address: " + text;
            }
            if (family && ip->family() != *family) {
                return text + " is not an " + std::string(ip_version(*family)) + " address";
            }
            return {};
        },
        family ? std::string(ip_version(*family)) : "IP");
}

}  // namespace lvsctl::cli
