#include "lvsctl/model.h"

#include <algorithm>
#include <array>

namespace lvsctl {

std::string_view to_string(Forwarding forwarding) {
    switch (forwarding) {
        case Forwarding::route:
            return "route";
        case Forwarding::masq:
            return "masq";
        case Forwarding::tunnel:
            return "tunnel";
    }
    return "route";
}

std::optional<BackendSpec> parse_backend(std::string_view text) {
    constexpr std::string_view kExec = "exec:";
    if (text == "ipvs") {
        return BackendSpec{BackendKind::ipvs, {}};
    }
    if (text == "piranha") {
        return BackendSpec{BackendKind::piranha, {}};
    }
    if (text == "keepalived") {
        return BackendSpec{BackendKind::keepalived, {}};
    }
    if (text.starts_with(kExec)) {
        return BackendSpec{BackendKind::exec, std::string(text.substr(kExec.size()))};
    }
    return std::nullopt;
}

std::optional<Forwarding> parse_forwarding(std::string_view text) {
    for (auto f : {Forwarding::route, Forwarding::masq, Forwarding::tunnel}) {
        if (to_string(f) == text) {
            return f;
        }
    }
    return std::nullopt;
}

std::string_view to_string(Role role) {
    return role == Role::primary ? "primary" : "backup";
}

std::optional<Role> parse_role(std::string_view text) {
    if (text == "primary") {
        return Role::primary;
    }
    if (text == "backup") {
        return Role::backup;
    }
    return std::nullopt;
}

std::string_view to_string(Ha ha) {
    return ha == Ha::vrrp ? "vrrp" : "external";
}

std::optional<Ha> parse_ha(std::string_view text) {
    if (text == "vrrp") {
        return Ha::vrrp;
    }
    if (text == "external") {
        return Ha::external;
    }
    return std::nullopt;
}

namespace {
const LoadBalancer* find_role(const std::vector<LoadBalancer>& lbs, Role role) {
    auto it =
        std::find_if(lbs.begin(), lbs.end(), [role](const auto& lb) { return lb.role == role; });
    return it == lbs.end() ? nullptr : &*it;
}
}  // namespace

const LoadBalancer* Cluster::primary() const {
    return find_role(load_balancers, Role::primary);
}
const LoadBalancer* Cluster::backup() const {
    return find_role(load_balancers, Role::backup);
}

bool Cluster::has_v6_website_ips() const {
    return std::any_of(website_ips.begin(), website_ips.end(),
                       [](const IpAddress& ip) { return !ip.is_v4(); });
}

bool Cluster::uses_vrrp() const {
    const auto spec = parse_backend(backend);
    return ha == Ha::vrrp && spec && spec->kind == BackendKind::ipvs && backup() != nullptr;
}

std::int64_t Cluster::router_id() const {
    return vrrp_router_id.value_or(id);
}

bool is_known_scheduler(std::string_view name) {
    static constexpr std::array<std::string_view, 14> known = {"rr",    "wrr", "lc", "wlc", "lblc",
                                                               "lblcr", "dh",  "sh", "sed", "nq",
                                                               "fo",    "ovf", "mh", "twos"};
    return std::find(known.begin(), known.end(), name) != known.end();
}

}  // namespace lvsctl
