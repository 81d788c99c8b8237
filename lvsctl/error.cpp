#include "lvsctl/error.h"

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

}  // namespace lvsctl
