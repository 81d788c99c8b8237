// `lvsctl server add|remove|set`: the platform's hooks for web servers.
#include <memory>

#include "lvsctl/cli/app.h"
#include "lvsctl/cli/converge.h"
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
    bool no_update = false;
    CLI::Option* weight_flag = nullptr;
    CLI::Option* active_flag = nullptr;
    CLI::Option* address_v6_flag = nullptr;
};

CLI::Option* add_node_id(CLI::App& cmd, std::int64_t& node_id) {
    return cmd.add_option("--node-id", node_id, "Web server id (apache_h2e_nodes.node_id)")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{0x7fffffff}))
        ->required();
}

// Through the public API (api::Connection::add_server).
int run_add(const ServerOptions& o, Context& ctx) {
    api::NewServer s;
    s.node_id = o.node_id;
    s.mgmt_address = o.mgmt_address;
    s.address = o.address;
    if (o.address_v6_flag->count() > 0) {
        s.address_v6 = o.address_v6;
    }
    s.weight = o.weight;
    api::HookOptions h;
    h.no_update = o.no_update;
    return hook_api(ctx, o.cluster_id, [&](api::Connection& connection) {
        return connection.add_server(o.cluster_id, s, h);
    });
}

// docs/commands.md, "Hooks": drain, remove from IPVS, then from the database, then clean its
// website IPs. Through the public API (api::Connection::remove_server).
int run_remove(const ServerOptions& o, Context& ctx) {
    api::RemoveServerOptions r;
    r.no_update = o.no_update;
    r.drain_timeout = o.drain_timeout;
    return hook_api(ctx, o.cluster_id, [&](api::Connection& connection) {
        return connection.remove_server(o.cluster_id, o.node_id, r);
    });
}

// docs/commands.md, "Hooks": a weight or activity matters to the LBs alone (an inactive server
// stays a destination, with weight 0), so only they are read and converged; `update` checks the
// web servers. Through the public API (api::Connection::set_server).
int run_set(const ServerOptions& o, Context& ctx) {
    const auto weight = o.weight_flag->count() > 0 ? std::optional<int>(o.weight) : std::nullopt;
    const auto active = o.active_flag->count() > 0 ? std::optional<bool>(o.active) : std::nullopt;
    api::HookOptions h;
    h.no_update = o.no_update;
    return hook_api(ctx, o.cluster_id, [&](api::Connection& connection) {
        return connection.set_server(o.cluster_id, o.node_id, weight, active, h);
    });
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
    add->address_v6_flag =
        cmd->add_option("--address-v6", add->address_v6, "IPv6 real-server address")
            ->check(ip_address(Family::inet6));
    cmd->add_option("--weight", add->weight, "IPVS weight")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str();
    add_no_update(*cmd, add->no_update);
    registry.add(cmd, add, run_add);

    auto remove = std::make_shared<ServerOptions>();
    cmd =
        group->add_subcommand("remove", "Drain a web server, remove it from IPVS and the cluster");
    add_cluster_id(*cmd, remove->cluster_id)->required();
    add_node_id(*cmd, remove->node_id);
    cmd->add_option("--drain-timeout", remove->drain_timeout,
                    "Seconds to wait for active connections to end")
        ->check(CLI::Range(0, 86400))
        ->capture_default_str();
    add_no_update(*cmd, remove->no_update);
    registry.add(cmd, remove, run_remove);

    auto set = std::make_shared<ServerOptions>();
    cmd = group->add_subcommand("set",
                                "Change a web server's weight or activity, then converge the LBs");
    add_cluster_id(*cmd, set->cluster_id)->required();
    add_node_id(*cmd, set->node_id);
    set->weight_flag =
        cmd->add_option("--weight", set->weight, "IPVS weight")->check(CLI::Range(0, 65535));
    set->active_flag = cmd->add_option(
        "--active", set->active,
        "true or false; an inactive server stays an IPVS destination with weight 0");
    add_no_update(*cmd, set->no_update);
    registry.add(cmd, set, run_set);
}

}  // namespace lvsctl::cli
