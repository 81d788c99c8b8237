#include "ipvs/kernel.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/ip_vs.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "lvsctl/error.h"

namespace lvsctl::ipvs {

namespace {

// ---- encoding --------------------------------------------------------------------------

void check(int rc) {
    if (rc < 0) {
        throw Error(ExitCode::internal, "netlink: a message outgrew its buffer");
    }
}

std::uint16_t af_of(Family family) {
    return family == Family::inet ? AF_INET : AF_INET6;
}

// The kernel reads addresses as a 16-byte union, IPv4 in the first four bytes: our layout.
void put_address(nl_msg* msg, int type, const IpAddress& address) {
    check(nla_put(msg, type, 16, address.bytes().data()));
}

void put_service(nl_msg* msg, const ServiceKey& key, const ServiceSettings* settings) {
    nlattr* nest = nla_nest_start(msg, IPVS_CMD_ATTR_SERVICE);
    if (nest == nullptr) {
        check(-1);
    }
    check(nla_put_u16(msg, IPVS_SVC_ATTR_AF, af_of(key.family)));
    if (key.fwmark != 0) {
        check(nla_put_u32(msg, IPVS_SVC_ATTR_FWMARK, key.fwmark));
    } else {
        check(nla_put_u16(msg, IPVS_SVC_ATTR_PROTOCOL, key.protocol));
        put_address(msg, IPVS_SVC_ATTR_ADDR, key.address);
        check(nla_put_u16(msg, IPVS_SVC_ATTR_PORT, htons(key.port)));
    }
    if (settings != nullptr) {
        // NEW and SET want the whole service: scheduler, flags, timeout and netmask.
        check(nla_put_string(msg, IPVS_SVC_ATTR_SCHED_NAME, settings->scheduler.c_str()));
        ip_vs_flags flags{settings->flags & ~kSvcHashed, 0xffffffffU};
        check(nla_put(msg, IPVS_SVC_ATTR_FLAGS, sizeof flags, &flags));
        check(nla_put_u32(msg, IPVS_SVC_ATTR_TIMEOUT, settings->timeout));
        check(nla_put_u32(msg, IPVS_SVC_ATTR_NETMASK, settings->netmask));
    }
    nla_nest_end(msg, nest);
}

void put_dest(nl_msg* msg, const DestKey& key, const DestSettings* settings) {
    nlattr* nest = nla_nest_start(msg, IPVS_CMD_ATTR_DEST);
    if (nest == nullptr) {
        check(-1);
    }
    put_address(msg, IPVS_DEST_ATTR_ADDR, key.address);
    check(nla_put_u16(msg, IPVS_DEST_ATTR_PORT, htons(key.port)));
    check(nla_put_u16(msg, IPVS_DEST_ATTR_ADDR_FAMILY, af_of(key.address.family())));
    if (settings != nullptr) {
        check(nla_put_u32(msg, IPVS_DEST_ATTR_FWD_METHOD,
                          static_cast<std::uint32_t>(settings->forward)));
        check(nla_put_u32(msg, IPVS_DEST_ATTR_WEIGHT, settings->weight));
        check(nla_put_u32(msg, IPVS_DEST_ATTR_U_THRESH, settings->upper_threshold));
        check(nla_put_u32(msg, IPVS_DEST_ATTR_L_THRESH, settings->lower_threshold));
    }
    nla_nest_end(msg, nest);
}

std::uint8_t command_of(IpvsOp op) {
    switch (op) {
        case IpvsOp::add_service:
            return IPVS_CMD_NEW_SERVICE;
        case IpvsOp::set_service:
            return IPVS_CMD_SET_SERVICE;
        case IpvsOp::delete_service:
            return IPVS_CMD_DEL_SERVICE;
        case IpvsOp::add_dest:
            return IPVS_CMD_NEW_DEST;
        case IpvsOp::set_dest:
            return IPVS_CMD_SET_DEST;
        case IpvsOp::delete_dest:
            return IPVS_CMD_DEL_DEST;
    }
    return IPVS_CMD_UNSPEC;
}

void encode(nl_msg* msg, const IpvsChange& c) {
    const bool full_service = c.op == IpvsOp::add_service || c.op == IpvsOp::set_service;
    put_service(msg, c.service, full_service ? &c.service_settings : nullptr);
    if (c.op == IpvsOp::add_dest || c.op == IpvsOp::set_dest) {
        put_dest(msg, c.dest, &c.dest_settings);
    } else if (c.op == IpvsOp::delete_dest) {
        put_dest(msg, c.dest, nullptr);
    }
}

// ---- decoding (dumps) --------------------------------------------------------------------

[[noreturn]] void malformed(const char* what) {
    throw Error(ExitCode::kernel, fmt::format("IPVS: malformed dump from the kernel: {}", what));
}

template <int Max>
struct Attrs {
    nlattr* tb[Max + 1] = {};
    nlattr* operator[](int i) const { return tb[i]; }
};

template <int Max>
Attrs<Max> nested(nlattr* attr, const char* what) {
    Attrs<Max> a;
    if (attr == nullptr || nla_parse_nested(a.tb, Max, attr, nullptr) < 0) {
        malformed(what);
    }
    return a;
}

std::uint16_t u16(nlattr* a, const char* what) {
    if (a == nullptr || nla_len(a) != 2) {
        malformed(what);
    }
    return nla_get_u16(a);
}
std::uint32_t u32(nlattr* a, const char* what) {
    if (a == nullptr || nla_len(a) != 4) {
        malformed(what);
    }
    return nla_get_u32(a);
}
std::uint64_t u64_or_u32(nlattr* a) {
    if (a == nullptr) {
        return 0;
    }
    if (nla_len(a) == 8) {
        return nla_get_u64(a);
    }
    if (nla_len(a) == 4) {
        return nla_get_u32(a);
    }
    malformed("counter");
}

Family family_of(std::uint16_t af) {
    if (af == AF_INET) {
        return Family::inet;
    }
    if (af == AF_INET6) {
        return Family::inet6;
    }
    malformed("address family");
}

// Dumps carry 16 bytes whatever the family: read as many as the family has.
IpAddress address(nlattr* a, Family family) {
    if (a == nullptr || nla_len(a) < 4) {
        malformed("address");
    }
    char text[INET6_ADDRSTRLEN] = {};
    const int af = family == Family::inet ? AF_INET : AF_INET6;
    std::uint8_t bytes[16] = {};
    std::memcpy(bytes, nla_data(a),
                std::min<std::size_t>(16, static_cast<std::size_t>(nla_len(a))));
    if (family == Family::inet6 && nla_len(a) < 16) {
        malformed("IPv6 address");
    }
    inet_ntop(af, bytes, text, sizeof text);
    return *IpAddress::parse(text);
}

IpvsStats stats(nlattr* stats64, nlattr* stats32) {
    IpvsStats s;
    nlattr* which = stats64 != nullptr ? stats64 : stats32;
    if (which == nullptr) {
        return s;
    }
    const auto a = nested<IPVS_STATS_ATTR_MAX>(which, "stats");
    s.conns = u64_or_u32(a[IPVS_STATS_ATTR_CONNS]);
    s.inpkts = u64_or_u32(a[IPVS_STATS_ATTR_INPKTS]);
    s.outpkts = u64_or_u32(a[IPVS_STATS_ATTR_OUTPKTS]);
    s.inbytes = u64_or_u32(a[IPVS_STATS_ATTR_INBYTES]);
    s.outbytes = u64_or_u32(a[IPVS_STATS_ATTR_OUTBYTES]);
    s.cps = u64_or_u32(a[IPVS_STATS_ATTR_CPS]);
    s.inpps = u64_or_u32(a[IPVS_STATS_ATTR_INPPS]);
    s.outpps = u64_or_u32(a[IPVS_STATS_ATTR_OUTPPS]);
    s.inbps = u64_or_u32(a[IPVS_STATS_ATTR_INBPS]);
    s.outbps = u64_or_u32(a[IPVS_STATS_ATTR_OUTBPS]);
    return s;
}

Attrs<IPVS_CMD_ATTR_MAX> top_level(nlmsghdr& hdr) {
    Attrs<IPVS_CMD_ATTR_MAX> a;
    if (genlmsg_parse(&hdr, 0, a.tb, IPVS_CMD_ATTR_MAX, nullptr) < 0) {
        malformed("message");
    }
    return a;
}

ServiceInfo decode_service(nlmsghdr& hdr) {
    const auto top = top_level(hdr);
    const auto a = nested<IPVS_SVC_ATTR_MAX>(top[IPVS_CMD_ATTR_SERVICE], "service");
    ServiceInfo svc;
    svc.key.family = family_of(u16(a[IPVS_SVC_ATTR_AF], "service family"));
    if (a[IPVS_SVC_ATTR_FWMARK] != nullptr) {
        svc.key.fwmark = u32(a[IPVS_SVC_ATTR_FWMARK], "fwmark");
    }
    if (svc.key.fwmark != 0) {
        svc.key = ServiceKey::fwmark_service(svc.key.family, svc.key.fwmark);
    } else {
        svc.key.protocol = u16(a[IPVS_SVC_ATTR_PROTOCOL], "protocol");
        svc.key.address = address(a[IPVS_SVC_ATTR_ADDR], svc.key.family);
        svc.key.port = ntohs(u16(a[IPVS_SVC_ATTR_PORT], "port"));
    }
    nlattr* sched = a[IPVS_SVC_ATTR_SCHED_NAME];
    if (sched == nullptr || nla_len(sched) < 1) {
        malformed("scheduler");
    }
    svc.settings.scheduler = std::string(static_cast<const char*>(nla_data(sched)),
                                         strnlen(static_cast<const char*>(nla_data(sched)),
                                                 static_cast<std::size_t>(nla_len(sched))));
    nlattr* flags = a[IPVS_SVC_ATTR_FLAGS];
    if (flags == nullptr || nla_len(flags) != sizeof(ip_vs_flags)) {
        malformed("flags");
    }
    ip_vs_flags f{};
    std::memcpy(&f, nla_data(flags), sizeof f);
    svc.settings.flags = f.flags & ~kSvcHashed;
    svc.settings.timeout = u32(a[IPVS_SVC_ATTR_TIMEOUT], "timeout");
    svc.settings.netmask = u32(a[IPVS_SVC_ATTR_NETMASK], "netmask");
    svc.stats = stats(a[IPVS_SVC_ATTR_STATS64], a[IPVS_SVC_ATTR_STATS]);
    return svc;
}

DestInfo decode_dest(nlmsghdr& hdr, Family service_family) {
    const auto top = top_level(hdr);
    const auto a = nested<IPVS_DEST_ATTR_MAX>(top[IPVS_CMD_ATTR_DEST], "destination");
    DestInfo d;
    const auto family = a[IPVS_DEST_ATTR_ADDR_FAMILY] != nullptr
                            ? family_of(u16(a[IPVS_DEST_ATTR_ADDR_FAMILY], "destination family"))
                            : service_family;
    d.key.address = address(a[IPVS_DEST_ATTR_ADDR], family);
    d.key.port = ntohs(u16(a[IPVS_DEST_ATTR_PORT], "destination port"));
    const auto fwd = u32(a[IPVS_DEST_ATTR_FWD_METHOD], "forwarding") & IP_VS_CONN_F_FWD_MASK;
    d.settings.forward = static_cast<IpvsForward>(fwd);
    d.settings.weight = u32(a[IPVS_DEST_ATTR_WEIGHT], "weight");
    d.settings.upper_threshold = u32(a[IPVS_DEST_ATTR_U_THRESH], "upper threshold");
    d.settings.lower_threshold = u32(a[IPVS_DEST_ATTR_L_THRESH], "lower threshold");
    d.active_conns = u32(a[IPVS_DEST_ATTR_ACTIVE_CONNS], "active connections");
    d.inactive_conns = u32(a[IPVS_DEST_ATTR_INACT_CONNS], "inactive connections");
    d.persistent_conns = u32(a[IPVS_DEST_ATTR_PERSIST_CONNS], "persistent connections");
    d.stats = stats(a[IPVS_DEST_ATTR_STATS64], a[IPVS_DEST_ATTR_STATS]);
    return d;
}

}  // namespace

NetlinkKernel::NetlinkKernel(std::size_t window)
    : socket_(NetlinkSocket::open_generic(IPVS_GENL_NAME)), window_(window == 0 ? 1 : window) {}

std::vector<ServiceInfo> NetlinkKernel::services() {
    std::vector<ServiceInfo> out;
    const int error =
        socket_.dump(socket_.generic_request(IPVS_CMD_GET_SERVICE, IPVS_GENL_VERSION, NLM_F_DUMP),
                     [&](nlmsghdr& hdr) { out.push_back(decode_service(hdr)); });
    if (error == EPERM) {
        throw Error(ExitCode::permission,
                    "IPVS: list services: Operation not permitted (run as root)");
    }
    if (error != 0) {
        throw Error(ExitCode::kernel, fmt::format("IPVS: list services: {}", std::strerror(error)));
    }
    return out;
}

std::optional<std::vector<DestInfo>> NetlinkKernel::destinations(const ServiceKey& service) {
    auto request = socket_.generic_request(IPVS_CMD_GET_DEST, IPVS_GENL_VERSION, NLM_F_DUMP);
    put_service(request.get(), service, nullptr);
    std::vector<DestInfo> out;
    const int error = socket_.dump(std::move(request), [&](nlmsghdr& hdr) {
        out.push_back(decode_dest(hdr, service.family));
    });
    if (error == ESRCH) {
        return std::nullopt;
    }
    if (error != 0) {
        throw Error(ExitCode::kernel, fmt::format("IPVS: list destinations of {}: {}",
                                                  service.str(), std::strerror(error)));
    }
    return out;
}

std::vector<ServiceInfo> NetlinkKernel::table() {
    auto all = services();
    for (auto& svc : all) {
        svc.dests = destinations(svc.key).value_or(std::vector<DestInfo>{});
    }
    return all;
}

std::vector<SyncDaemon> NetlinkKernel::sync_daemons() {
    std::vector<SyncDaemon> out;
    const int error = socket_.dump(
        socket_.generic_request(IPVS_CMD_GET_DAEMON, IPVS_GENL_VERSION, NLM_F_DUMP),
        [&](nlmsghdr& hdr) {
            const auto top = top_level(hdr);
            const auto a = nested<IPVS_DAEMON_ATTR_MAX>(top[IPVS_CMD_ATTR_DAEMON], "daemon");
            SyncDaemon d;
            const auto state = u32(a[IPVS_DAEMON_ATTR_STATE], "daemon state");
            d.state = state == IP_VS_STATE_MASTER   ? "master"
                      : state == IP_VS_STATE_BACKUP ? "backup"
                                                    : fmt::format("state {}", state);
            if (a[IPVS_DAEMON_ATTR_MCAST_IFN] != nullptr) {
                const auto* name =
                    static_cast<const char*>(nla_data(a[IPVS_DAEMON_ATTR_MCAST_IFN]));
                d.interface.assign(
                    name, ::strnlen(name, static_cast<std::size_t>(std::max(
                                              0, nla_len(a[IPVS_DAEMON_ATTR_MCAST_IFN])))));
            }
            d.sync_id = u32(a[IPVS_DAEMON_ATTR_SYNC_ID], "sync id");
            out.push_back(std::move(d));
        });
    if (error != 0) {
        throw Error(error == EPERM ? ExitCode::permission : ExitCode::kernel,
                    fmt::format("IPVS: list sync daemons: {}", std::strerror(error)));
    }
    return out;
}

std::vector<int> NetlinkKernel::apply(const std::vector<IpvsChange>& changes) {
    return socket_.transact(
        changes.size(),
        [&](std::size_t i) {
            auto msg =
                socket_.generic_request(command_of(changes[i].op), IPVS_GENL_VERSION, NLM_F_ACK);
            encode(msg.get(), changes[i]);
            return msg;
        },
        window_);
}

}  // namespace lvsctl::ipvs
