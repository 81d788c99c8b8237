// `lvsctl ip add|remove`: the platform's hooks for website IPs.
#include <memory>

#include "lvsctl/cli/app.h"
#include "lvsctl/cli/converge.h"
#include "lvsctl/cli/validators.h"

namespace lvsctl::cli {

namespace {

struct IpOptions {
    std::int64_t cluster_id = 0;
    std::vector<std::string> addresses;
    bool add = true;
    bool no_update = false;
};

// Through the public API (api::Connection::add_ips / remove_ips).
int run_ip(const IpOptions& o, Context& ctx) {
    api::HookOptions h;
    h.no_update = o.no_update;
    return hook_api(ctx, o.cluster_id, [&](api::Connection& connection) {
        return o.add ? connection.add_ips(o.cluster_id, o.addresses, h)
                     : connection.remove_ips(o.cluster_id, o.addresses, h);
    });
}

}  // namespace

void setup_ip(CLI::App& parent, Registry& registry) {
    auto* group = parent.add_subcommand("ip", "Hooks: add or remove website IPs");
    group->require_subcommand(1);
    for (const bool add : {true, false}) {
        auto opts = std::make_shared<IpOptions>();
        opts->add = add;
        auto* cmd = group->add_subcommand(
            add ? "add" : "remove",
            std::string(add ? "Add" : "Remove") + " website IPs of the cluster, then update");
        add_cluster_id(*cmd, opts->cluster_id)->required();
        cmd->add_option("IP", opts->addresses, "Website IPs, IPv4 or IPv6")
            ->check(ip_address())
            ->required();
        add_no_update(*cmd, opts->no_update);
        registry.add(cmd, opts, run_ip);
    }
}

}  // namespace lvsctl::cli
