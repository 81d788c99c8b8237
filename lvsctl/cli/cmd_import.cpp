// `lvsctl import`: store a piranha lvs.cf as cluster N (migration from piranha).
#include <memory>

#include "lvsctl/cli/app.h"

namespace lvsctl::cli {

namespace {
struct ImportOptions {
    std::int64_t cluster_id = 0;
    std::string file;
};
}  // namespace

void setup_import(CLI::App& parent, Registry& registry) {
    auto opts = std::make_shared<ImportOptions>();
    auto* cmd = parent.add_subcommand("import", "Store a piranha lvs.cf as cluster N");
    add_cluster_id(*cmd, opts->cluster_id)->required();
    cmd->add_option("FILE", opts->file, "The lvs.cf to read")->check(CLI::ExistingFile)->required();
    registry.add(cmd, opts, [](const ImportOptions&, Context&) -> int {
        unavailable("import", "the database module");
    });
}

}  // namespace lvsctl::cli
