// The pure half of the firewall marks (docs/agent-protocol.md, "Firewall marks in detail"): from
// what the firewall holds now, the commands that make it mark as a MarkSpec asks. No I/O: the
// readers parse the tools' own output, the planners return the commands; marks.cpp runs them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lvsctl/address.h"
#include "lvsctl/lb/marks.h"

namespace lvsctl {

// One command that changes the firewall, with its standard input, and the line the report gets.
struct MarkCommand {
    std::vector<std::string> argv;
    std::string input;
    std::string done;
};

// ---- iptables-legacy + ipset ----

// The tools of one family: iptables-legacy-save / -restore and ipset's family name.
struct IptablesTools {
    Family family;
    const char* iptables;
    const char* save;
    const char* restore;
    const char* ipset_family;
};
const IptablesTools& iptables_tools(Family family);

// What one mark has in one family: its set's members (std::nullopt: no such set) and its rules in
// mangle PREROUTING, as iptables-save prints them ("-A PREROUTING ...").
struct IptablesObserved {
    std::optional<std::set<IpAddress>> members;
    std::vector<std::string> rules;
};

// Our rules for `mark` among `iptables-save -t mangle`'s lines (found by their comment).
std::vector<std::string> iptables_rules_of(const std::string& save_output, std::uint32_t mark);
// The members of `set` among `ipset save SET`'s lines.
std::set<IpAddress> ipset_members(const std::string& save_output, const std::string& set);

// The one rule `spec` needs in `family`, in iptables-save's words and order.
std::string iptables_rule(const MarkSpec& spec, const std::string& set);

// Converge `spec`'s mark in one family: the set first (one `ipset restore`), then the rule (one
// `iptables-restore --noflush` transaction); with no website IP of the family, the rule goes and
// then the set.
std::vector<MarkCommand> plan_iptables(const MarkSpec& spec, Family family,
                                       const IptablesObserved& now);
// Remove a retired mark's rules and then its set, in one family.
std::vector<MarkCommand> plan_iptables_retired(std::uint32_t mark, Family family,
                                               const IptablesObserved& now);

// ---- nftables ----

// What `nft -j list table FAMILY lvsctl` says: the sets' members, the chains, and each chain's
// rule comments.
struct NftTable {
    bool exists = false;
    std::map<std::string, std::set<IpAddress>> sets;
    std::map<std::string, std::vector<std::string>> chains;  // name -> its rules' comments
};
// Throws Error(ExitCode::kernel) when `json` is not what nft prints.
NftTable parse_nft_table(const std::string& json, Family family);

std::string nft_chain_name(std::uint32_t mark);  // "prerouting_100"
std::string nft_set_name(std::uint32_t mark);    // "web_100"

// Converge `spec`'s mark in one family, given `ours` (the cluster's marks: spec.fwmark and those
// it used before; nothing else in the table is touched): at most one command, an `nft -f -`
// transaction (or `nft delete table` when nothing of anyone's is left in it).
std::optional<MarkCommand> plan_nft(const MarkSpec& spec, const std::set<std::uint32_t>& ours,
                                    Family family, const NftTable& now);

}  // namespace lvsctl
