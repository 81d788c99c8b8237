// `lvsctl import`: store a piranha lvs.cf as cluster N (migration from piranha).
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <fstream>
#include <memory>

#include "db/database.h"
#include "lvsctl/cli/app.h"
#include "lvsctl/cli/converge.h"
#include "lvsctl/cli/files.h"
#include "lvsctl/error.h"
#include "lvsctl/lvscf.h"
#include "lvsctl/validate.h"

namespace lvsctl::cli {

namespace {

struct ImportOptions {
    std::int64_t cluster_id = 0;
    std::string file;
    bool no_update = false;
};

int run_import(const ImportOptions& o, Context& ctx) {
    const auto text = read_file_if_exists(o.file);
    if (!text) {
        throw Error(ExitCode::data, fmt::format("{}: no such file", o.file));
    }
    auto parsed = parse_lvs_cf(*text, o.file);
    parsed.cluster.id = o.cluster_id;
    for (const auto& note : parsed.ignored) {
        fmt::print(ctx.err, "lvsctl: {} {}: a piranha setting lvsctl does not use\n", o.file, note);
    }
    db::Database database(ctx.settings.db);
    database.lock_cluster(o.cluster_id, std::chrono::seconds(ctx.settings.lock_timeout));
    const auto done = database.import_cluster(o.cluster_id, parsed.cluster);
    std::string what;
    for (const auto& line : done) {
        what += (what.empty() ? "" : "\n") + line;
    }
    return hook_done(ctx, database, o.cluster_id, o.no_update, what);
}

}  // namespace

void setup_import(CLI::App& parent, Registry& registry) {
    auto opts = std::make_shared<ImportOptions>();
    auto* cmd = parent.add_subcommand("import", "Store a piranha lvs.cf as cluster N");
    add_cluster_id(*cmd, opts->cluster_id)->required();
    cmd->add_option("FILE", opts->file, "The lvs.cf to read")->check(CLI::ExistingFile)->required();
    add_no_update(*cmd, opts->no_update);
    registry.add(cmd, opts, run_import);
}

}  // namespace lvsctl::cli
