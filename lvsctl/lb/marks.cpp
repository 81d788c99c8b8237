#include "lvsctl/lb/marks.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
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
            const auto& why = r.err.empty() ? r.out : r.err;
            // iptables, ipset and nft run unprivileged say so in words, not in a status.
            const bool refused = why.find("Permission denied") != std::string::npos ||
                                 why.find("Operation not permitted") != std::string::npos;
            throw Error(refused ? ExitCode::permission : ExitCode::kernel,
                        fmt::format("firewall marks: {}: {}", command, why));
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

void IptablesMarks::check(const MarkSpec& spec) const {
    if (spec.ports.empty() || spec.ports.size() > 15) {
        throw Error(ExitCode::data,
                    fmt::format("firewall marks: iptables' multiport match takes 1 to 15 ports, "
                                "the cluster has {} (use --marks=nft where the kernel has it)",
                                spec.ports.size()));
    }
}

MarkReport IptablesMarks::apply(const MarkSpec& spec, const std::vector<std::uint32_t>& retired) {
    check(spec);
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

namespace {

struct NftFamily {
    Family family;
    const char* name;  // nft's family: ip / ip6
    const char* type;  // the set's element type
    const char* daddr;
};

const NftFamily kNftFamilies[] = {
    {Family::inet, "ip", "ipv4_addr", "ip daddr"},
    {Family::inet6, "ip6", "ipv6_addr", "ip6 daddr"},
};

// What `nft -j list table FAMILY lvsctl` says: the sets' members, the chains, and each chain's
// rule comments.
struct NftTable {
    bool exists = false;
    std::map<std::string, std::set<IpAddress>> sets;
    std::map<std::string, std::vector<std::string>> chains;  // name -> its rules' comments
};

NftTable read_table(Runner& run, const NftFamily& f) {
    NftTable table;
    const auto r = run.run({"nft", "-j", "list", "table", f.name, "lvsctl"});
    if (r.status != 0) {
        return table;  // no such table
    }
    table.exists = true;
    try {
        const auto doc = nlohmann::json::parse(r.out);
        for (const auto& item : doc.at("nftables")) {
            if (item.contains("set")) {
                auto& members = table.sets[item["set"].at("name").get<std::string>()];
                for (const auto& e : item["set"].value("elem", nlohmann::json::array())) {
                    if (e.is_string()) {
                        if (auto ip = IpAddress::parse(e.get<std::string>())) {
                            members.insert(*ip);
                        }
                    }
                }
            } else if (item.contains("chain")) {
                table.chains[item["chain"].at("name").get<std::string>()];
            } else if (item.contains("rule")) {
                table.chains[item["rule"].at("chain").get<std::string>()].push_back(
                    item["rule"].value("comment", ""));
            }
        }
    } catch (const nlohmann::json::exception& e) {
        throw Error(ExitCode::kernel, fmt::format("firewall marks: nft -j list table {} lvsctl: {}",
                                                  f.name, e.what()));
    }
    return table;
}

std::string chain_name(std::uint32_t mark) {
    return fmt::format("prerouting_{}", mark);
}

std::string set_name(std::uint32_t mark) {
    return fmt::format("web_{}", mark);
}

// The chain of versions with one chain per table, and whether all its rules mark with one of
// `marks` (each rule's comment starts "lvsctl-fwmark-MARK "): then it is ours to remove.
constexpr const char* kLegacyChain = "prerouting";
bool legacy_chain_is_ours(const NftTable& table, const std::set<std::uint32_t>& marks) {
    const auto it = table.chains.find(kLegacyChain);
    if (it == table.chains.end()) {
        return false;
    }
    return std::all_of(it->second.begin(), it->second.end(), [&](const std::string& c) {
        return std::any_of(marks.begin(), marks.end(), [&](std::uint32_t m) {
            const auto tag = comment(m);
            return c == tag || c.starts_with(tag + " ");
        });
    });
}

std::string elements(const std::vector<IpAddress>& ips) {
    std::string out;
    for (const auto& ip : ips) {
        out += (out.empty() ? "" : ", ") + ip.str();
    }
    return out;
}

}  // namespace

bool NftMarks::supported(ProcessRunner& runner) {
    const auto r =
        runner.run({"nft", "-c", "-f", "-"}, "add table ip lvsctl\nadd table ip6 lvsctl\n");
    return r.status == 0;
}

void NftMarks::check(const MarkSpec& spec) const {
    if (spec.ports.empty()) {
        throw Error(ExitCode::data, "firewall marks: no port to mark");
    }
}

MarkReport NftMarks::apply(const MarkSpec& spec, const std::vector<std::uint32_t>& retired) {
    check(spec);
    MarkReport report;
    Runner run(runner_, report);
    std::string ports;
    for (auto p : spec.ports) {
        ports += (ports.empty() ? "" : ", ") + std::to_string(p);
    }
    const auto set = set_name(spec.fwmark);
    const auto chain = chain_name(spec.fwmark);
    const auto want_comment = fmt::format("{} {} {}", comment(spec.fwmark), spec.protocol, ports);
    // This cluster's marks: the one it marks with now and those it used before. Nothing else in
    // the table is touched: other clusters' chains and sets share it.
    std::set<std::uint32_t> ours(retired.begin(), retired.end());
    ours.insert(spec.fwmark);
    for (const auto& f : kNftFamilies) {
        std::vector<IpAddress> wanted;
        for (const auto& ip : spec.website_ips) {
            if (ip.family() == f.family) {
                wanted.push_back(ip);
            }
        }
        std::sort(wanted.begin(), wanted.end());
        const auto table = read_table(run, f);

        // What goes: the chains and sets of retired marks, this mark's when the family has
        // nothing to mark, and the legacy chain when it only marks with our marks.
        std::vector<std::string> gone_chains;
        std::vector<std::string> gone_sets;
        for (auto mark : ours) {
            if (mark == spec.fwmark && !wanted.empty()) {
                continue;
            }
            if (table.chains.contains(chain_name(mark))) {
                gone_chains.push_back(chain_name(mark));
            }
            if (table.sets.contains(set_name(mark))) {
                gone_sets.push_back(set_name(mark));
            }
        }
        if (legacy_chain_is_ours(table, ours)) {
            gone_chains.push_back(kLegacyChain);
        }
        std::string removal;
        for (const auto& c : gone_chains) {  // a chain goes empty; a set goes once no rule names it
            removal += fmt::format("flush chain {} lvsctl {}\n", f.name, c);
            removal += fmt::format("delete chain {} lvsctl {}\n", f.name, c);
        }
        for (const auto& s : gone_sets) {
            removal += fmt::format("delete set {} lvsctl {}\n", f.name, s);
        }

        if (wanted.empty()) {
            if (!table.exists || removal.empty()) {
                continue;
            }
            if (gone_chains.size() == table.chains.size() &&
                gone_sets.size() == table.sets.size()) {
                // Nothing of anyone else's is left in it: the table goes whole.
                run.change({"nft", "delete", "table", f.name, "lvsctl"});
                report.done.push_back(fmt::format("nft: delete table {} lvsctl", f.name));
            } else {
                run.change({"nft", "-f", "-"}, removal);
                std::string what;
                for (const auto& c : gone_chains) {
                    what += (what.empty() ? "" : ", ") + ("chain " + c);
                }
                for (const auto& s : gone_sets) {
                    what += (what.empty() ? "" : ", ") + ("set " + s);
                }
                report.done.push_back(fmt::format("nft {} lvsctl: delete {}", f.name, what));
            }
            continue;
        }

        std::string script;
        if (!table.exists) {
            script += fmt::format("add table {} lvsctl\n", f.name);
        }
        const auto it = table.sets.find(set);
        if (it == table.sets.end()) {
            script += fmt::format("add set {} lvsctl {} {{ type {}; }}\n", f.name, set, f.type);
        }
        std::vector<IpAddress> add;
        std::vector<IpAddress> del;
        const std::set<IpAddress> wanted_set(wanted.begin(), wanted.end());
        for (const auto& ip : wanted) {
            if (it == table.sets.end() || !it->second.contains(ip)) {
                add.push_back(ip);
            }
        }
        if (it != table.sets.end()) {
            for (const auto& ip : it->second) {
                if (!wanted_set.contains(ip)) {
                    del.push_back(ip);
                }
            }
        }
        if (!add.empty()) {
            script +=
                fmt::format("add element {} lvsctl {} {{ {} }}\n", f.name, set, elements(add));
        }
        if (!del.empty()) {
            script +=
                fmt::format("delete element {} lvsctl {} {{ {} }}\n", f.name, set, elements(del));
        }
        // One rule in the mark's own chain, recognised by its comment (which spells out what it
        // does); only that chain is flushed.
        const auto existing = table.chains.find(chain);
        const bool rule_ok = existing != table.chains.end() &&
                             existing->second == std::vector<std::string>{want_comment};
        if (!rule_ok) {
            if (existing == table.chains.end()) {
                script += fmt::format(
                    "add chain {} lvsctl {} {{ type filter hook prerouting priority mangle; "
                    "policy accept; }}\n",
                    f.name, chain);
            } else {
                script += fmt::format("flush chain {} lvsctl {}\n", f.name, chain);
            }
            script += fmt::format(
                "add rule {} lvsctl {} {} @{} {} dport {{ {} }} counter meta mark set {} "
                "comment \"{}\"\n",
                f.name, chain, f.daddr, set, spec.protocol, ports, spec.fwmark, want_comment);
        }
        // In the same transaction: the new chain marks before the legacy one stops.
        script += removal;
        if (!script.empty()) {
            run.change({"nft", "-f", "-"}, script);
            report.done.push_back(fmt::format(
                "nft {} lvsctl {}: add {}, remove {}{}{}", f.name, set, add.size(), del.size(),
                rule_ok ? "" : ", rule replaced",
                gone_chains.empty() && gone_sets.empty() ? ""
                                                         : ", former chains and sets deleted"));
        }
    }
    return report;
}

}  // namespace lvsctl
