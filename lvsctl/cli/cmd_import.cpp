// `lvsctl import`: store a piranha lvs.cf, a keepalived.conf or `ipvsadm -S` output as cluster N
// (migration; docs/migration.md).
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <memory>

#include "db/database.h"
#include "lvsctl/cli/app.h"
#include "lvsctl/cli/converge.h"
#include "lvsctl/cli/files.h"
#include "lvsctl/cli/import_hints.h"
#include "lvsctl/error.h"
#include "lvsctl/import.h"
#include "lvsctl/lvscf.h"
#include "lvsctl/validate.h"

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

Imported read_import(const ImportOptions& o, const std::string& text) {
    const auto hints = import_hints(o.servers);
    if (o.format == "lvscf") {
        return parse_lvs_cf(text, o.file, hints);
    }
    if (o.format == "keepalived") {
        return parse_keepalived_conf(text, o.file, hints);
    }
    if (o.format == "ipvsadm") {
        return parse_ipvsadm_save(text, o.file, hints);
    }
    throw Error(ExitCode::usage, fmt::format("import: unknown --format {:?}", o.format));
}

// `--primary` / `--backup`: the LBs a file does not name (keepalived.conf and ipvsadm run on the
// LB itself) or names otherwise.
void set_load_balancer(Cluster& c, Role role, const std::string& text) {
    if (text.empty()) {
        return;
    }
    const auto ip = IpAddress::parse(text);
    if (!ip) {
        throw Error(ExitCode::usage,
                    fmt::format("--{} {}: not an IP address", to_string(role), text));
    }
    auto& lbs = c.load_balancers;
    const auto it = std::find_if(lbs.begin(), lbs.end(),
                                 [&](const LoadBalancer& lb) { return lb.role == role; });
    if (it != lbs.end()) {
        it->mgmt_address = *ip;
    } else {
        lbs.push_back({role, *ip, 22, "eth1"});
    }
    std::stable_sort(lbs.begin(), lbs.end(), [](const LoadBalancer& a, const LoadBalancer& b) {
        return a.role == Role::primary && b.role != Role::primary;
    });
}

// What the ipvs backend cannot do that the file asks of its LBs: pulse raises the NAT router's
// address; lvsctl's agent does not (docs/migration.md).
void refuse_for_backend(const Cluster& c, const std::string& backend, const std::string& file) {
    const auto spec = parse_backend(backend);
    if (!spec || spec->kind != BackendKind::ipvs) {
        return;
    }
    for (const auto& s : c.lvscf.global) {
        if (s.key == "nat_router" && c.forwarding == Forwarding::masq) {
            throw Error(ExitCode::data,
                        fmt::format("{}: nat_router = {}: the web servers' NAT gateway is pulse's "
                                    "to raise, and lvsctl's ipvs backend does not; import with "
                                    "--backend=piranha, or raise the router address otherwise "
                                    "and remove the line",
                                    file, s.value));
        }
    }
}

int run_import(const ImportOptions& o, Context& ctx) {
    const auto text = read_file_if_exists(o.file);
    if (!text) {
        throw Error(ExitCode::data, fmt::format("{}: no such file", o.file));
    }
    auto parsed = read_import(o, *text);
    auto& cluster = parsed.cluster;
    cluster.id = o.cluster_id;
    set_load_balancer(cluster, Role::primary, o.primary);
    set_load_balancer(cluster, Role::backup, o.backup);
    for (const auto& note : parsed.warnings) {
        fmt::print(ctx.err, "lvsctl: {} {}\n", o.file, note);
    }
    db::Database database(ctx.settings.db);
    database.lock_cluster(o.cluster_id, std::chrono::seconds(ctx.settings.lock_timeout));
    cluster.backend = o.backend;
    const auto effective =
        !o.backend.empty() ? o.backend : database.cluster_backend(o.cluster_id).value_or("ipvs");
    refuse_for_backend(cluster, effective, o.file);
    const auto done = database.import_cluster(o.cluster_id, cluster);
    std::string what;
    for (const auto& line : done) {
        what += (what.empty() ? "" : "\n") + line;
    }
    return hook_done(ctx, database, o.cluster_id, o.no_update, what);
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
