// `lvsctl server add|remove|set`: the platform's hooks for web servers.
#include <memory>

#include "lvsctl/cli/app.h"
#include "lvsctl/cli/validators.h"

namespace lvsctl::cli {

namespace {
struct ServerOptions {
    std::int64_t cluster_id = 0;
    std::int64_t node_id = 0;
    std::string address;
    std::string mgmt_address;
    std::string address_v6;
    int weight = 32;
    int drain_timeout = 30;
    bool active = true;
};

CLI::Option* add_node_id(CLI::App& cmd, std::int64_t& node_id) {
    return cmd.add_option("--node-id", node_id, "Web server id (apache_h2e_nodes.node_id)")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{0x7fffffff}))
        ->required();
}
}  // namespace

void setup_server(CLI::App& parent, Registry& registry) {
    auto* group = parent.add_subcommand("server", "Hooks: add, remove or change a web server");
    group->require_subcommand(1);

    auto add = std::make_shared<ServerOptions>();
    auto* cmd = group->add_subcommand("add", "Add a web server to the cluster, then update");
    add_cluster_id(*cmd, add->cluster_id)->required();
    add_node_id(*cmd, add->node_id);
    cmd->add_option("--address", add->address, "IPv4 real-server address")
        ->check(ip_address(Family::inet))
        ->required();
    cmd->add_option("--mgmt-address", add->mgmt_address, "Management (SSH) address")
        ->check(ip_address())
        ->required();
    cmd->add_option("--address-v6", add->address_v6, "IPv6 real-server address")
        ->check(ip_address(Family::inet6));
    cmd->add_option("--weight", add->weight, "IPVS weight")->check(CLI::Range(0, 65535));
    registry.add(cmd, add, [](const ServerOptions&, Context&) -> int {
        unavailable("server add", "the database module");
    });

    auto remove = std::make_shared<ServerOptions>();
    cmd =
        group->add_subcommand("remove", "Drain a web server, remove it from IPVS and the cluster");
    add_cluster_id(*cmd, remove->cluster_id)->required();
    add_node_id(*cmd, remove->node_id);
    cmd->add_option("--drain-timeout", remove->drain_timeout,
                    "Seconds to wait for active connections to end")
        ->check(CLI::Range(0, 86400));
    registry.add(cmd, remove, [](const ServerOptions&, Context&) -> int {
        unavailable("server remove", "the database module");
    });

    auto set = std::make_shared<ServerOptions>();
    cmd = group->add_subcommand("set", "Change a web server's weight or activity, then update");
    add_cluster_id(*cmd, set->cluster_id)->required();
    add_node_id(*cmd, set->node_id);
    cmd->add_option("--weight", set->weight, "IPVS weight")->check(CLI::Range(0, 65535));
    cmd->add_option("--active", set->active, "true or false");
    registry.add(cmd, set, [](const ServerOptions&, Context&) -> int {
        unavailable("server set", "the database module");
    });
}

}  // namespace lvsctl::cli
