// libFuzzer: the `ipvsadm -S` reader must accept or reject any input without crashing, report bad
// input as a data error only, and whatever it accepts and validates must survive render ->
// parse -> render unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lvsctl/error.h"
#include "lvsctl/import.h"
#include "lvsctl/ipvsadm_format.h"
#include "lvsctl/validate.h"

namespace {

// --server hints for the IPv6 real servers of the seeds: 2001:db8::N is the server 10.0.0.N.
lvsctl::ImportHints fuzz_hints() {
    lvsctl::ImportHints hints;
    for (int n = 1; n <= 9; ++n) {
        hints.servers.emplace("2001:db8::" + std::to_string(n),
                              *lvsctl::IpAddress::parse("10.0.0." + std::to_string(n)));
    }
    return hints;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const lvsctl::ImportHints hints = fuzz_hints();
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    lvsctl::Imported parsed;
    try {
        parsed = lvsctl::parse_ipvsadm_save(text, "fuzz", hints);
    } catch (const lvsctl::Error& e) {
        if (e.code() != lvsctl::ExitCode::data) {
            __builtin_trap();
        }
        return 0;
    }
    // As import does, from the database or options: ipvsadm rules name no LB.
    parsed.cluster.load_balancers.push_back(
        {lvsctl::Role::primary, *lvsctl::IpAddress::parse("192.0.2.254"), 22, "eth1"});
    parsed.cluster.id = 1;  // import's --cluster-id (also the VRRP router id with a backup LB)
    if (!lvsctl::validate(parsed.cluster).empty()) {
        return 0;
    }
    const auto first = lvsctl::ipvsadm_rules(parsed.cluster);
    auto again = lvsctl::parse_ipvsadm_save(first, "rendered", hints).cluster;
    again.website_ips = parsed.cluster.website_ips;  // a fwmark table does not carry them
    if (lvsctl::ipvsadm_rules(again) != first) {
        __builtin_trap();
    }
    return 0;
}
