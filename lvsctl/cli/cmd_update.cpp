// `lvsctl update`: converge the cluster's LBs and web servers to the database.
#include <memory>

#include "lvsctl/cli/app.h"

namespace lvsctl::cli {

namespace {
struct UpdateOptions {
    std::int64_t cluster_id = 0;
    bool dry_run = false;
    bool detailed_exitcode = false;
};
}  // namespace

void setup_update(CLI::App& parent, Registry& registry) {
    auto opts = std::make_shared<UpdateOptions>();
    auto* cmd = parent.add_subcommand("update", "Converge the cluster to what the database says");
    add_cluster_id(*cmd, opts->cluster_id)->required();
    cmd->add_flag("--dry-run", opts->dry_run, "Print the plan, change nothing");
    cmd->add_flag("--detailed-exitcode", opts->detailed_exitcode,
                  "With --dry-run: exit 2 when changes are pending");
    registry.add(cmd, opts, [](const UpdateOptions&, Context&) -> int {
        unavailable("update", "the database module");
    });
}

}  // namespace lvsctl::cli
