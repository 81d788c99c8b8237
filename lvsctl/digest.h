// A fingerprint to notice change (FNV-1a, 64 bits, 16 hex digits): not a security boundary.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace lvsctl {

inline std::string fnv1a_hex(std::string_view text) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (const unsigned char c : text) {
        hash = (hash ^ c) * 0x100000001b3ULL;
    }
    return fmt::format("{:016x}", hash);
}

}  // namespace lvsctl
