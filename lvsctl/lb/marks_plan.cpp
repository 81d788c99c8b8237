#include "lvsctl/lb/marks_plan.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>

#include "lvsctl/error.h"

namespace lvsctl {

namespace {

std::string comment(std::uint32_t mark) {
    return fmt::format("lvsctl-fwmark-{}", mark);
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

const IptablesTools kTools[] = {
    {Family::inet, "iptables-legacy", "iptables-legacy-save", "iptables-legacy-restore", "inet"},
    {Family::inet6, "ip6tables-legacy", "ip6tables-legacy-save", "ip6tables-legacy-restore",
     "inet6"},
};

// Deleting `rules` (iptables-save's "-A ..." lines) in one restore transaction.
std::string deletions(const std::vector<std::string>& rules) {
    std::string script;
    for (const auto& r : rules) {
        script += "-D" + r.substr(2) + "\n";
    }
    return script;
}

// The rules go first, then the set they name.
void remove_mark(std::uint32_t mark, const IptablesTools& t, const IptablesObserved& now,
                 std::vector<MarkCommand>& out) {
    if (!now.rules.empty()) {
        out.push_back({{t.restore, "--noflush"},
                       "*mangle\n" + deletions(now.rules) + "COMMIT\n",
                       fmt::format("{}: remove {}", t.iptables, comment(mark))});
    }
    if (now.members) {
        const auto set = IptablesMarks::set_name(mark, t.family);
        out.push_back({{"ipset", "destroy", set}, {}, fmt::format("ipset {}: destroy", set)});
    }
}

}  // namespace

const IptablesTools& iptables_tools(Family family) {
    return kTools[family == Family::inet ? 0 : 1];
}

std::vector<std::string> iptables_rules_of(const std::string& save_output, std::uint32_t mark) {
    std::vector<std::string> out;
    const auto tag = "--comment " + comment(mark) + " ";
    for (const auto& line : lines(save_output)) {
        if (line.starts_with("-A PREROUTING ") && line.find(tag) != std::string::npos) {
            out.push_back(line);
        }
    }
    return out;
}

std::set<IpAddress> ipset_members(const std::string& save_output, const std::string& set) {
    std::set<IpAddress> out;
    const auto prefix = "add " + set + " ";
    for (const auto& line : lines(save_output)) {
        if (line.starts_with(prefix)) {
            if (auto ip = IpAddress::parse(line.substr(prefix.size()))) {
                out.insert(*ip);
            }
        }
    }
    return out;
}

std::string iptables_rule(const MarkSpec& spec, const std::string& set) {
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

std::vector<MarkCommand> plan_iptables(const MarkSpec& spec, Family family,
                                       const IptablesObserved& now) {
    const auto& t = iptables_tools(family);
    const auto set = IptablesMarks::set_name(spec.fwmark, family);
    std::vector<MarkCommand> out;
    std::set<IpAddress> wanted;
    for (const auto& ip : spec.website_ips) {
        if (ip.family() == family) {
            wanted.insert(ip);
        }
    }
    if (wanted.empty()) {
        // Nothing to mark in this family: our rule goes first, then the set it names.
        remove_mark(spec.fwmark, t, now, out);
        return out;
    }
    // The set first (a rule cannot name a missing set), as one ipset restore transaction.
    std::string script;
    std::size_t added = 0;
    std::size_t removed = 0;
    if (!now.members) {
        script += fmt::format("create {} hash:ip family {} hashsize 1024 maxelem 1048576\n", set,
                              t.ipset_family);
    }
    for (const auto& ip : wanted) {
        if (!now.members || !now.members->contains(ip)) {
            script += fmt::format("add {} {}\n", set, ip.str());
            ++added;
        }
    }
    if (now.members) {
        for (const auto& ip : *now.members) {
            if (!wanted.contains(ip)) {
                script += fmt::format("del {} {}\n", set, ip.str());
                ++removed;
            }
        }
    }
    if (!script.empty()) {
        out.push_back({{"ipset", "restore"},
                       std::move(script),
                       fmt::format("ipset {}: add {}, remove {}", set, added, removed)});
    }
    // Then the one rule, replaced in one iptables-restore transaction if it differs.
    const auto want = iptables_rule(spec, set);
    if (now.rules.size() != 1 || now.rules[0] != want) {
        out.push_back({{t.restore, "--noflush"},
                       "*mangle\n" + deletions(now.rules) + want + "\nCOMMIT\n",
                       fmt::format("{}: mark {} {} to {} in mangle PREROUTING", t.iptables,
                                   spec.protocol, set, spec.fwmark)});
    }
    return out;
}

std::vector<MarkCommand> plan_iptables_retired(std::uint32_t mark, Family family,
                                               const IptablesObserved& now) {
    std::vector<MarkCommand> out;
    remove_mark(mark, iptables_tools(family), now, out);
    return out;
}

namespace {

struct NftFamily {
    const char* name;  // nft's family: ip / ip6
    const char* type;  // the set's element type
    const char* daddr;
};

const NftFamily& nft_family(Family family) {
    static const NftFamily kFamilies[] = {
        {"ip", "ipv4_addr", "ip daddr"},
        {"ip6", "ipv6_addr", "ip6 daddr"},
    };
    return kFamilies[family == Family::inet ? 0 : 1];
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

NftTable parse_nft_table(const std::string& json, Family family) {
    NftTable table;
    table.exists = true;
    try {
        const auto doc = nlohmann::json::parse(json);
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
                                                  nft_family(family).name, e.what()));
    }
    return table;
}

std::string nft_chain_name(std::uint32_t mark) {
    return fmt::format("prerouting_{}", mark);
}

std::string nft_set_name(std::uint32_t mark) {
    return fmt::format("web_{}", mark);
}

std::optional<MarkCommand> plan_nft(const MarkSpec& spec, const std::set<std::uint32_t>& ours,
                                    Family family, const NftTable& table) {
    const auto& f = nft_family(family);
    std::string ports;
    for (auto p : spec.ports) {
        ports += (ports.empty() ? "" : ", ") + std::to_string(p);
    }
    const auto set = nft_set_name(spec.fwmark);
    const auto chain = nft_chain_name(spec.fwmark);
    const auto want_comment = fmt::format("{} {} {}", comment(spec.fwmark), spec.protocol, ports);
    std::vector<IpAddress> wanted;
    for (const auto& ip : spec.website_ips) {
        if (ip.family() == family) {
            wanted.push_back(ip);
        }
    }
    std::sort(wanted.begin(), wanted.end());

    // What goes: the chains and sets of retired marks, this mark's when the family has nothing
    // to mark, and the legacy chain when it only marks with our marks.
    std::vector<std::string> gone_chains;
    std::vector<std::string> gone_sets;
    for (auto mark : ours) {
        if (mark == spec.fwmark && !wanted.empty()) {
            continue;
        }
        if (table.chains.contains(nft_chain_name(mark))) {
            gone_chains.push_back(nft_chain_name(mark));
        }
        if (table.sets.contains(nft_set_name(mark))) {
            gone_sets.push_back(nft_set_name(mark));
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
            return std::nullopt;
        }
        if (gone_chains.size() == table.chains.size() && gone_sets.size() == table.sets.size()) {
            // Nothing of anyone else's is left in it: the table goes whole.
            return MarkCommand{{"nft", "delete", "table", f.name, "lvsctl"},
                               {},
                               fmt::format("nft: delete table {} lvsctl", f.name)};
        }
        std::string what;
        for (const auto& c : gone_chains) {
            what += (what.empty() ? "" : ", ") + ("chain " + c);
        }
        for (const auto& s : gone_sets) {
            what += (what.empty() ? "" : ", ") + ("set " + s);
        }
        return MarkCommand{{"nft", "-f", "-"},
                           std::move(removal),
                           fmt::format("nft {} lvsctl: delete {}", f.name, what)};
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
        script += fmt::format("add element {} lvsctl {} {{ {} }}\n", f.name, set, elements(add));
    }
    if (!del.empty()) {
        script += fmt::format("delete element {} lvsctl {} {{ {} }}\n", f.name, set, elements(del));
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
    if (script.empty()) {
        return std::nullopt;
    }
    return MarkCommand{
        {"nft", "-f", "-"},
        std::move(script),
        fmt::format(
            "nft {} lvsctl {}: add {}, remove {}{}{}", f.name, set, add.size(), del.size(),
            rule_ok ? "" : ", rule replaced",
            gone_chains.empty() && gone_sets.empty() ? "" : ", former chains and sets deleted")};
}

}  // namespace lvsctl
