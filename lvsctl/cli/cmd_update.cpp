// `lvsctl update`: converge the cluster's LBs and web servers to the database; with --all, every
// cluster, each under its own lock if it is free.
#include <memory>

#include "lvsctl/cli/app.h"
#include "lvsctl/cli/converge.h"

namespace lvsctl::cli {

namespace {
struct UpdateOptions {
    std::int64_t cluster_id = 0;
    bool all = false;
    std::size_t clusters_parallel = 4;
    bool dry_run = false;
    bool detailed_exitcode = false;
    int drain_timeout = 30;
};

int run_update(const UpdateOptions& o, Context& ctx) {
    if (o.all) {
        api::AllOptions a;
        a.dry_run = o.dry_run;
        a.detailed_exitcode = o.detailed_exitcode;
        a.drain_timeout = o.drain_timeout;
        a.clusters_parallel = static_cast<int>(o.clusters_parallel);
        return converge_all(ctx, a);
    }
    // One cluster: the public API's update (api::Connection), which takes the lock unless
    // dry_run.
    api::UpdateOptions u;
    u.dry_run = o.dry_run;
    u.detailed_exitcode = o.detailed_exitcode;
    u.drain_timeout = o.drain_timeout;
    return converge_api(ctx, o.cluster_id, u);
}
}  // namespace

void setup_update(CLI::App& parent, Registry& registry) {
    auto opts = std::make_shared<UpdateOptions>();
    auto* cmd = parent.add_subcommand("update", "Converge the cluster to what the database says");
    add_which_clusters(*cmd, opts->cluster_id, opts->all, opts->clusters_parallel);
    cmd->add_flag("--dry-run", opts->dry_run, "Print the plan, change nothing");
    cmd->add_flag("--detailed-exitcode", opts->detailed_exitcode,
                  "With --dry-run: exit 2 when changes are pending");
    cmd->add_option("--drain-timeout", opts->drain_timeout,
                    "Seconds a removed server's active connections may take to end")
        ->check(CLI::Range(0, 86400))
        ->capture_default_str();
    registry.add(cmd, opts, run_update);
}

}  // namespace lvsctl::cli
