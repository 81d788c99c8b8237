// `lvsctl status`: each LB's live IPVS table, where the website IPs are, drift from the database.
#include <memory>

#include "lvsctl/cli/app.h"

namespace lvsctl::cli {

namespace {
struct StatusOptions {
    std::int64_t cluster_id = 0;
    bool stats = false;
    bool rate = false;
};
}  // namespace

void setup_status(CLI::App& parent, Registry& registry) {
    auto opts = std::make_shared<StatusOptions>();
    auto* cmd = parent.add_subcommand("status", "Show the live IPVS tables and deployed VIPs");
    add_cluster_id(*cmd, opts->cluster_id)->required();
    auto* stats = cmd->add_flag("--stats", opts->stats, "Counters, as ipvsadm -L -n --stats");
    auto* rate = cmd->add_flag("--rate", opts->rate, "Rates, as ipvsadm -L -n --rate");
    stats->excludes(rate);
    registry.add(cmd, opts, [](const StatusOptions&, Context&) -> int {
        unavailable("status", "the database and SSH modules");
    });
}

}  // namespace lvsctl::cli
