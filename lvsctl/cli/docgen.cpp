#include "lvsctl/cli/docgen.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "lvsctl/error.h"
#include "lvsctl/settings.h"

namespace lvsctl::cli::docgen {

std::string CommandDoc::name() const {
    std::string out;
    for (const auto& part : path) {
        out += (out.empty() ? "" : " ") + part;
    }
    return out.empty() ? "lvsctl" : out;
}

namespace {

// ---------------------------------------------------------------------------------------------
// The model

// CLI11's own type names, which say nothing a reader needs: a better placeholder comes from a
// validator or from the option's kind.
bool generic_type(const std::string& type) {
    static const std::set<std::string> generic = {"",       "TEXT",    "INT",   "UINT",
                                                  "NUMBER", "BOOLEAN", "FLOAT", "CHAR"};
    return generic.count(type) > 0;
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t end; (end = text.find(separator, start)) != std::string::npos;
         start = end + 1) {
        parts.push_back(text.substr(start, end - start));
    }
    parts.push_back(text.substr(start));
    return parts;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
    std::string out;
    for (const auto& part : parts) {
        out += (out.empty() ? "" : std::string(separator)) + part;
    }
    return out;
}

OptionDoc describe_option(CLI::Option& option) {
    OptionDoc doc;
    doc.positional = !option.nonpositional();
    if (doc.positional) {
        doc.names.push_back(option.get_name(true, false));
    }
    for (const auto& s : option.get_snames()) {
        doc.names.push_back("-" + s);
    }
    for (const auto& l : option.get_lnames()) {
        doc.names.push_back("--" + l);
    }
    doc.description = option.get_description();
    doc.required = option.get_required();
    doc.repeatable = option.get_expected_max() > 1 ||
                     option.get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll;
    const bool flag = !doc.positional && option.get_expected_max() == 0;
    if (flag) {
        return doc;
    }
    doc.default_value = option.get_default_str();

    // The validators' descriptions: a set "{a,b}" (CLI::IsMember), a range "INT in [1 - 9]"
    // (CLI::Range), "NONNEGATIVE", or the kind of value ("FILE", "IPv4", "ADDRESS:PORT").
    std::string kind;
    std::string suffix;
    static const std::regex range_re(R"RE(^\w+ in \[(.*) - (.*)\]$)RE");
    for (int i = 0;; ++i) {
        CLI::Validator* validator = nullptr;
        try {
            validator = option.get_validator(i);
        } catch (const CLI::OptionNotFound&) {
            break;
        }
        const auto text = validator->get_description();
        if (text.empty()) {
            continue;
        }
        suffix += ":" + text;
        std::smatch m;
        if (text.size() >= 2 && text.front() == '{' && text.back() == '}') {
            doc.choices = split(text.substr(1, text.size() - 2), ',');
        } else if (std::regex_match(text, m, range_re)) {
            doc.range = fmt::format("{} to {}", m[1].str(), m[2].str());
        } else if (text == "NONNEGATIVE") {
            doc.range = "0 or more";
        } else if (kind.empty()) {
            kind = text;
        }
    }
    // The type name without the validators' descriptions CLI11 appends to it.
    auto type = option.get_type_name();
    if (!suffix.empty() && type.size() >= suffix.size() &&
        type.compare(type.size() - suffix.size(), suffix.size(), suffix) == 0) {
        type.resize(type.size() - suffix.size());
    }
    if (type == "BOOLEAN" && doc.choices.empty()) {
        doc.choices = {"true", "false"};
    }

    if (!doc.choices.empty()) {
        doc.value = join(doc.choices, "|");
        doc.complete = Complete::choices;
    } else if (!generic_type(type)) {
        doc.value = type;  // set by the command: FILE, DIR, CONNINFO, NAME=MGMT_IP
    } else if (!kind.empty()) {
        doc.value = kind;
    } else if (type == "INT" || type == "UINT" || type == "NUMBER" || !doc.range.empty()) {
        doc.value = "N";
    } else {
        doc.value = "VALUE";
    }
    if (doc.value == "FILE" || kind == "FILE") {
        doc.complete = Complete::file;
    } else if (doc.value == "DIR" || kind == "DIR") {
        doc.complete = Complete::directory;
    }
    if (doc.positional) {
        doc.value.clear();  // a positional's name is its placeholder
    }
    return doc;
}

void add_options(CLI::App& app, CommandDoc& doc, bool is_program) {
    for (CLI::Option* option : app.get_options()) {
        if (option->get_group().empty()) {
            continue;  // hidden
        }
        if (!is_program && option == app.get_help_ptr()) {
            continue;  // every command has -h/--help: said once, among the global options
        }
        auto described = describe_option(*option);
        if (described.positional) {
            doc.positionals.push_back(std::move(described));
        } else {
            doc.options.push_back(std::move(described));
        }
    }
}

CommandDoc describe_command(CLI::App& app, std::vector<std::string> path) {
    CommandDoc doc;
    doc.path = std::move(path);
    doc.description = app.get_description();
    // Option groups first: they are nameless subcommands (e.g. --cluster-id | --all).
    for (CLI::App* group :
         app.get_subcommands([](CLI::App* sub) { return sub->get_name().empty(); })) {
        const auto first = doc.options.size();
        add_options(*group, doc, false);
        if (group->get_require_option_min() == 1 && group->get_require_option_max() == 1) {
            std::vector<std::size_t> members;
            for (auto i = first; i < doc.options.size(); ++i) {
                members.push_back(i);
            }
            doc.one_of.push_back(std::move(members));
        }
    }
    add_options(app, doc, doc.path.empty());
    for (CLI::App* sub : app.get_subcommands(
             [](CLI::App* s) { return !s->get_name().empty() && !s->get_group().empty(); })) {
        auto sub_path = doc.path;
        sub_path.push_back(sub->get_name());
        doc.subcommands.push_back(describe_command(*sub, std::move(sub_path)));
    }
    return doc;
}

void leaves(const CommandDoc& command, std::vector<const CommandDoc*>& out) {
    if (command.subcommands.empty()) {
        out.push_back(&command);
    }
    for (const auto& sub : command.subcommands) {
        leaves(sub, out);
    }
}

void every_command(const CommandDoc& command, std::vector<const CommandDoc*>& out) {
    out.push_back(&command);
    for (const auto& sub : command.subcommands) {
        every_command(sub, out);
    }
}

// ---------------------------------------------------------------------------------------------
// roff (man(7))

// Running text: backslashes and hyphens escaped (an option name must copy as ASCII '-'),
// `code` in bold, and no line may start with a control character.
std::string roff(std::string_view text) {
    std::string out;
    bool in_code = false;
    const auto backticks = std::count(text.begin(), text.end(), '`');
    for (const char c : text) {
        if (c == '\\') {
            out += "\\e";
        } else if (c == '-') {
            out += "\\-";
        } else if (c == '`' && backticks % 2 == 0) {
            out += in_code ? "\\fR" : "\\fB";
            in_code = !in_code;
        } else if (c == '\n') {
            out += ' ';
        } else {
            out += c;
        }
    }
    if (!out.empty() && (out.front() == '.' || out.front() == '\'')) {
        out.insert(0, "\\&");
    }
    return out;
}

std::string bold(std::string_view text) {
    return "\\fB" + roff(text) + "\\fR";
}
std::string italic(std::string_view text) {
    return "\\fI" + roff(text) + "\\fR";
}

// `--name VALUE` in a synopsis or an option list.
std::string roff_usage(const OptionDoc& option) {
    if (option.positional) {
        return italic(option.names.front()) + (option.repeatable ? "..." : "");
    }
    const auto& name = option.names.back();  // the long name
    std::string out = bold(name);
    if (!option.value.empty()) {
        out += " " + italic(option.value);
    }
    return out;
}

std::string roff_tag(const OptionDoc& option) {
    if (option.positional) {
        return roff_usage(option);
    }
    std::vector<std::string> names;
    for (const auto& name : option.names) {
        names.push_back(bold(name));
    }
    std::string out = join(names, ", ");
    if (!option.value.empty()) {
        out += " " + italic(option.value);
    }
    return out;
}

std::string roff_option_text(const OptionDoc& option) {
    std::string text = option.description;
    if (!text.empty() && text.back() != '.') {
        text += '.';
    }
    std::vector<std::string> notes;
    if (option.required) {
        notes.push_back("Required.");
    }
    if (!option.range.empty()) {
        notes.push_back("Range: " + option.range + ".");
    }
    if (!option.default_value.empty()) {
        notes.push_back("Default: " + option.default_value + ".");
    }
    if (option.repeatable && !option.positional &&
        option.description.find("repeatable") == std::string::npos) {
        notes.push_back("May be given more than once.");
    }
    for (const auto& note : notes) {
        text += " " + note;
    }
    return roff(text);
}

std::string roff_synopsis(const CommandDoc& command) {
    std::string out = bold("lvsctl" + (command.path.empty() ? "" : " " + command.name()));
    std::set<std::size_t> done;
    for (std::size_t i = 0; i < command.options.size(); ++i) {
        if (done.count(i) > 0) {
            continue;
        }
        const auto group = std::find_if(command.one_of.begin(), command.one_of.end(),
                                        [&](const auto& g) { return g.front() == i; });
        if (group != command.one_of.end()) {
            std::vector<std::string> alternatives;
            for (const auto j : *group) {
                alternatives.push_back(roff_usage(command.options[j]));
                done.insert(j);
            }
            out += " (" + join(alternatives, " | ") + ")";
            continue;
        }
        const auto& option = command.options[i];
        out += option.required ? " " + roff_usage(option) : " [" + roff_usage(option) + "]";
    }
    for (const auto& positional : command.positionals) {
        out += positional.required ? " " + roff_usage(positional)
                                   : " [" + roff_usage(positional) + "]";
    }
    return out;
}

void roff_options(std::string& out, const std::vector<OptionDoc>& options) {
    for (const auto& option : options) {
        out += ".TP\n" + roff_tag(option) + "\n" + roff_option_text(option) + "\n";
    }
}

struct ExitDoc {
    ExitCode code;
    std::string_view name;
    std::string_view meaning;
};

// docs/exit-codes.md's summary; what a script should do on each code is there.
const std::vector<ExitDoc>& exit_codes() {
    static const std::vector<ExitDoc> codes = {
        {ExitCode::ok, "ok",
         "success: converged, nothing to do, or a read-only command answered; also --help and "
         "--version"},
        {ExitCode::changes_pending, "changes pending",
         "`plan` or `update --dry-run` with --detailed-exitcode: the plan has changes"},
        {ExitCode::partial, "partial",
         "some host failed (or could not be read) and its state is not known; the others were "
         "handled"},
        {ExitCode::usage, "usage", "bad command line"},
        {ExitCode::data, "data",
         "invalid data in the database, an input file or a desired state; nothing was changed"},
        {ExitCode::unreachable, "unreachable",
         "a host could not be reached (or a command or exec: program hung) before anything "
         "changed anywhere"},
        {ExitCode::db_unavailable, "database unavailable",
         "the database could not be reached, has no schema yet, or was lost during a run"},
        {ExitCode::internal, "internal",
         "a bug, or a database statement of lvsctl's that the server refused"},
        {ExitCode::kernel, "kernel",
         "the LB's kernel or firewall tool refused an operation (`agent apply`, `agent show` "
         "only)"},
        {ExitCode::lock_busy, "lock busy",
         "the cluster lock (or, on an LB, agent.lock) stayed taken for --lock-timeout seconds"},
        {ExitCode::permission, "permission",
         "a host refused us (host key, authentication, not root) before anything changed"},
        {ExitCode::config, "configuration",
         "bad config file, missing or broken template, unreadable --ssh-identity"},
    };
    return codes;
}

std::string roff_header(std::string_view title, int section, std::string_view version,
                        std::string_view manual) {
    // No date: the page is the same whenever it is built (reproducible packages).
    return fmt::format(
        ".\\\" Generated by `lvsctl generate` from lvsctl's command model: do not edit.\n"
        ".TH {} {} \"\" \"lvsctl {}\" \"{}\"\n"
        // Option names must not be hyphenated, nor synopses spread out.
        ".nh\n.ad l\n",
        title, section, roff(version), manual);
}

// ---------------------------------------------------------------------------------------------
// shells

std::string bash_path(const CommandDoc& command) {
    return command.path.empty() ? "\"\"" : "\"" + command.name() + "\"";
}

// A bash `case` word list: the values, each safe unquoted in the generated script.
std::string shell_words(const std::vector<std::string>& words) {
    for (const auto& word : words) {
        if (word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                   "._+-:/=@") != std::string::npos) {
            throw Error(ExitCode::internal,
                        fmt::format("generate: {:?} cannot be a completion word", word));
        }
    }
    return join(words, " ");
}

std::string zsh_quote(std::string_view text) {
    std::string out = "'";
    for (const char c : text) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

// Inside _arguments' [explanation]: brackets escaped.
std::string zsh_explanation(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == '[' || c == ']' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out;
}

// A message or action part of an _arguments spec: colons escaped.
std::string zsh_part(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == ':' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out;
}

std::string zsh_action(const OptionDoc& option) {
    switch (option.complete) {
        case Complete::file:
            return "_files";
        case Complete::directory:
            return "_files -/";
        case Complete::choices:
            return "(" + join(option.choices, " ") + ")";
        case Complete::nothing:
            break;
    }
    return " ";
}

std::string zsh_option_specs(const OptionDoc& option) {
    std::string out;
    for (const auto& name : option.names) {
        std::string spec = option.repeatable ? "*" : "";
        spec += name;
        if (!option.flag()) {
            spec += name.starts_with("--") ? "=" : "+";
        }
        spec += "[" + zsh_explanation(option.description) + "]";
        if (!option.flag()) {
            spec += ":" + zsh_part(option.value) + ":" + zsh_part(zsh_action(option));
        }
        out += " \\\n        " + zsh_quote(spec);
    }
    return out;
}

std::string zsh_function(const CommandDoc& command) {
    std::string name = "_lvsctl";
    for (const auto& part : command.path) {
        name += "_" + part;
    }
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
}

}  // namespace

CommandDoc describe(CLI::App& app) {
    return describe_command(app, {});
}

std::string man_page(const CommandDoc& program, std::string_view version) {
    std::string out = roff_header("LVSCTL", 8, version, "System Administration");
    auto summary = program.description;
    if (summary.starts_with("lvsctl: ")) {
        summary = summary.substr(8);
    }
    out += ".SH NAME\nlvsctl \\- " + roff(summary) + "\n";
    out += ".SH SYNOPSIS\n" + bold("lvsctl") + " [" + italic("GLOBAL OPTIONS") + "] " +
           italic("COMMAND") + " [" + italic("SUBCOMMAND") + "] [" + italic("OPTIONS") + "] [" +
           italic("ARGUMENTS") + "]\n.br\n" + bold("lvsctl --version") + "\n";
    out += R"TXT(.SH DESCRIPTION
lvsctl keeps Linux Virtual Server (LVS) load balancers in step with a hosting platform's
PostgreSQL database: which web servers belong to a cluster, their weights and the website IPs it
serves.
Whenever that changes the platform calls \fBlvsctl update\fR or one of the \fBserver\fR and
\fBip\fR hooks, and lvsctl makes the load balancers (LBs) and web servers match: the kernel's
IPVS table (direct routing, one firewall\-mark service per address family), the firewall marks,
the website IPs on the LB's interface and on every web server's \fIlo\fR, and a piranha\-style
\fIlvs.cf\fR or a keepalived configuration.
.PP
One program has two roles.
On the management node it reads the database and drives hosts over SSH; on each LB,
\fBlvsctl agent apply\fR, started by the management node over SSH, converges the local kernel,
and \fBlvsctl monitor\fR checks the real servers and sets their weights.
.PP
Global options may also follow the command.
Options take their value as \fB\-\-name=\fR\fIvalue\fR or \fB\-\-name\fR \fIvalue\fR.
)TXT";
    // Which global options the configuration file cannot set: those config_key_table() lacks.
    std::vector<std::string> not_in_file;
    for (const auto& option : program.options) {
        const bool in_file = std::any_of(
            config_key_table().begin(), config_key_table().end(), [&](const ConfigKey& key) {
                return option.names.back() == "--" + std::string(key.name);
            });
        if (!in_file) {
            for (const auto& name : option.names) {
                not_in_file.push_back(bold(name));
            }
        }
    }
    out += "Every global option but " + join(not_in_file, ", ") +
           " can also be set in the configuration file, \\fBlvsctl.conf\\fR(5); a flag wins over "
           "the file.\n";
    out += ".SH GLOBAL OPTIONS\n";
    roff_options(out, program.options);
    out += ".SH COMMANDS\n";
    std::vector<const CommandDoc*> commands;
    leaves(program, commands);
    for (const auto* command : commands) {
        if (command == &program) {
            continue;
        }
        out += ".SS \"" + roff(command->name()) + "\"\n";
        out += roff_synopsis(*command) + "\n.PP\n";
        auto description = command->description;
        if (!description.empty() && description.back() != '.') {
            description += '.';
        }
        out += roff(description) + "\n";
        roff_options(out, command->positionals);
        roff_options(out, command->options);
    }
    out += R"TXT(.SH EXIT STATUS
Every command ends with one of these codes; the message on standard error (and, with
\fB\-\-json\fR, the document on standard output) names the host, the object and the reason.
A command\-line parse error is 64 with no JSON document.
)TXT";
    for (const auto& code : exit_codes()) {
        std::string meaning(code.meaning);
        meaning.front() =
            static_cast<char>(std::toupper(static_cast<unsigned char>(meaning.front())));
        out += fmt::format(".TP\n.BR {} \" ({})\"\n{}.\n", static_cast<int>(code.code),
                           roff(code.name), roff(meaning));
    }
    out += R"TXT(.SH ENVIRONMENT
.TP
.B LVSCTL_DB
The database connection string when \fB\-\-db\fR is not given; it beats the configuration
file's \fBdb\fR.
.TP
.BR PGHOST ", " PGDATABASE ", " PGUSER ", " PGPASSFILE ", ..."
libpq's own variables, used when neither \fB\-\-db\fR, \fBLVSCTL_DB\fR nor the configuration
file give a connection string.
A password belongs in \fI~/.pgpass\fR (or \fBPGPASSFILE\fR): one on the command line is refused.
.TP
.B NO_COLOR
Set to anything non\-empty: no colour on a terminal (\fBFAILED\fR is otherwise red, \fBnothing
to do\fR green).
The live progress line on standard error is shown only when it is a terminal, never with
\fB\-\-json\fR or \fB\-q\fR.
.SH FILES
.TP
.I /etc/lvsctl/lvsctl.conf
The configuration file, \fBlvsctl.conf\fR(5); skipped when it cannot be opened.
.TP
.I PREFIX/share/lvsctl/templates/
\fIlvs.cf.tpl\fR, \fIkeepalived.conf.tpl\fR and \fIkeepalived\-vrrp.conf.tpl\fR, when the
program is \fIPREFIX/bin/lvsctl\fR (\fB\-\-templates\fR).
.TP
.I /var/lib/lvsctl/
On an LB: what the agent placed for each cluster, \fIagent.lock\fR, the desired state the
monitor reads and its health records (\fB\-\-state\-dir\fR).
.TP
.I ~/.ssh/known_hosts
The only known_hosts file of the strict host\-key check (\fB\-\-known\-hosts\fR).
.SH EXAMPLES
.RS
.nf
lvsctl plan \-\-cluster\-id=7 \-\-detailed\-exitcode
lvsctl update \-\-cluster\-id=7
lvsctl update \-\-all \-\-clusters\-parallel=4
lvsctl server set \-\-cluster\-id=7 \-\-node\-id=75 \-\-weight=16
lvsctl ip add \-\-cluster\-id=7 10.39.84.132 2001:db8:84::132
lvsctl render \-\-cluster\-id=7 \-\-format=keepalived
lvsctl status \-\-cluster\-id=7 \-\-stats
.fi
.RE
.SH SEE ALSO
\fBlvsctl.conf\fR(5), \fBipvsadm\fR(8), \fBkeepalived\fR(8), \fBkeepalived.conf\fR(5)
.PP
The reference in lvsctl's \fIdocs/\fR: commands.md, exit\-codes.md (what a script should do on
each code), database.md, agent\-protocol.md, failure\-model.md, ha.md, monitor.md, migration.md.
)TXT";
    return out;
}

std::string conf_man_page(const CommandDoc& program, std::string_view version) {
    std::string out = roff_header("LVSCTL.CONF", 5, version, "File Formats");
    out += R"TXT(.SH NAME
lvsctl.conf \- configuration file of lvsctl
.SH SYNOPSIS
.I /etc/lvsctl/lvsctl.conf
.SH DESCRIPTION
Every invocation of \fBlvsctl\fR(8) reads this file, on the management node and on the LBs
(\fBlvsctl agent apply\fR and \fBlvsctl agent show\fR included), unless \fB\-\-config\fR names
another.
The default file is skipped when it cannot be opened; a \fB\-\-config\fR file that cannot be
opened is exit 78.
.PP
One \fIkey\fR \fB=\fR \fIvalue\fR per line, with no sections (a line starting with \fB[\fR is an
error).
Blank lines and lines starting with \fB#\fR or \fB;\fR are skipped.
A value may be enclosed in double quotes.
An unknown key, a key given twice, an empty value, an unbalanced quote or a value out of range
is exit 78, naming the file and the line.
.PP
Each key is the long name of a global option of \fBlvsctl\fR(8) without the dashes, and means
the same.
A flag given on the command line wins over the file.
For the database, \fB\-\-db\fR beats the environment's \fBLVSCTL_DB\fR (when set and not
empty), which beats the file's \fBdb\fR, which beats libpq's \fBPG*\fR variables.
The connection string is never printed, in output or errors.
.SH KEYS
)TXT";
    for (const auto& key : config_key_table()) {
        const auto flag = "--" + std::string(key.name);
        const auto it =
            std::find_if(program.options.begin(), program.options.end(), [&](const OptionDoc& o) {
                return std::find(o.names.begin(), o.names.end(), flag) != o.names.end();
            });
        if (it == program.options.end()) {
            throw Error(
                ExitCode::internal,
                fmt::format("generate: config key {} has no global option {}", key.name, flag));
        }
        std::string value;
        std::string note;
        switch (key.value) {
            case ConfigValue::text:
                value = it->value.empty() ? "VALUE" : it->value;
                break;
            case ConfigValue::number:
                value = "N";
                note = fmt::format(" A whole number from 1 to {}.", key.max);
                break;
            case ConfigValue::boolean:
                value = "true|false|1|0";
                break;
        }
        auto description = it->description;
        if (!description.empty() && description.back() != '.') {
            description += '.';
        }
        if (!it->default_value.empty()) {
            note += " Default: " + it->default_value + ".";
        } else if (key.value == ConfigValue::boolean) {
            note += " Default: false.";
        }
        out += ".TP\n" + bold(key.name) + " = " + italic(value) + "\n" +
               roff(description + note + " The same as " + flag + ".") + "\n";
    }
    out += R"TXT(.SH EXAMPLE
.RS
.nf
# /etc/lvsctl/lvsctl.conf
db = host=/run/postgresql dbname=poa user=lvsctl
known\-hosts = /etc/lvsctl/known_hosts
ssh\-identity = /etc/lvsctl/id_ed25519
parallel = 32
lock\-timeout = "120"
json = false
.fi
.RE
.SH FILES
.TP
.I /etc/lvsctl/lvsctl.conf
The default configuration file.
.SH SEE ALSO
\fBlvsctl\fR(8)
)TXT";
    return out;
}

std::string bash_completion(const CommandDoc& program) {
    std::vector<const CommandDoc*> commands;
    every_command(program, commands);
    std::string out =
        R"TXT(# bash completion for lvsctl(8). Generated by `lvsctl generate bash` from lvsctl's own command
# model: do not edit.

# _lvsctl_commands PATH: the subcommands of the command PATH ("" for lvsctl itself).
_lvsctl_commands() {
    case $1 in
)TXT";
    for (const auto* command : commands) {
        if (command->subcommands.empty()) {
            continue;
        }
        std::vector<std::string> names;
        for (const auto& sub : command->subcommands) {
            names.push_back(sub.path.back());
        }
        out += fmt::format("        {}) echo \"{}\" ;;\n", bash_path(*command), shell_words(names));
    }
    out += R"TXT(    esac
}

# _lvsctl_options PATH: the options of the command PATH itself ("" for the global ones).
_lvsctl_options() {
    case $1 in
)TXT";
    for (const auto* command : commands) {
        std::vector<std::string> names;
        for (const auto& option : command->options) {
            names.insert(names.end(), option.names.begin(), option.names.end());
        }
        if (!names.empty()) {
            out += fmt::format("        {}) echo \"{}\" ;;\n", bash_path(*command),
                               shell_words(names));
        }
    }
    out += R"TXT(    esac
}

# _lvsctl_value_at PATH OPTION: what OPTION of the command PATH takes: its values, or @file,
# @dir or @any. Fails for a flag or an option PATH does not have.
_lvsctl_value_at() {
    case "$1 $2" in
)TXT";
    for (const auto* command : commands) {
        for (const auto& option : command->options) {
            if (option.flag()) {
                continue;
            }
            std::string values = "@any";
            if (option.complete == Complete::choices) {
                values = shell_words(option.choices);
            } else if (option.complete == Complete::file) {
                values = "@file";
            } else if (option.complete == Complete::directory) {
                values = "@dir";
            }
            for (const auto& name : option.names) {
                out += fmt::format("        \"{} {}\") echo \"{}\" ;;\n",
                                   command->path.empty() ? "" : command->name(), name, values);
            }
        }
    }
    out += R"TXT(        *) return 1 ;;
    esac
}

# Global options may follow the command.
_lvsctl_value() {
    _lvsctl_value_at "$1" "$2" || _lvsctl_value_at "" "$2"
}

# _lvsctl_arguments PATH: @file when the command's arguments are files.
_lvsctl_arguments() {
    case $1 in
)TXT";
    for (const auto* command : commands) {
        for (const auto& positional : command->positionals) {
            if (positional.complete == Complete::file) {
                out += fmt::format("        {}) echo @file ;;\n", bash_path(*command));
                break;
            }
        }
    }
    out += R"TXT(    esac
}

# _lvsctl_reply KIND_OR_VALUES PREFIX WORD: COMPREPLY from a value list, file or directory names.
_lvsctl_reply() {
    case $1 in
        @file)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$3") ;;
        @dir)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "$3") ;;
        @any) COMPREPLY=() ;;
        *) mapfile -t COMPREPLY < <(compgen -W "$1" -P "$2" -- "$3") ;;
    esac
}

_lvsctl() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev="" path="" word option="" prefix="" values
    local i skip=0
    COMPREPLY=()
    # The command path so far: the words that name subcommands, not options' values.
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ $word == "=" ]]; then
            skip=1 # --option = value, '=' being a word break
            continue
        fi
        if ((skip)); then
            skip=0
            continue
        fi
        case $word in
            -*=*) ;;
            -*) if _lvsctl_value "$path" "$word" >/dev/null; then skip=1; fi ;;
            *)
                if [[ " $(_lvsctl_commands "$path") " == *" $word "* ]]; then
                    path=${path:+$path }$word
                fi ;;
        esac
    done
    ((COMP_CWORD > 1)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    if [[ $cur == "=" ]]; then # --option=<TAB>: readline completes the empty word after '='
        option=$prev
        cur=""
    elif [[ $prev == "=" ]] && ((COMP_CWORD > 2)); then
        option=${COMP_WORDS[COMP_CWORD - 2]}
    elif [[ $cur == -*=* ]]; then # '=' is no word break here
        option=${cur%%=*}
        prefix="$option="
        cur=${cur#*=}
    elif [[ $prev == -* ]]; then
        option=$prev
    fi
    if [[ -n $option ]] && values=$(_lvsctl_value "$path" "$option"); then
        _lvsctl_reply "$values" "$prefix" "$cur"
        return 0
    fi
    if [[ $cur == -* ]]; then
        values=$(_lvsctl_options "$path")
        [[ -n $path ]] && values+=" $(_lvsctl_options "")"
        _lvsctl_reply "$values" "" "$cur"
        return 0
    fi
    values=$(_lvsctl_commands "$path")
    if [[ -n $values ]]; then
        _lvsctl_reply "$values" "" "$cur"
    elif [[ $(_lvsctl_arguments "$path") == @file ]]; then
        _lvsctl_reply @file "" "$cur"
    fi
    return 0
}
complete -F _lvsctl lvsctl
)TXT";
    return out;
}

std::string zsh_completion(const CommandDoc& program) {
    std::string out = R"TXT(#compdef lvsctl
# zsh completion for lvsctl(8). Generated by `lvsctl generate zsh` from lvsctl's own command
# model: do not edit.
)TXT";
    std::vector<const CommandDoc*> commands;
    every_command(program, commands);
    std::string globals;
    for (const auto& option : program.options) {
        globals += zsh_option_specs(option);
    }
    // Children before parents does not matter: zsh resolves the names when they are called.
    for (const auto* command : commands) {
        const auto function = zsh_function(*command);
        out += "\n" + function + "() {\n";
        std::string own;
        for (const auto& option : command->options) {
            own += zsh_option_specs(option);
        }
        if (command->path.empty()) {
            own.clear();  // the global options, below
        }
        if (command->subcommands.empty()) {
            std::string positionals;
            for (const auto& positional : command->positionals) {
                const std::string spec = (positional.repeatable ? "*:" : ":") +
                                         zsh_part(positional.names.front()) + ":" +
                                         zsh_part(zsh_action(positional));
                positionals += " \\\n        " + zsh_quote(spec);
            }
            out += "    _arguments -s -S :" + globals + own + positionals + "\n}\n";
            continue;
        }
        out +=
            "    local curcontext=$curcontext state line ret=1\n    local -a commands\n"
            "    commands=(";
        for (const auto& sub : command->subcommands) {
            out += "\n        " + zsh_quote(zsh_part(sub.path.back()) + ":" + sub.description);
        }
        out += "\n    )\n    _arguments -C -s -S :" + globals + own +
               " \\\n        ': :->command' \\\n        '*:: :->arguments' && ret=0\n";
        out += "    case $state in\n        (command)\n            _describe -t commands " +
               zsh_quote(command->name() + " command") +
               " commands && ret=0 ;;\n        (arguments)\n            case $words[1] in\n";
        for (const auto& sub : command->subcommands) {
            out += fmt::format("                ({}) {} && ret=0 ;;\n", sub.path.back(),
                               zsh_function(sub));
        }
        out += "            esac ;;\n    esac\n    return ret\n}\n";
    }
    out += "\n_lvsctl \"$@\"\n";
    return out;
}

}  // namespace lvsctl::cli::docgen
