// An option cannot exist without its documentation: every option of every command of the
// program's own command model (walked here independently of the generator) has a description and
// appears in the generated lvsctl(8) under its command, in the completions, and in
// docs/commands.md under its command. Likewise every config file key.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "fixtures.h"
#include "lvsctl/cli/app.h"
#include "lvsctl/settings.h"

using lvsctl::testing::read_file;

namespace {

const std::string kShare = LVSCTL_DOCS_DIR;

struct Found {
    std::vector<std::string> path;  // {"server", "add"}; {} for the global options
    const CLI::Option* option;
};

std::string path_name(const std::vector<std::string>& path) {
    std::string out;
    for (const auto& part : path) {
        out += (out.empty() ? "" : " ") + part;
    }
    return out;
}

// Every visible option: the program's (its help flag included), then each visible command's,
// option groups (nameless subcommands) included, the -h/--help each command and group has of
// its own left out.
void walk(const CLI::App& app, const std::vector<std::string>& path, std::vector<Found>& out) {
    auto take = [&](const CLI::App& from) {
        for (const CLI::Option* option : from.get_options()) {
            if (option->get_group().empty() || (!path.empty() && option == from.get_help_ptr())) {
                continue;
            }
            out.push_back({path, option});
        }
    };
    take(app);
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        if (sub->get_name().empty()) {
            take(*sub);  // an option group
        } else if (!sub->get_group().empty()) {
            auto sub_path = path;
            sub_path.push_back(sub->get_name());
            walk(*sub, sub_path, out);
        }
    }
}

std::vector<Found> every_option(lvsctl::cli::CommandLine& cli) {
    std::vector<Found> found;
    walk(cli.app, {}, found);
    return found;
}

bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// `needle` in `text` as a whole option name: not followed by more of a name ("--full" is not
// found in "--full-interval"), in plain text or in roff ("\-\-full\-interval").
bool has_name(const std::string& text, const std::string& needle) {
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        const auto end = at + needle.size();
        const bool after_font = at >= 3 && text.compare(at - 3, 2, "\\f") == 0;  // \fB--x
        const bool before_ok =
            at == 0 || after_font || (!name_char(text[at - 1]) && text[at - 1] != '-');
        const bool continues = end < text.size() && (name_char(text[end]) || text[end] == '-' ||
                                                     text.compare(end, 2, "\\-") == 0);
        if (before_ok && !continues) {
            return true;
        }
    }
    return false;
}

std::string roff_escaped(const std::string& name) {
    std::string out;
    for (const char c : name) {
        out += c == '-' ? std::string("\\-") : std::string(1, c);
    }
    return out;
}

// The text from the line starting with `heading` to the next line starting with `next` (or the
// end); "" when there is no such heading.
std::string section(const std::string& text, const std::string& heading,
                    const std::vector<std::string>& next) {
    auto at = text.rfind(heading, 0) == 0 ? 0 : text.find("\n" + heading);
    if (at == std::string::npos) {
        return {};
    }
    auto end = std::string::npos;
    for (const auto& n : next) {
        end = std::min(end, text.find("\n" + n, at + 1 + heading.size()));
    }
    return text.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

// lvsctl(8)'s section for a command: ".SS "server add"" (GLOBAL OPTIONS for the program).
std::string man_section(const std::string& man, const std::vector<std::string>& path) {
    if (path.empty()) {
        return section(man, ".SH GLOBAL OPTIONS", {".SH"});
    }
    return section(man, ".SS \"" + roff_escaped(path_name(path)) + "\"", {".SS", ".SH"});
}

// docs/commands.md's section for a command: the "## " heading naming it in backquotes (`server
// add`, else `server`), up to the next "## " heading.
std::string doc_section(const std::string& doc, const std::vector<std::string>& path) {
    if (path.empty()) {
        return section(doc, "## Global options", {"## "});
    }
    for (const auto& name : {"`" + path_name(path) + "`", "`" + path.front() + "`"}) {
        for (auto at = doc.find("\n## "); at != std::string::npos; at = doc.find("\n## ", at + 1)) {
            const auto line_end = doc.find('\n', at + 1);
            const auto line = doc.substr(at + 1, line_end - at - 1);
            if (line.find(name) != std::string::npos) {
                return section(doc, line, {"## "});
            }
        }
    }
    return {};
}

}  // namespace

TEST_CASE("every option has a description and is in lvsctl(8), the completions and commands.md") {
    lvsctl::Settings settings;
    lvsctl::cli::CommandLine cli(settings);
    const auto found = every_option(cli);
    REQUIRE(found.size() > 50);  // the walk reached the commands
    const auto man = read_file(kShare + "/man/man8/lvsctl.8");
    const auto bash = read_file(kShare + "/bash-completion/completions/lvsctl");
    const auto zsh = read_file(kShare + "/zsh/vendor-completions/_lvsctl");
    const auto doc = read_file(lvsctl::testing::source_dir() / "docs" / "commands.md");
    REQUIRE(!man.empty());
    for (const auto& [path, option] : found) {
        const auto where = path.empty() ? std::string("global option") : path_name(path);
        const auto name = option->nonpositional() ? option->get_name(false, true)   // -v,--verbose
                                                  : option->get_name(true, false);  // FILE
        CAPTURE(where);
        CAPTURE(name);
        CHECK_MESSAGE(!option->get_description().empty(), "no description");
        const auto man_part = man_section(man, path);
        REQUIRE_MESSAGE(!man_part.empty(), "no section in lvsctl.8");
        if (!option->nonpositional()) {
            CHECK_MESSAGE(man_part.find("\\fI" + name + "\\fR") != std::string::npos,
                          "argument not in lvsctl.8");
            continue;
        }
        const auto doc_part = doc_section(doc, path);
        REQUIRE_MESSAGE(!doc_part.empty(), "no section in docs/commands.md");
        std::vector<std::string> names;
        for (const auto& s : option->get_snames()) {
            names.push_back("-" + s);
        }
        for (const auto& l : option->get_lnames()) {
            names.push_back("--" + l);
        }
        for (const auto& flag : names) {
            CAPTURE(flag);
            CHECK_MESSAGE(has_name(man_part, roff_escaped(flag)), "not in lvsctl.8");
            CHECK_MESSAGE(has_name(bash, flag), "not in the bash completion");
            CHECK_MESSAGE(has_name(zsh, flag), "not in the zsh completion");
            CHECK_MESSAGE(has_name(doc_part, flag), "not in docs/commands.md");
        }
    }
}

TEST_CASE("option values with fixed choices are in lvsctl(8) and the completions") {
    const auto man = read_file(kShare + "/man/man8/lvsctl.8");
    const auto bash = read_file(kShare + "/bash-completion/completions/lvsctl");
    const auto zsh = read_file(kShare + "/zsh/vendor-completions/_lvsctl");
    CHECK(man.find("\\fIlvs.cf|keepalived|keepalived\\-vrrp|ipvsadm|json\\fR") !=
          std::string::npos);
    CHECK(man.find("\\fIlvscf|keepalived|ipvsadm\\fR") != std::string::npos);
    CHECK(bash.find("\"render --format\") echo \"lvs.cf keepalived keepalived-vrrp ipvsadm "
                    "json\"") != std::string::npos);
    CHECK(zsh.find(":(lvs.cf keepalived keepalived-vrrp ipvsadm json)") != std::string::npos);
    CHECK(zsh.find(":(lvscf keepalived ipvsadm)") != std::string::npos);
}

TEST_CASE("the hidden generate command is in no documentation and no completion") {
    const auto man = read_file(kShare + "/man/man8/lvsctl.8");
    const auto bash = read_file(kShare + "/bash-completion/completions/lvsctl");
    const auto zsh = read_file(kShare + "/zsh/vendor-completions/_lvsctl");
    CHECK(man.find(".SS \"generate") == std::string::npos);
    CHECK(man.find("\\-\\-output") == std::string::npos);  // generate's option
    const auto commands = bash.find("\"\") echo \"update ");
    REQUIRE(commands != std::string::npos);
    CHECK(bash.substr(commands, bash.find('\n', commands) - commands).find("generate") ==
          std::string::npos);
    CHECK(zsh.find("'generate:") == std::string::npos);
    lvsctl::Settings settings;
    lvsctl::cli::CommandLine cli(settings);
    CHECK(cli.app.help().find("generate") == std::string::npos);
}

TEST_CASE("every config key is a global option and is in lvsctl.conf(5) and commands.md") {
    lvsctl::Settings settings;
    lvsctl::cli::CommandLine cli(settings);
    const auto conf = read_file(kShare + "/man/man5/lvsctl.conf.5");
    const auto doc = read_file(lvsctl::testing::source_dir() / "docs" / "commands.md");
    const auto keys = section(conf, ".SH KEYS", {".SH"});
    const auto doc_file = section(doc, "### The config file", {"## ", "### "});
    REQUIRE(!keys.empty());
    REQUIRE(!doc_file.empty());
    std::size_t listed = 0;
    for (std::size_t at = keys.find("\n.TP\n"); at != std::string::npos;
         at = keys.find("\n.TP\n", at + 1)) {
        ++listed;
    }
    CHECK(listed == lvsctl::config_key_table().size());  // no key the parser does not take
    for (const auto& key : lvsctl::config_key_table()) {
        const std::string name(key.name);
        CAPTURE(name);
        const auto* option = cli.app.get_option_no_throw("--" + name);
        REQUIRE_MESSAGE(option != nullptr, "no global option --" << name);
        CHECK(!option->get_description().empty());
        CHECK_MESSAGE(keys.find(".TP\n\\fB" + roff_escaped(name) + "\\fR = ") != std::string::npos,
                      "not in lvsctl.conf.5");
        CHECK_MESSAGE(doc_file.find("`" + name + "`") != std::string::npos,
                      "not in docs/commands.md's config file keys");
    }
}
