// `lvsctl plan`: the same as `update --dry-run`; one cluster through the public API
// (api::Connection::plan is update with dry_run).
#include <memory>

#include "lvsctl/cli/app.h"
#include "lvsctl/cli/converge.h"

namespace lvsctl::cli {

namespace {
struct PlanOptions {
    std::int64_t cluster_id = 0;
    bool all = false;
    std::size_t clusters_parallel = 4;
    bool detailed_exitcode = false;
};
}  // namespace

void setup_plan(CLI::App& parent, Registry& registry) {
    auto opts = std::make_shared<PlanOptions>();
    auto* cmd = parent.add_subcommand("plan", "Print what update would change (update --dry-run)");
    add_which_clusters(*cmd, opts->cluster_id, opts->all, opts->clusters_parallel);
    cmd->add_flag("--detailed-exitcode", opts->detailed_exitcode,
                  "Exit 2 when changes are pending");
    registry.add(cmd, opts, [](const PlanOptions& o, Context& ctx) -> int {
        if (o.all) {
            api::AllOptions a;
            a.dry_run = true;
            a.detailed_exitcode = o.detailed_exitcode;
            a.clusters_parallel = static_cast<int>(o.clusters_parallel);
            return converge_all(ctx, a);
        }
        api::UpdateOptions u;
        u.dry_run = true;
        u.detailed_exitcode = o.detailed_exitcode;
        return converge_api(ctx, o.cluster_id, u);
    });
}

}  // namespace lvsctl::cli
