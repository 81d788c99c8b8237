// The cluster as the platform's database describes it (docs/database.md). Plain values: the
// database reader and the lvs.cf parser fill it, validate() checks it, renderers read it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lvsctl/address.h"

namespace lvsctl {

enum class Forwarding { route, masq, tunnel };
enum class Role { primary, backup };
// How an ipvs cluster with a backup LB moves its website IPs (docs/ha.md): keepalived's VRRP,
// configured by lvsctl, or another tool (today's pulse, a provider's own).
enum class Ha { vrrp, external };

std::string_view to_string(Forwarding forwarding);  // "route" / "masq" / "tunnel"
std::optional<Forwarding> parse_forwarding(std::string_view text);
std::string_view to_string(Role role);  // "primary" / "backup"
std::optional<Role> parse_role(std::string_view text);
std::string_view to_string(Ha ha);  // "vrrp" / "external"
std::optional<Ha> parse_ha(std::string_view text);

// Wide integer fields hold whatever a source said, so that validate() can name a bad value
// instead of a reader silently truncating it.
struct LoadBalancer {
    Role role = Role::primary;
    IpAddress mgmt_address;
    std::int64_t ssh_port = 22;
    std::string vip_interface = "eth1";
};

// A piranha lvs.cf setting lvsctl keeps without acting on it (docs/migration.md): `value` is the
// text after `=` as lvs.cf writes it (words separated by one space, quotes kept), rendered back
// into lvs.cf as it was read so that the piranha backend keeps pulse's and nanny's configuration.
struct LvsCfSetting {
    std::string key;
    std::string value;
    bool operator==(const LvsCfSetting&) const = default;
};

// What an imported lvs.cf said that the cluster's columns do not hold (docs/migration.md).
struct LvsCfLayout {
    std::vector<LvsCfSetting> global;            // heartbeat, nat_router, syncdaemon, ...
    std::vector<LvsCfSetting> virtual_settings;  // in each virtual: sorry_server, pmask, ...
    std::optional<std::string> virtual_name;     // the IPv4 virtual's name, when not NAME-v4
    std::optional<std::string> virtual_name_v6;  // the IPv6 virtual's name, when not NAME-v6
    // `address = VIP DEVICE`: the device pulse raises the virtual's first website IP on.
    std::optional<std::string> address_device;
    bool by_address = false;  // no fwmark: piranha's VIP:port service (lvs.cf without fwmark)
    bool inactive = false;    // `active = 0`: pulse does not run the virtual
    // The file has an IPv6 virtual: rendered even when no IPv6 website IP is known (lvs.cf does
    // not list the website IPs of a mark service).
    bool ipv6_virtual = false;
    bool operator==(const LvsCfLayout&) const = default;
};

struct Server {
    std::int64_t node_id = 0;
    IpAddress mgmt_address;
    IpAddress address;                    // IPv4 real-server address
    std::optional<IpAddress> address_v6;  // IPv6 real-server address
    std::int64_t ssh_port = 22;
    std::int64_t weight = 32;
    bool active = true;
    std::optional<std::string> lvscf_name;     // lvs.cf's `server NAME`, when not mgmt_address
    std::vector<LvsCfSetting> lvscf_settings;  // lvs.cf's server keys lvsctl keeps (port)
};

// Another cluster's VRRP instance (docs/ha.md), read with a cluster so that validate() can refuse
// a router id or a load balancer two instances would share.
struct VrrpNeighbour {
    std::int64_t cluster_id = 0;
    std::int64_t router_id = 0;
    std::vector<IpAddress> load_balancers;  // their mgmt_address
};

struct Cluster {
    std::int64_t id = 0;
    std::string name;
    std::string backend = "ipvs";  // ipvs | piranha | keepalived | exec:/path
    std::string scheduler = "lblc";
    std::int64_t fwmark = 100;
    std::string protocol = "tcp";
    std::vector<std::int64_t> ports{80, 443};
    Forwarding forwarding = Forwarding::route;
    std::int64_t persistence = 0;  // seconds, 0 = none
    std::optional<std::string> check_send = std::string("GET / HTTP/1.0\r\n\r\n");
    std::optional<std::string> check_expect = std::string("HTTP");
    std::int64_t check_timeout = 10;  // connect and read, seconds
    std::int64_t check_reentry = 10;
    std::optional<std::string> load_monitor;
    // The monitor's (docs/monitor.md): how often a check runs, on which port (std::nullopt: the
    // first of `ports`), whether check_expect is a regular expression, a program instead of
    // connect and send (%h: the server's address), weight 0 instead of removal for a server
    // that fails, and the load rule's ceiling (times the configured weight).
    std::int64_t check_interval = 10;
    std::optional<std::int64_t> check_port;
    bool check_use_regex = false;
    std::optional<std::string> check_program;
    bool quiesce_server = false;
    std::int64_t load_scale = 10;
    // High availability (docs/ha.md): with a backup LB and the ipvs backend, `vrrp` has lvsctl
    // configure keepalived's VRRP on both LBs (router id: vrrp_router_id, or the cluster id when
    // null); `external` leaves the website IPs on every LB for another tool to arbitrate.
    Ha ha = Ha::vrrp;
    std::optional<std::int64_t> vrrp_router_id;
    std::int64_t vrrp_advert_int = 1;            // seconds
    std::vector<VrrpNeighbour> vrrp_neighbours;  // the other clusters that use VRRP
    LvsCfLayout lvscf;                           // an imported lvs.cf's other settings

    std::vector<LoadBalancer> load_balancers;
    std::vector<Server> servers;
    std::vector<IpAddress> website_ips;

    // The configuration's serial number (lvs.cf serial_no). Not a column of h2e_clusters: it
    // comes from the run log and increases whenever the rendered configuration changes.
    std::int64_t serial = 0;

    const LoadBalancer* primary() const;
    const LoadBalancer* backup() const;
    bool has_v6_website_ips() const;
    // Whether keepalived's VRRP moves the website IPs: backend ipvs, a backup LB, ha = vrrp.
    bool uses_vrrp() const;
    std::int64_t router_id() const;  // vrrp_router_id, or the cluster id
};

// h2e_clusters.backend, read once: how a cluster's LBs are driven (docs/database.md).
enum class BackendKind { ipvs, piranha, keepalived, exec };
struct BackendSpec {
    BackendKind kind = BackendKind::ipvs;
    std::string program;  // exec: the program's path as written (validate() checks it)
};
// "ipvs", "piranha", "keepalived" or "exec:PROGRAM"; std::nullopt for anything else.
std::optional<BackendSpec> parse_backend(std::string_view text);

// The IPVS schedulers a mainline kernel ships (ip_vs_<name>.ko).
bool is_known_scheduler(std::string_view name);

}  // namespace lvsctl
