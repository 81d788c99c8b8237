#include "lvsctl/cli/app.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "lvsctl/error.h"
#include "lvsctl/lvsctl.h"
#include "lvsctl/manage/documents.h"

namespace lvsctl::cli {

const Runner* Registry::parsed() const {
    for (const auto& entry : commands_) {
        if (entry.command->parsed()) {
            return &entry.run;
        }
    }
    return nullptr;
}

CLI::Option* add_cluster_id(CLI::App& command, std::int64_t& cluster_id) {
    return command.add_option("--cluster-id", cluster_id, "Cluster id (h2e_clusters.cluster_id)")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{0x7fffffff}));
}

void add_which_clusters(CLI::App& command, std::int64_t& cluster_id, bool& all,
                        std::size_t& clusters_parallel) {
    auto* which = command.add_option_group("cluster", "Which clusters: exactly one of");
    add_cluster_id(*which, cluster_id);
    auto* every = which->add_flag(
        "--all", all,
        "Every cluster of the database, each under its own lock; one another lvsctl holds is "
        "skipped");
    which->require_option(1);
    command
        .add_option("--clusters-parallel", clusters_parallel,
                    "With --all: clusters run at once (each contacts --parallel hosts at once)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{256}))
        ->needs(every)
        ->capture_default_str();
}

CLI::Option* add_no_update(CLI::App& command, bool& no_update) {
    return command.add_flag("--no-update", no_update,
                            "Only write the database; run `lvsctl update` later (to batch hooks)");
}

namespace {

void report_error(Context& ctx, ExitCode code, const std::string& message) {
    fmt::print(ctx.err, "lvsctl: {}\n", message);
    if (ctx.settings.json) {
        ctx.out << error_document(message, code);
    }
}

}  // namespace

CommandLine::CommandLine(Settings& settings) : globals(app, settings) {
    app.fallthrough();  // global options may also follow the command
    app.require_subcommand(1);
    app.set_version_flag("--version", fmt::format("lvsctl {}", api::version()),
                         "Print `lvsctl VERSION` and exit");
    setup_update(app, registry);
    setup_plan(app, registry);
    setup_render(app, registry);
    setup_status(app, registry);
    setup_server(app, registry);
    setup_ip(app, registry);
    setup_import(app, registry);
    setup_agent(app, registry);
    setup_monitor(app, registry);
    setup_serve(app, registry);
    setup_db(app, registry);
    setup_generate(app, registry);
}

int run(int argc, char** argv, std::ostream& out, std::ostream& err) {
    Context ctx{
        {}, argc > 0 ? std::filesystem::path(argv[0]) : std::filesystem::path("lvsctl"), out, err};
    std::error_code ec;
    if (auto self = std::filesystem::read_symlink("/proc/self/exe", ec); !ec) {
        ctx.program = self;
    }

    CommandLine cli(ctx.settings);
    auto& app = cli.app;
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // Help and version are successes; every other parse error is a usage error (64).
        std::ostringstream help_out;
        std::ostringstream error_out;
        const int code = app.exit(e, help_out, error_out);
        out << help_out.str();
        err << error_out.str();
        return code == 0 ? 0 : static_cast<int>(ExitCode::usage);
    }

    try {
        cli.globals.merge();
        const Runner* runner = cli.registry.parsed();
        if (runner == nullptr) {
            err << app.help();
            return static_cast<int>(ExitCode::usage);
        }
        return (*runner)(ctx);
    } catch (const Error& e) {
        report_error(ctx, e.code(), e.what());
        return static_cast<int>(e.code());
    } catch (const api::Error& e) {
        // The public API's: an internal error's message already says so.
        report_error(ctx, static_cast<ExitCode>(e.exit_code()), e.what());
        return e.exit_code();
    } catch (const std::exception& e) {
        report_error(ctx, ExitCode::internal, fmt::format("internal error: {}", e.what()));
        return static_cast<int>(ExitCode::internal);
    }
}

}  // namespace lvsctl::cli
