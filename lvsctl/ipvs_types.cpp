#include "lvsctl/ipvs_types.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace lvsctl {

IpvsForward to_ipvs(Forwarding forwarding) {
    switch (forwarding) {
        case Forwarding::route:
            return IpvsForward::route;
        case Forwarding::masq:
            return IpvsForward::masq;
        case Forwarding::tunnel:
            return IpvsForward::tunnel;
    }
    return IpvsForward::route;
}

std::string_view to_string(IpvsForward forward) {
    switch (forward) {
        case IpvsForward::masq:
            return "Masq";
        case IpvsForward::local:
            return "Local";
        case IpvsForward::tunnel:
            return "Tunnel";
        case IpvsForward::route:
            return "Route";
        case IpvsForward::bypass:
            return "Bypass";
    }
    return "Unknown";
}

std::string_view json_name(IpvsForward forward) {
    switch (forward) {
        case IpvsForward::masq:
            return "masq";
        case IpvsForward::local:
            return "local";
        case IpvsForward::tunnel:
            return "tunnel";
        case IpvsForward::route:
            return "route";
        case IpvsForward::bypass:
            return "bypass";
    }
    return "unknown";
}

namespace {
std::string_view protocol_name(std::uint16_t protocol) {
    switch (protocol) {
        case 6:
            return "TCP";
        case 17:
            return "UDP";
        case 132:
            return "SCTP";
        default:
            return "IP";
    }
}

std::string host_port(const IpAddress& address, std::uint16_t port) {
    return address.is_v4() ? fmt::format("{}:{}", address.str(), port)
                           : fmt::format("[{}]:{}", address.str(), port);
}
}  // namespace

std::string ServiceKey::str() const {
    if (fwmark != 0) {
        return family == Family::inet ? fmt::format("FWM {}", fwmark)
                                      : fmt::format("FWM {} (IPv6)", fwmark);
    }
    return fmt::format("{} {}", protocol_name(protocol), host_port(address, port));
}

std::string DestKey::str() const {
    return host_port(address, port);
}

std::string IpvsChange::describe() const {
    switch (op) {
        case IpvsOp::add_service:
            return fmt::format("add service {}", service.str());
        case IpvsOp::set_service:
            return fmt::format("set service {}", service.str());
        case IpvsOp::delete_service:
            return fmt::format("delete service {}", service.str());
        case IpvsOp::add_dest:
            return fmt::format("add destination {} to {}", dest.str(), service.str());
        case IpvsOp::set_dest:
            return fmt::format("set destination {} in {}", dest.str(), service.str());
        case IpvsOp::delete_dest:
            return fmt::format("delete destination {} from {}", dest.str(), service.str());
    }
    return "unknown change";
}

std::string IpvsChange::error_text(int error) const {
    const bool on_dest =
        op == IpvsOp::add_dest || op == IpvsOp::set_dest || op == IpvsOp::delete_dest;
    switch (error) {
        case ESRCH:
            return "No such service";
        case EEXIST:
            return on_dest ? "Destination already exists" : "Service already exists";
        case ENOENT:
            if (op == IpvsOp::add_service || op == IpvsOp::set_service) {
                return fmt::format("Scheduler not found (is the ip_vs_{} module available?)",
                                   service_settings.scheduler);
            }
            return "No such destination";
        case EPERM:
            return "Permission denied (you must be root)";
        case EINVAL:
            return "Invalid argument";
        default:
            return std::strerror(error);
    }
}

}  // namespace lvsctl
