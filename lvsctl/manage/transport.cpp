#include "lvsctl/manage/transport.h"

#include <fmt/format.h>

#include <array>
#include <cstdint>

#include "lvsctl/error.h"
#include "lvsctl/manage/scripts.h"
#include "lvsctl/validate.h"

namespace lvsctl {

std::string shell_quote(std::string_view text) {
    std::string out = "'";
    for (const char c : text) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    out += '\'';
    return out;
}

std::string shell_command(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& arg : argv) {
        if (!out.empty()) {
            out += ' ';
        }
        out += shell_quote(arg);
    }
    return out;
}

std::string posix_cksum(std::string_view data) {
    // CRC-32 over the data and then its length (low byte first, no trailing zero bytes), MSB
    // first with polynomial 0x04C11DB7, complemented: what POSIX cksum prints.
    static const auto table = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i << 24;
            for (int k = 0; k < 8; ++k) {
                c = (c & 0x80000000U) != 0 ? (c << 1) ^ 0x04C11DB7U : c << 1;
            }
            t[i] = c;
        }
        return t;
    }();
    std::uint32_t crc = 0;
    auto feed = [&](unsigned char byte) { crc = (crc << 8) ^ table[((crc >> 24) ^ byte) & 0xff]; };
    for (const char c : data) {
        feed(static_cast<unsigned char>(c));
    }
    for (auto n = data.size(); n != 0; n >>= 8) {
        feed(static_cast<unsigned char>(n & 0xff));
    }
    return fmt::format("{} {}", ~crc, data.size());
}

void upload_atomically(Transport& host, std::string_view host_name, const std::string& path,
                       std::string_view content, unsigned mode) {
    if (!is_valid_command_path(path)) {
        throw Error(ExitCode::internal, fmt::format("{}: write {}: not an absolute path of plain "
                                                    "characters",
                                                    host_name, path));
    }
    const auto result =
        host.run_changing({"sh", "-c", std::string(scripts::kReplaceFileScript), "lvsctl-upload",
                           path, fmt::format("{:o}", mode), posix_cksum(content)},
                          std::string(content));
    if (result.status != 0) {
        throw Error(ExitCode::partial,
                    fmt::format("{}: write {}: {}", host_name, path,
                                result.err.empty() ? fmt::format("exit status {}", result.status)
                                                   : result.err));
    }
}

}  // namespace lvsctl
