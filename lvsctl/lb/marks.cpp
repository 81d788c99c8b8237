#include "lvsctl/lb/marks.h"

#include <fmt/format.h>

#include <set>

#include "lvsctl/error.h"
#include "lvsctl/lb/marks_plan.h"

namespace lvsctl {

namespace {

// Runs the tools: reads what the firewall holds, and the planned commands (marks_plan.h).
class Runner {
  public:
    Runner(ProcessRunner& runner, MarkReport& report) : runner_(runner), report_(report) {}

    ProcessResult read(const std::vector<std::string>& argv) {
        ++report_.commands;
        return runner_.run(argv, {});
    }

    // A command that changes something: it must succeed.
    void change(const MarkCommand& c) {
        ++report_.commands;
        ++report_.changing_commands;
        const auto r = runner_.run(c.argv, c.input);
        if (r.status != 0) {
            std::string command;
            for (const auto& a : c.argv) {
                command += (command.empty() ? "" : " ") + a;
            }
            const auto& why = r.err.empty() ? r.out : r.err;
            // iptables, ipset and nft run unprivileged say so in words, not in a status.
            const bool refused = why.find("Permission denied") != std::string::npos ||
                                 why.find("Operation not permitted") != std::string::npos;
            throw Error(refused ? ExitCode::permission : ExitCode::kernel,
                        fmt::format("firewall marks: {}: {}", command, why));
        }
        report_.done.push_back(c.done);
    }
    void change(const std::vector<MarkCommand>& commands) {
        for (const auto& c : commands) {
            change(c);
        }
    }

  private:
    ProcessRunner& runner_;
    MarkReport& report_;
};

// What `mark` has in `family`: its set (ipset save) and its rules (iptables-save -t mangle).
IptablesObserved observe(Runner& run, std::uint32_t mark, Family family) {
    const auto& t = iptables_tools(family);
    IptablesObserved now;
    const auto set = IptablesMarks::set_name(mark, family);
    if (const auto r = run.read({"ipset", "save", set}); r.status == 0) {
        now.members = ipset_members(r.out, set);
    }
    const auto r = run.read({t.save, "-t", "mangle"});
    if (r.status != 0) {
        throw Error(ExitCode::kernel,
                    fmt::format("firewall marks: {} -t mangle: {}", t.save, r.err));
    }
    now.rules = iptables_rules_of(r.out, mark);
    return now;
}

constexpr Family kFamilies[] = {Family::inet, Family::inet6};

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
    for (const auto family : kFamilies) {
        run.change(plan_iptables(spec, family, observe(run, spec.fwmark, family)));
    }
    for (auto mark : retired) {
        if (mark == spec.fwmark) {
            continue;
        }
        for (const auto family : kFamilies) {
            run.change(plan_iptables_retired(mark, family, observe(run, mark, family)));
        }
    }
    return report;
}

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
    // This cluster's marks: the one it marks with now and those it used before. Nothing else in
    // the table is touched: other clusters' chains and sets share it.
    std::set<std::uint32_t> ours(retired.begin(), retired.end());
    ours.insert(spec.fwmark);
    for (const auto family : kFamilies) {
        const auto r = run.read(
            {"nft", "-j", "list", "table", family == Family::inet ? "ip" : "ip6", "lvsctl"});
        // A failed listing: no such table.
        const auto table = r.status == 0 ? parse_nft_table(r.out, family) : NftTable{};
        if (const auto command = plan_nft(spec, ours, family, table)) {
            run.change(*command);
        }
    }
    return report;
}

}  // namespace lvsctl
