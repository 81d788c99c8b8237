// `lvsctl ip add|remove`: the platform's hooks for website IPs.
#include <fmt/format.h>

#include <memory>

#include "db/database.h"
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

int run_ip(const IpOptions& o, Context& ctx) {
    std::vector<IpAddress> ips;
    for (const auto& text : o.addresses) {
        ips.push_back(*IpAddress::parse(text));  // checked by the flag's validator
    }
    db::Database database(ctx.settings.db);
    database.lock_cluster(o.cluster_id, std::chrono::seconds(ctx.settings.lock_timeout));
    const int changed =
        o.add ? database.add_ips(o.cluster_id, ips) : database.remove_ips(o.cluster_id, ips);
    return hook_done(ctx, database, o.cluster_id, o.no_update,
                     fmt::format("h2e_cluster_ips cluster_id={}: {} {} of {} website IP(s)",
                                 o.cluster_id, o.add ? "added" : "removed", changed, ips.size()));
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
