// `lvsctl generate man|conf-man|bash|zsh` (hidden: for the build, tools/ and packagers): lvsctl(8),
// lvsctl.conf(5) and the shell completions, from the command model the program parses with
// (docgen.h). The build writes them into the build tree (target lvsctl_docs).
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "lvsctl/cli/app.h"
#include "lvsctl/cli/docgen.h"
#include "lvsctl/error.h"
#include "lvsctl/lvsctl.h"

namespace lvsctl::cli {

namespace {

struct GenerateOptions {
    std::string kind;
    std::string output;  // "": stdout
};

std::string generate(const GenerateOptions& o, CLI::App& root) {
    const auto program = docgen::describe(root);
    if (o.kind == "man") {
        return docgen::man_page(program, api::version());
    }
    if (o.kind == "conf-man") {
        return docgen::conf_man_page(program, api::version());
    }
    if (o.kind == "bash") {
        return docgen::bash_completion(program);
    }
    return docgen::zsh_completion(program);
}

int run_generate(const GenerateOptions& o, CLI::App& root, Context& ctx) {
    const auto text = generate(o, root);
    if (o.output.empty()) {
        ctx.out << text;
        return 0;
    }
    const std::filesystem::path path(o.output);
    std::error_code ec;
    if (path.has_parent_path()) {
        std::filesystem::create_directories(path.parent_path(), ec);
    }
    // Written beside the file, then renamed: a build stopped halfway leaves no partial page.
    const auto partial = std::filesystem::path(o.output + ".partial");
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        out << text;
        out.close();
        if (!out) {
            throw Error(ExitCode::internal, fmt::format("generate: cannot write {}", o.output));
        }
    }
    std::filesystem::rename(partial, path, ec);
    if (ec) {
        throw Error(ExitCode::internal,
                    fmt::format("generate: cannot write {}: {}", o.output, ec.message()));
    }
    return 0;
}

}  // namespace

void setup_generate(CLI::App& root, Registry& registry) {
    auto opts = std::make_shared<GenerateOptions>();
    auto* cmd = root.add_subcommand(
        "generate", "Print lvsctl(8), lvsctl.conf(5) or a shell completion, from this program");
    cmd->group("");  // hidden from --help, the man page and the completions: for the build
    cmd->add_option("KIND", opts->kind, "man, conf-man, bash or zsh")
        ->check(CLI::IsMember({"man", "conf-man", "bash", "zsh"}))
        ->required();
    cmd->add_option("-o,--output", opts->output,
                    "Write FILE (its directories created) instead of stdout")
        ->type_name("FILE");
    CLI::App* model = &root;
    registry.add(cmd, opts, [model](const GenerateOptions& o, Context& ctx) {
        return run_generate(o, *model, ctx);
    });
}

}  // namespace lvsctl::cli
