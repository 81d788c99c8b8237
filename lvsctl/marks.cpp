#include "lvsctl/marks.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "lvsctl/error.h"

namespace lvsctl {

namespace {

std::string comment(std::uint32_t mark) {
    return fmt::format("lvsctl-fwmark-{}", mark);
}

class Runner {
  public:
    Runner(ProcessRunner& runner, MarkReport& report) : runner_(runner), report_(report) {}

    ProcessResult run(const std::vector<std::string>& argv, const std::string& input = {}) {
        ++report_.commands;
        return runner_.run(argv, input);
    }
    // A command that changes something: it must succeed.
    void change(const std::vector<std::string>& argv, const std::string& input = {}) {
        ++report_.changing_commands;
        const auto r = run(argv, input);
        if (r.status != 0) {
            std::string command;
            for (const auto& a : argv) {
                command += (command.empty() ? "" : " ") + a;
            }
            throw Error(ExitCode::kernel, fmt::format("firewall marks: {}: {}", command,
                                                      r.err.empty() ? r.out : r.err));
        }
    }

  private:
    ProcessRunner& runner_;
    MarkReport& report_;
};

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

struct FamilyTools {
    Family family;
    const char* iptables;
    const char* save;
    const char* restore;
    const char* ipset_family;
};

const FamilyTools kTools[] = {
    {Family::inet, "iptables-legacy", "iptables-legacy-save", "iptables-legacy-restore", "inet"},
    {Family::inet6, "ip6tables-legacy", "ip6tables-legacy-save", "ip6tables-legacy-restore",
     "inet6"},
};

// Our rules in the mangle table, as iptables-save prints them ("-A PREROUTING ...").
std::vector<std::string> our_rules(Runner& run, const FamilyTools& t, std::uint32_t mark) {
    const auto r = run.run({t.save, "-t", "mangle"});
    if (r.status != 0) {
        throw Error(ExitCode::kernel,
                    fmt::format("firewall marks: {} -t mangle: {}", t.save, r.err));
    }
    std::vector<std::string> out;
    const auto tag = "--comment " + comment(mark) + " ";
    for (const auto& line : lines(r.out)) {
        if (line.starts_with("-A PREROUTING ") && line.find(tag) != std::string::npos) {
            out.push_back(line);
        }
    }
    return out;
}

std::string rule(const MarkSpec& spec, const std::string& set) {
    std::string ports;
    for (auto p : spec.ports) {
        ports += (ports.empty() ? "" : ",") + std::to_string(p);
    }
    // The same words, in the same order, as iptables-save prints the rule back.
    return fmt::format(
        "-A PREROUTING -p {} -m set --match-set {} dst -m multiport --dports {} "
        "-m comment --comment {} -j MARK --set-xmark 0x{:x}/0xffffffff",
        spec.protocol, set, ports, comment(spec.fwmark), spec.fwmark);
}

// The set's members, or std::nullopt when there is no such set.
std::optional<std::set<IpAddress>> members(Runner& run, const std::string& set) {
    const auto r = run.run({"ipset", "save", set});
    if (r.status != 0) {
        return std::nullopt;
    }
    std::set<IpAddress> out;
    const auto prefix = "add " + set + " ";
    for (const auto& line : lines(r.out)) {
        if (line.starts_with(prefix)) {
            if (auto ip = IpAddress::parse(line.substr(prefix.size()))) {
                out.insert(*ip);
            }
        }
    }
    return out;
}

void remove_rules(Runner& run, const FamilyTools& t, const std::vector<std::string>& rules,
                  MarkReport& report, const std::string& what) {
    if (rules.empty()) {
        return;
    }
    std::string script = "*mangle\n";
    for (const auto& r : rules) {
        script += "-D" + r.substr(2) + "\n";
    }
    script += "COMMIT\n";
    run.change({t.restore, "--noflush"}, script);
    report.done.push_back(fmt::format("{}: remove {}", t.iptables, what));
}

}  // namespace

std::string IptablesMarks::set_name(std::uint32_t mark, Family family) {
    return fmt::format("lvsctl-{}-{}", mark, family == Family::inet ? 4 : 6);
}

MarkReport IptablesMarks::apply(const MarkSpec& spec, const std::vector<std::uint32_t>& retired) {
    if (spec.ports.empty() || spec.ports.size() > 15) {
        throw Error(ExitCode::data,
                    "firewall marks: iptables' multiport match takes 1 to 15 ports");
    }
    MarkReport report;
    Runner run(runner_, report);
    for (const auto& t : kTools) {
        const auto set = set_name(spec.fwmark, t.family);
        std::set<IpAddress> wanted;
        for (const auto& ip : spec.website_ips) {
            if (ip.family() == t.family) {
                wanted.insert(ip);
            }
        }
        const auto existing = members(run, set);
        const auto rules = our_rules(run, t, spec.fwmark);
        if (wanted.empty()) {
            // Nothing to mark in this family: our rule goes first, then the set it names.
            remove_rules(run, t, rules, report, comment(spec.fwmark));
            if (existing) {
                run.change({"ipset", "destroy", set});
                report.done.push_back(fmt::format("ipset {}: destroy", set));
            }
            continue;
        }
        // The set first (a rule cannot name a missing set), as one ipset restore transaction.
        std::string script;
        std::size_t added = 0;
        std::size_t removed = 0;
        if (!existing) {
            script += fmt::format("create {} hash:ip family {} hashsize 1024 maxelem 1048576\n",
                                  set, t.ipset_family);
        }
        for (const auto& ip : wanted) {
            if (!existing || !existing->contains(ip)) {
                script += fmt::format("add {} {}\n", set, ip.str());
                ++added;
            }
        }
        if (existing) {
            for (const auto& ip : *existing) {
                if (!wanted.contains(ip)) {
                    script += fmt::format("del {} {}\n", set, ip.str());
                    ++removed;
                }
            }
        }
        if (!script.empty()) {
            run.change({"ipset", "restore"}, script);
            report.done.push_back(fmt::format("ipset {}: add {}, remove {}", set, added, removed));
        }
        // Then the one rule, replaced in one iptables-restore transaction if it differs.
        const auto want = rule(spec, set);
        if (rules.size() != 1 || rules[0] != want) {
            std::string tx = "*mangle\n";
            for (const auto& r : rules) {
                tx += "-D" + r.substr(2) + "\n";
            }
            tx += want + "\nCOMMIT\n";
            run.change({t.restore, "--noflush"}, tx);
            report.done.push_back(fmt::format("{}: mark {} {} to {} in mangle PREROUTING",
                                              t.iptables, spec.protocol, set, spec.fwmark));
        }
    }
    for (auto mark : retired) {
        if (mark == spec.fwmark) {
            continue;
        }
        for (const auto& t : kTools) {
            remove_rules(run, t, our_rules(run, t, mark), report, comment(mark));
            const auto set = set_name(mark, t.family);
            if (members(run, set)) {
                run.change({"ipset", "destroy", set});
                report.done.push_back(fmt::format("ipset {}: destroy", set));
            }
        }
    }
    return report;
}

}  // namespace lvsctl
