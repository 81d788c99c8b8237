// libFuzzer: what lvsctl reads back from hosts. The first byte picks the reader: 'w' a web
// server's lo/sysctl/record output, 'a' the agent's (or an exec: program's) JSON answer, 's' the
// agent's own state file, 'h' `agent show`'s document, 'k' the lvsctl lines of a VRRP
// keepalived.conf (which must read back as written), 'v' keepalived's VRRP state record. Each must
// accept or refuse without crashing,
// refuse only with the error code its callers expect, and a web server's plan must never remove
// what lvsctl did not record nor add what is already there.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string_view>

#include "lvsctl/error.h"
#include "lvsctl/lb/agent_state.h"
#include "lvsctl/manage/backends.h"
#include "lvsctl/manage/lb_step.h"
#include "lvsctl/manage/web_step.h"
#include "lvsctl/protocol/agent_documents.h"

namespace {

void web(std::string_view text) {
    lvsctl::WebObserved seen;
    try {
        seen = lvsctl::parse_web_observed(text, "web fuzz");
    } catch (const lvsctl::Error& e) {
        if (e.code() != lvsctl::ExitCode::partial) {
            __builtin_trap();
        }
        return;
    }
    const std::vector<lvsctl::IpAddress> desired{*lvsctl::IpAddress::parse("10.39.84.131"),
                                                 *lvsctl::IpAddress::parse("2001:db8::131")};
    const auto plan = lvsctl::plan_web(desired, seen);
    const std::set<lvsctl::IpAddress> owned(seen.owned.begin(), seen.owned.end());
    std::set<lvsctl::IpAddress> present;
    for (const auto& a : seen.lo) {
        present.insert(a.address);
    }
    for (const auto& r : plan.remove) {
        if (!owned.contains(r.address)) {
            __builtin_trap();
        }
    }
    for (const auto& a : plan.add) {
        if (present.contains(a)) {
            __builtin_trap();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        switch (data[0]) {
            case 'w':
                web(text);
                break;
            case 'a':
                lvsctl::parse_agent_answer(text, "lb fuzz");
                break;
            case 's':
                lvsctl::parse_agent_state(text, "agent-state.json");
                break;
            case 'h':
                lvsctl::parse_agent_show(text, "lb fuzz");
                break;
            case 'k':
                if (const auto ips = lvsctl::parse_vrrp_header(text)) {
                    if (lvsctl::parse_vrrp_header(lvsctl::vrrp_header(*ips)) != ips) {
                        __builtin_trap();
                    }
                }
                break;
            case 'v':
                lvsctl::parse_vrrp_state(text, "vrrp-cluster-1.json");
                break;
            default:
                break;
        }
    } catch (const lvsctl::Error& e) {
        const auto expected =
            data[0] == 's' || data[0] == 'v' ? lvsctl::ExitCode::data : lvsctl::ExitCode::partial;
        if (e.code() != expected) {
            __builtin_trap();
        }
    }
    return 0;
}
