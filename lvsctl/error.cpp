#include "lvsctl/error.h"

#include <fmt/format.h>

namespace lvsctl {

std::string host_prefixed(std::string_view host, std::string_view message) {
    if (host.empty() || (message.size() > host.size() && message.starts_with(host) &&
                         message[host.size()] == ':')) {
        return std::string(message);
    }
    std::string out(host);
    out += ": ";
    out += message;
    return out;
}

std::string quoted(std::string_view text, std::size_t limit) {
    std::string out = "\"";
    for (const char c : text.substr(0, limit)) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (const auto u = static_cast<unsigned char>(c); u >= 0x20 && u < 0x7f) {
                    out += c;
                } else {
                    out += fmt::format("\\x{:02x}", u);
                }
        }
    }
    if (text.size() > limit) {
        out += "...";
    }
    out += '"';
    return out;
}

}  // namespace lvsctl
