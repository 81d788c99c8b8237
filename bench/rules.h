// The benchmark's table: the same rules for lvsctl's library, `ipvsadm -R` and keepalived.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <vector>

#include "lvsctl/lb/ipvs_plan.h"

namespace bench {

constexpr std::uint16_t kTcp = 6;
constexpr std::uint16_t kVirtualPort = 80;

inline lvsctl::IpAddress address_in(int second_octet, int index) {
    return *lvsctl::IpAddress::parse(
        fmt::format("10.{}.{}.{}", second_octet, index / 250, 1 + index % 250));
}

// Even services are firewall-mark services (FWM 1, 2, ...), odd ones TCP 10.100.x.y:80, all
// wrr. Destination j of service s is real server (s * D + j) mod P of a pool in 10.200.x.y
// (a web farm: each server behind many services), direct routing, weight 1 to 10; port 0 for
// a fwmark service, the service's port otherwise. `pool` must be at least `dests`.
inline std::vector<lvsctl::DesiredService> make_rules(int services, int dests, int pool) {
    using namespace lvsctl;
    std::vector<DesiredService> out;
    out.reserve(static_cast<std::size_t>(services));
    for (int s = 0; s < services; ++s) {
        DesiredService svc;
        const bool fwmark = s % 2 == 0;
        if (fwmark) {
            svc.key =
                ServiceKey::fwmark_service(Family::inet, static_cast<std::uint32_t>(s / 2 + 1));
        } else {
            svc.key.family = Family::inet;
            svc.key.protocol = kTcp;
            svc.key.address = address_in(100, s / 2);
            svc.key.port = kVirtualPort;
        }
        svc.settings = ServiceSettings{"wrr", 0, 0, 0xffffffffU};
        for (int j = 0; j < dests; ++j) {
            const int server = static_cast<int>((static_cast<long>(s) * dests + j) % pool);
            const auto weight = static_cast<std::uint32_t>(1 + (s + j) % 10);
            svc.dests.push_back(DesiredDest{
                DestKey{address_in(200, server), fwmark ? std::uint16_t{0} : kVirtualPort},
                DestSettings{IpvsForward::route, weight, 0, 0}});
        }
        out.push_back(std::move(svc));
    }
    return out;
}

}  // namespace bench
