// `lvsctl import`: store a piranha lvs.cf, a keepalived.conf or `ipvsadm -S` output as cluster N
// (migration; docs/migration.md).
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <memory>

#include "lvsctl/cli/app.h"
#include "lvsctl/cli/converge.h"
#include "lvsctl/cli/files.h"
#include "lvsctl/error.h"
#include "lvsctl/lvsctl.h"

namespace lvsctl::cli {

namespace {

struct ImportOptions {
    std::int64_t cluster_id = 0;
    std::string file;
    std::string format = "lvscf";
    std::vector<std::string> servers;  // NAME=MGMT_IP
    std::string backend;               // "": the row's (ipvs for a new cluster)
    std::string primary;
    std::string backup;
    bool no_update = false;
};

// Through the public API (api::Connection::import_config): the file read here, its warnings
// printed as they come, before anything is written.
int run_import(const ImportOptions& o, Context& ctx) {
    const auto text = read_file_if_exists(o.file);
    if (!text) {
        throw Error(ExitCode::data, fmt::format("{}: no such file", o.file));
    }
    api::ImportOptions i;
    i.source = o.file;
    i.format = o.format;
    i.servers = o.servers;
    i.backend = o.backend;
    i.primary = o.primary;
    i.backup = o.backup;
    i.no_update = o.no_update;
    i.warning = [&](const std::string& note) {
        fmt::print(ctx.err, "lvsctl: {} {}\n", o.file, note);
    };
    return hook_api(ctx, o.cluster_id, [&](api::Connection& connection) {
        return connection.import_config(o.cluster_id, *text, i);
    });
}

}  // namespace

void setup_import(CLI::App& parent, Registry& registry) {
    auto opts = std::make_shared<ImportOptions>();
    auto* cmd = parent.add_subcommand(
        "import", "Store a piranha lvs.cf, a keepalived.conf or ipvsadm -S output as cluster N");
    add_cluster_id(*cmd, opts->cluster_id)->required();
    cmd->add_option("FILE", opts->file, "The file to read")->check(CLI::ExistingFile)->required();
    cmd->add_option("--format", opts->format, "lvscf (default), keepalived or ipvsadm")
        ->check(CLI::IsMember({"lvscf", "keepalived", "ipvsadm"}));
    cmd->add_option("--server", opts->servers,
                    "NAME=MGMT_IP: the management (SSH) address of the server the file names "
                    "NAME (repeatable)")
        ->type_name("NAME=MGMT_IP")
        ->allow_extra_args(false);
    cmd->add_option("--backend", opts->backend,
                    "The cluster's backend: ipvs, piranha, keepalived or exec:PROGRAM (default: "
                    "the cluster's, ipvs for a new one)")
        ->type_name("BACKEND");
    cmd->add_option("--primary", opts->primary, "The primary LB's management address")
        ->type_name("IP");
    cmd->add_option("--backup", opts->backup, "The backup LB's management address")
        ->type_name("IP");
    add_no_update(*cmd, opts->no_update);
    registry.add(cmd, opts, run_import);
}

}  // namespace lvsctl::cli
