// libFuzzer: the lvs.cf parser must accept or reject any input without crashing, report bad input
// as a data error only, and whatever it accepts and validates must survive render -> parse ->
// render unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lvsctl/error.h"
#include "lvsctl/lvscf.h"
#include "lvsctl/validate.h"
#include "templates/render.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const lvsctl::templates::Renderer renderer(LVSCTL_TEMPLATE_DIR);
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    // Names that are not addresses are managed at the server's address, as render --from-lvscf
    // does; no name resolves.
    lvsctl::ImportHints hints;
    hints.address_as_management = true;
    lvsctl::Imported parsed;
    try {
        parsed = lvsctl::parse_lvs_cf(text, "fuzz", hints);
    } catch (const lvsctl::Error& e) {
        if (e.code() != lvsctl::ExitCode::data) {
            __builtin_trap();
        }
        return 0;
    }
    if (!lvsctl::validate(parsed.cluster).empty()) {
        return 0;
    }
    const auto first = renderer.lvs_cf(parsed.cluster);
    auto again = lvsctl::parse_lvs_cf(first, "rendered", hints).cluster;
    again.website_ips = parsed.cluster.website_ips;  // lvs.cf does not carry them
    if (renderer.lvs_cf(again) != first) {
        __builtin_trap();
    }
    return 0;
}
