// libFuzzer: the HTTP request head the monitor's metrics endpoint and `lvsctl serve` read from any
// client (checks/http_server.h). Anything parses or is refused; what parses has a target starting
// with '/' and no query.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "checks/http_server.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view head(reinterpret_cast<const char*>(data), size);
    if (const auto r = lvsctl::checks::parse_http_request(head)) {
        if (!r->request.path.starts_with('/') ||
            r->request.path.find('?') != std::string_view::npos || r->method.empty()) {
            std::abort();
        }
    }
    return 0;
}
