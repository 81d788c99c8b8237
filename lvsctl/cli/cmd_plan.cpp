// `lvsctl plan`: the same as `update --dry-run`.
#include <memory>

#include "lvsctl/cli/app.h"

namespace lvsctl::cli {

namespace {
struct PlanOptions {
    std::int64_t cluster_id = 0;
    bool detailed_exitcode = false;
};
}  // namespace

void setup_plan(CLI::App& parent, Registry& registry) {
    auto opts = std::make_shared<PlanOptions>();
    auto* cmd = parent.add_subcommand("plan", "Print what update would change (update --dry-run)");
    add_cluster_id(*cmd, opts->cluster_id)->required();
    cmd->add_flag("--detailed-exitcode", opts->detailed_exitcode,
                  "Exit 2 when changes are pending");
    registry.add(cmd, opts, [](const PlanOptions&, Context&) -> int {
        unavailable("plan", "the database module");
    });
}

}  // namespace lvsctl::cli
