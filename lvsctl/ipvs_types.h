// The kernel's IPVS table as lvsctl sees it, and the changes it can ask for. Plain values, no
// netlink: the ipvs/ module translates them, the planner and the tests use them directly.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

#include "lvsctl/address.h"
#include "lvsctl/model.h"

namespace lvsctl {

// The kernel's forwarding methods (IP_VS_CONN_F_*); foreign services may use any of them.
enum class IpvsForward : std::uint32_t { masq = 0, local = 1, tunnel = 2, route = 3, bypass = 4 };
IpvsForward to_ipvs(Forwarding forwarding);
// As ipvsadm prints them (Masq, Local, Tunnel, Route), and as the JSON documents say them.
std::string_view to_string(IpvsForward forward);
std::string_view json_name(IpvsForward forward);

constexpr std::uint32_t kSvcPersistent = 0x0001;  // IP_VS_SVC_F_PERSISTENT
constexpr std::uint32_t kSvcHashed = 0x0002;      // set by the kernel in dumps; never compare it

struct IpvsStats {
    std::uint64_t conns = 0, inpkts = 0, outpkts = 0, inbytes = 0, outbytes = 0;
    std::uint64_t cps = 0, inpps = 0, outpps = 0, inbps = 0, outbps = 0;
    friend bool operator==(const IpvsStats&, const IpvsStats&) = default;
};

// A service is keyed by (family, fwmark) or by (family, protocol, address, port).
struct ServiceKey {
    Family family = Family::inet;
    std::uint32_t fwmark = 0;    // non-zero: a firewall-mark service
    std::uint16_t protocol = 0;  // IPPROTO_* when fwmark is 0
    IpAddress address;           // when fwmark is 0
    std::uint16_t port = 0;      // when fwmark is 0

    static ServiceKey fwmark_service(Family family, std::uint32_t mark) {
        ServiceKey key;
        key.family = family;
        key.fwmark = mark;
        key.address = family == Family::inet ? IpAddress() : *IpAddress::parse("::");
        return key;
    }
    std::string str() const;  // "FWM 100", "FWM 100 (IPv6)", "TCP 10.0.0.1:80", "TCP [::1]:80"
    friend auto operator<=>(const ServiceKey&, const ServiceKey&) = default;
};

struct ServiceSettings {
    std::string scheduler;
    std::uint32_t flags = 0;    // IP_VS_SVC_F_*, without HASHED
    std::uint32_t timeout = 0;  // persistence, seconds
    std::uint32_t netmask =
        0xffffffff;  // persistence granularity: a mask (IPv4) or a prefix (IPv6)
    friend bool operator==(const ServiceSettings&, const ServiceSettings&) = default;
};

struct DestKey {
    IpAddress address;
    std::uint16_t port = 0;
    std::string str() const;  // "10.39.84.45:0", "[2001:db8::45]:0"
    friend auto operator<=>(const DestKey&, const DestKey&) = default;
};

struct DestSettings {
    IpvsForward forward = IpvsForward::route;
    std::uint32_t weight = 0;
    std::uint32_t upper_threshold = 0;
    std::uint32_t lower_threshold = 0;
    friend bool operator==(const DestSettings&, const DestSettings&) = default;
};

struct DestInfo {
    DestKey key;
    DestSettings settings;
    std::uint32_t active_conns = 0;
    std::uint32_t inactive_conns = 0;
    std::uint32_t persistent_conns = 0;
    IpvsStats stats;
};

struct ServiceInfo {
    ServiceKey key;
    ServiceSettings settings;
    IpvsStats stats;
    std::vector<DestInfo> dests;
};

// An IPVS connection sync daemon running in the kernel (ipvsadm -L --daemon).
struct SyncDaemon {
    std::string state;      // "master" or "backup"
    std::string interface;  // its multicast interface
    std::uint32_t sync_id = 0;
    bool operator==(const SyncDaemon&) const = default;
};

enum class IpvsOp { add_service, set_service, delete_service, add_dest, set_dest, delete_dest };

struct IpvsChange {
    IpvsOp op = IpvsOp::add_service;
    ServiceKey service;
    ServiceSettings service_settings;  // add_service, set_service
    DestKey dest;                      // *_dest
    DestSettings dest_settings;        // add_dest, set_dest

    // "add destination 10.39.84.45:0 to FWM 100", "set service FWM 100 (IPv6)", ...
    std::string describe() const;
    // The kernel's errno for this change in words, as ipvsadm says them ("No such service").
    std::string error_text(int error) const;
};

}  // namespace lvsctl
