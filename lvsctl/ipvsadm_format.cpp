#include "lvsctl/ipvsadm_format.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>
#include <utility>

namespace lvsctl {

namespace {

std::string service_name(const ServiceKey& key) {
    if (key.fwmark != 0) {
        return key.family == Family::inet ? fmt::format("FWM  {}", key.fwmark)
                                          : fmt::format("FWM  {} IPv6", key.fwmark);
    }
    const char* proto = key.protocol == 6 ? "TCP" : key.protocol == 17 ? "UDP" : "SCTP";
    return fmt::format("{:<4} {}", proto, DestKey{key.address, key.port}.str());
}

// ipvsadm's print_largenum: nine columns each; from 100 million on, a unit.
std::string number(std::uint64_t n) {
    if (n < 100000000ULL) {
        return fmt::format("{:>9}", n);
    }
    if (n < 1000000000ULL) {
        return fmt::format("{:>8}K", n / 1000);
    }
    if (n < 1000000000000ULL) {
        return fmt::format("{:>8}M", n / 1000000);
    }
    if (n < 1000000000000000ULL) {
        return fmt::format("{:>8}G", n / 1000000000ULL);
    }
    return fmt::format("{:>8}T", n / 1000000000000ULL);
}

std::string counters(const IpvsStats& s, TableLayout layout) {
    if (layout == TableLayout::stats) {
        return number(s.conns) + number(s.inpkts) + number(s.outpkts) + number(s.inbytes) +
               number(s.outbytes);
    }
    return number(s.cps) + number(s.inpps) + number(s.outpps) + number(s.inbps) + number(s.outbps);
}

}  // namespace

std::string ipvsadm_table(const std::vector<ServiceInfo>& services, TableLayout layout) {
    std::string out;
    auto line = [&](const std::string& text) {
        out += text;
        out += '\n';
    };
    switch (layout) {
        case TableLayout::list:
            line("Prot LocalAddress:Port Scheduler Flags");
            line("  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn");
            break;
        case TableLayout::stats:
            line("Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes");
            line("  -> RemoteAddress:Port");
            break;
        case TableLayout::rate:
            line("Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS");
            line("  -> RemoteAddress:Port");
            break;
    }
    // ipvsadm sorts: services by mark, family, protocol, address, port; destinations by
    // address and port.
    auto sorted = services;
    std::sort(sorted.begin(), sorted.end(), [](const ServiceInfo& a, const ServiceInfo& b) {
        return std::tie(a.key.fwmark, a.key.family, a.key.protocol, a.key.address, a.key.port) <
               std::tie(b.key.fwmark, b.key.family, b.key.protocol, b.key.address, b.key.port);
    });
    for (auto& svc : sorted) {
        std::sort(svc.dests.begin(), svc.dests.end(),
                  [](const DestInfo& a, const DestInfo& b) { return a.key < b.key; });
    }
    for (const auto& svc : sorted) {
        const auto name = service_name(svc.key);
        if (layout == TableLayout::list) {
            std::string flags;
            if ((svc.settings.flags & kSvcPersistent) != 0) {
                flags = fmt::format(" persistent {}", svc.settings.timeout);
            }
            line(fmt::format("{} {}{}", name, svc.settings.scheduler, flags));
        } else {
            line(fmt::format("{:<33}", name) + counters(svc.stats, layout));
        }
        for (const auto& d : svc.dests) {
            if (layout == TableLayout::list) {
                line(fmt::format("  -> {:<28} {:<7} {:<6} {:<10} {:<10}", d.key.str(),
                                 to_string(d.settings.forward), d.settings.weight, d.active_conns,
                                 d.inactive_conns));
            } else {
                line(fmt::format("  -> {:<28}", d.key.str()) + counters(d.stats, layout));
            }
        }
    }
    return out;
}

}  // namespace lvsctl

namespace lvsctl {

std::string ipvsadm_rules(const Cluster& c) {
    std::string out;
    for (const auto family : {Family::inet, Family::inet6}) {
        if (family == Family::inet6 && !c.has_v6_website_ips()) {
            break;
        }
        const bool v4 = family == Family::inet;
        const auto service = fmt::format("-f {}{}", c.fwmark, v4 ? "" : " -6");
        out += fmt::format("-A {} -s {}", service, c.scheduler);
        if (c.persistence > 0) {
            out += fmt::format(" -p {}", c.persistence);
        }
        out += '\n';
        std::vector<std::pair<IpAddress, std::int64_t>> dests;
        for (const auto& s : c.servers) {
            const auto* addr = v4 ? &s.address : s.address_v6 ? &*s.address_v6 : nullptr;
            if (addr != nullptr) {
                dests.emplace_back(*addr, s.active ? s.weight : 0);
            }
        }
        std::sort(dests.begin(), dests.end());
        const char* forward = c.forwarding == Forwarding::masq     ? "-m"
                              : c.forwarding == Forwarding::tunnel ? "-i"
                                                                   : "-g";
        for (const auto& [addr, weight] : dests) {
            out += fmt::format("-a {} -r {}:0 {} -w {}\n", service,
                               v4 ? addr.str() : fmt::format("[{}]", addr.str()), forward, weight);
        }
    }
    return out;
}

}  // namespace lvsctl
