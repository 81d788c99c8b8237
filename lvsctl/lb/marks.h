// The firewall marks (docs/agent-protocol.md, "Firewall marks in detail"): packets to a website IP
// and one of the cluster's ports get the cluster's mark in mangle PREROUTING, through one set
// lookup per family, never one rule per IP. The sets and rules are lvsctl's own, named after the
// mark.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lvsctl/address.h"
#include "lvsctl/process.h"

namespace lvsctl {

struct MarkSpec {
    std::uint32_t fwmark = 0;
    std::string protocol = "tcp";
    std::vector<std::uint16_t> ports;
    std::vector<IpAddress> website_ips;
};

struct MarkReport {
    std::vector<std::string> done;  // e.g. "ipset lvsctl-100-4: add 2, remove 1"
    std::size_t commands = 0;       // programs run
    std::size_t changing_commands = 0;
};

class Marks {
  public:
    virtual ~Marks() = default;
    // Whether apply() can make the marks `spec` asks for: called before anything changes, so that
    // a spec this tool cannot express is refused with nothing changed. Throws
    // Error(ExitCode::data) saying why.
    virtual void check(const MarkSpec& spec) const = 0;
    // Converges the marks for `spec`; removes the sets and rules of `retired_marks` (marks the
    // agent used before for the same cluster; other marks are never touched). Throws
    // Error(ExitCode::kernel) naming the command that failed (ExitCode::permission when it was
    // refused for want of privilege).
    virtual MarkReport apply(const MarkSpec& spec,
                             const std::vector<std::uint32_t>& retired_marks) = 0;
};

// iptables-legacy + ipset (as the seed's LB, and kernels without nftables).
class IptablesMarks : public Marks {
  public:
    explicit IptablesMarks(ProcessRunner& runner) : runner_(runner) {}
    void check(const MarkSpec& spec) const override;  // multiport takes 1 to 15 ports
    MarkReport apply(const MarkSpec& spec,
                     const std::vector<std::uint32_t>& retired_marks) override;

    static std::string set_name(std::uint32_t mark, Family family);  // "lvsctl-100-4"

  private:
    ProcessRunner& runner_;
};

// nftables: tables `ip lvsctl` and `ip6 lvsctl` (lvsctl's own, shared by the clusters of the
// LB), and per mark a set `web_MARK` and a chain `prerouting_MARK` at mangle priority holding one
// rule, changed by one `nft -f -` transaction per family. A family with nothing to mark loses
// that mark's chain and set, and the table only once nothing else is in it. The one chain
// `prerouting` of earlier versions goes when it holds only rules of the marks being applied.
class NftMarks : public Marks {
  public:
    explicit NftMarks(ProcessRunner& runner) : runner_(runner) {}
    void check(const MarkSpec& spec) const override;
    MarkReport apply(const MarkSpec& spec,
                     const std::vector<std::uint32_t>& retired_marks) override;

    // Whether this kernel and nft take tables of the ip and ip6 families (a dry run).
    static bool supported(ProcessRunner& runner);

  private:
    ProcessRunner& runner_;
};

}  // namespace lvsctl
