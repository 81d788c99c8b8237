#include "lvsctl/manage/web_step.h"

#include "lvsctl/manage/scripts.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <sstream>

namespace lvsctl {

namespace {

constexpr std::string_view kSysctlMark = "@@lvsctl-sysctl";
constexpr const char* kArpIgnore = "net.ipv4.conf.all.arp_ignore";
constexpr const char* kArpAnnounce = "net.ipv4.conf.all.arp_announce";

std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\\')) {
            ++i;
        }
        const auto start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\\') {
            ++i;
        }
        if (i > start) {
            out.push_back(line.substr(start, i - start));
        }
    }
    return out;
}

std::optional<int> number(std::string_view text) {
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::string address_with_prefix(const IpAddress& ip) {
    return fmt::format("{}/{}", ip.str(), ip.host_prefix());
}

}  // namespace

void describe_addresses(const std::vector<IpAddress>& add,
                        const std::vector<InterfaceAddress>& remove, std::string_view remove_note,
                        std::vector<std::string>& out) {
    for (std::size_t i = 0; i < add.size() && i < kNamedAddresses; ++i) {
        out.push_back(fmt::format("add {} to lo", address_with_prefix(add[i])));
    }
    if (add.size() > kNamedAddresses) {
        out.push_back(
            fmt::format("... and {} more website IPs added to lo", add.size() - kNamedAddresses));
    }
    for (std::size_t i = 0; i < remove.size() && i < kNamedAddresses; ++i) {
        out.push_back(fmt::format("remove {}/{} from lo{}", remove[i].address.str(),
                                  remove[i].prefix, remove_note));
    }
    if (remove.size() > kNamedAddresses) {
        out.push_back(fmt::format("... and {} more addresses removed from lo{}",
                                  remove.size() - kNamedAddresses, remove_note));
    }
}

std::string web_record_path(std::int64_t cluster_id) {
    return fmt::format("/var/lib/lvsctl/lo-cluster-{}.ips", cluster_id);
}

std::vector<std::string> web_read_command(const std::string& record_path) {
    return {"sh", "-c", std::string(scripts::kWebReadScript), "lvsctl-read", record_path};
}

WebObserved parse_web_observed(std::string_view output, std::string_view host) {
    auto bad = [&](const std::string& why) {
        return Error(ExitCode::partial, fmt::format("{}: reading lo: {}", host, why));
    };
    WebObserved seen;
    // At most one address per space or newline: reserved at once, not grown 20 times.
    seen.lo.reserve(static_cast<std::size_t>(std::count(output.begin(), output.end(), ' ')) / 2);
    seen.owned.reserve(static_cast<std::size_t>(std::count(output.begin(), output.end(), '\n')));
    enum class Part { addresses, sysctls, record } part = Part::addresses;
    std::vector<int> sysctls;
    auto address = [&](std::string_view text, std::optional<int> bare_prefix) {
        const auto slash = text.find('/');
        const auto ip = IpAddress::parse(text.substr(0, slash));
        const auto prefix =
            slash == std::string_view::npos ? bare_prefix : number(text.substr(slash + 1));
        if (!ip || !prefix) {
            throw bad(fmt::format("not an address: {}", text));
        }
        seen.lo.push_back({*ip, *prefix});
    };
    for (std::size_t start = 0; start < output.size();) {
        auto end = output.find('\n', start);
        if (end == std::string_view::npos) {
            end = output.size();
            if (part == Part::record) {  // the record's last write was cut short
                seen.record_appendable = false;
                break;
            }
        }
        const auto line = output.substr(start, end - start);
        start = end + 1;
        if (part == Part::addresses && line == kSysctlMark) {
            part = Part::sysctls;
            continue;
        }
        if (part == Part::record) {  // one address a line: the most lines, parsed without words()
            const auto first = line.find_first_not_of(" \t");
            if (first == std::string_view::npos) {
                continue;
            }
            const auto text = line.substr(first, line.find_last_not_of(" \t") + 1 - first);
            const auto ip = IpAddress::parse(text);
            if (!ip) {
                throw bad(fmt::format("{}: not an address: {}", "the record", line));
            }
            seen.owned.push_back(*ip);
            continue;
        }
        const auto w = words(line);
        if (w.empty()) {
            continue;
        }
        switch (part) {
            case Part::addresses: {
                // `ip -o`: "1: lo    inet 10.0.0.1/32 scope global lo\ ...";
                // `ip -br`: "lo    UNKNOWN    127.0.0.1/8 10.0.0.1/32 ::1/128".
                bool full = false;
                for (std::size_t i = 0; i + 1 < w.size(); ++i) {
                    if (w[i] == "inet" || w[i] == "inet6") {
                        full = true;
                        address(w[i + 1], w[i] == "inet" ? 32 : 128);
                    }
                }
                for (std::size_t i = 2; !full && i < w.size(); ++i) {
                    address(w[i], std::nullopt);
                }
                break;
            }
            case Part::sysctls: {
                const auto value = number(w[0]);
                if (!value || w.size() != 1) {
                    throw bad(fmt::format("not a sysctl value: {}", line));
                }
                sysctls.push_back(*value);
                if (sysctls.size() == 2) {
                    part = Part::record;  // the rest is the record
                }
                break;
            }
            case Part::record:
                break;  // above
        }
    }
    if (part != Part::record) {
        throw bad("the output is cut short");
    }
    seen.arp_ignore = sysctls[0];
    seen.arp_announce = sysctls[1];
    return seen;
}

WebPlan plan_web(const std::vector<IpAddress>& desired, const WebObserved& seen) {
    WebPlan plan;
    if (seen.arp_ignore != 1) {
        plan.sysctls.emplace_back(kArpIgnore, 1);
    }
    if (seen.arp_announce != 2) {
        plan.sysctls.emplace_back(kArpAnnounce, 2);
    }
    const auto wanted = sorted_unique(desired);
    const auto recorded = sorted_unique(seen.owned);
    const auto present = sorted_present(seen.lo);
    auto vips = plan_vips_sorted(wanted, present.there, present.host_routes, recorded);
    plan.add = std::move(vips.add);
    plan.remove = std::move(vips.remove);

    // Desired addresses already there as host routes are taken over: removing them from the
    // database later removes them here too. All sorted: merges, not sorts.
    std::vector<IpAddress> taken_over;
    std::set_intersection(present.host_routes.begin(), present.host_routes.end(), wanted.begin(),
                          wanted.end(), std::back_inserter(taken_over));
    std::vector<IpAddress> recorded_or_added;
    std::set_union(recorded.begin(), recorded.end(), plan.add.begin(), plan.add.end(),
                   std::back_inserter(recorded_or_added));
    std::vector<IpAddress> during;
    std::set_union(recorded_or_added.begin(), recorded_or_added.end(), taken_over.begin(),
                   taken_over.end(), std::back_inserter(during));
    // Afterwards: what is wanted of it. The removed ones go, and what is recorded but no longer
    // on lo (removed by hand) is forgotten.
    std::vector<IpAddress> after;
    std::set_intersection(during.begin(), during.end(), wanted.begin(), wanted.end(),
                          std::back_inserter(after));
    plan.record_size = during.size();
    if (during != recorded) {
        if (seen.record_appendable) {
            std::set_difference(during.begin(), during.end(), recorded.begin(), recorded.end(),
                                std::back_inserter(plan.record_append));
            if (plan.record_append == plan.add) {
                plan.record_append = {};
                plan.record_appends_add = true;
            }
        } else {
            plan.record_before = during;
        }
    }
    if (after != during) {
        plan.record_after = std::move(after);
    }
    return plan;
}

namespace {
// ip_batch()'s lines, appended to `out`.
void append_ip_batch(std::string& out, const std::vector<IpAddress>& add,
                     const std::vector<InterfaceAddress>& remove, std::string_view device) {
    out.reserve(out.size() + (add.size() + remove.size()) * 48);
    for (const auto& ip : add) {
        fmt::format_to(std::back_inserter(out), "address add {} dev {}\n", address_with_prefix(ip),
                       device);
    }
    for (const auto& a : remove) {
        fmt::format_to(std::back_inserter(out), "address del {}/{} dev {}\n", a.address.str(),
                       a.prefix, device);
    }
}
}  // namespace

std::string ip_batch(const std::vector<IpAddress>& add, const std::vector<InterfaceAddress>& remove,
                     std::string_view device) {
    std::string out;
    append_ip_batch(out, add, remove, device);
    return out;
}

const WebPlan& WebServerStep::observe() {
    const auto result = host_.run(web_read_command(record_path_));
    if (result.status != 0) {
        throw Error(ExitCode::partial, fmt::format("{}: reading lo: exit status {}: {}", name_,
                                                   result.status, result.err));
    }
    plan_ = plan_web(*desired_, parse_web_observed(result.out, name_));
    return plan_;
}

namespace {
std::string record_text(const std::vector<IpAddress>& ips) {
    std::string text;
    text.reserve(ips.size() * 40);
    for (const auto& ip : ips) {
        text += ip.str();
        text += '\n';
    }
    return text;
}

}  // namespace

bool WebServerStep::write_record(const std::vector<IpAddress>& ips, HostReport& report) {
    const auto text = record_text(ips);
    const auto& path = record_path_;
    try {
        upload_atomically(host_, name_, path, text, 0644);
    } catch (const Error& e) {
        report.errors.push_back(e.what());
        return false;
    }
    report.done.push_back(fmt::format("record {} website IPs in {}", ips.size(), path));
    return true;
}

bool WebServerStep::batch(const std::vector<IpAddress>& add,
                          const std::vector<InterfaceAddress>& remove, HostReport& report,
                          bool record_first) {
    if (add.empty() && remove.empty() && !record_first) {
        return true;
    }
    // The input: the record's part first where it goes in the same command, then the batch, made
    // in one string (a cold host's is 10,000 lines of each).
    // -force: one refused line does not stop the others; each failure is named below.
    std::string input;
    const bool append = !plan_.record_before;
    if (record_first) {
        // Appending is one line per new address; rewriting is all of them.
        input = record_text(append ? plan_.appended() : *plan_.record_before);
    }
    const auto record_bytes = input.size();
    append_ip_batch(input, add, remove, "lo");
    ProcessResult result;
    if (record_first) {
        const std::string_view record(input.data(), record_bytes);
        // The record is lvsctl's own file: mode 0644 by umask (no chmod on every host), written
        // before any address changes, in the same command (one round trip per host).
        const std::vector<std::string> argv =
            append ? std::vector<std::string>{"sh",
                                              "-c",
                                              std::string(scripts::kRecordAppendBatchScript),
                                              "lvsctl-record-append-batch",
                                              record_path_,
                                              std::to_string(record.size()),
                                              std::to_string(plan_.appended().size())}
                   : std::vector<std::string>{"sh",
                                              "-c",
                                              std::string(scripts::kReplaceFileScript),
                                              "lvsctl-record-batch",
                                              record_path_,
                                              "",
                                              posix_cksum(record),
                                              std::to_string(record.size()),
                                              "then-batch"};
        result = host_.run_changing(argv, input);
        if (result.status != 0 && result.err.find("Command failed -:") == std::string::npos) {
            report.errors.push_back(fmt::format("{}: write {} and ip -batch: exit status {}: {}",
                                                name_, record_path_, result.status, result.err));
            return false;
        }
        report.done.push_back(
            fmt::format("record {} website IPs in {}", plan_.record_size, record_path_));
    } else {
        result = host_.run_changing({"ip", "-force", "-batch", "-"}, input);
    }
    // Line n of the batch, for its error: the adds, then the removals.
    const auto what = [&](std::size_t n) {
        return n < add.size()
                   ? fmt::format("add {} to lo", address_with_prefix(add[n]))
                   : fmt::format("remove {}/{} from lo", remove[n - add.size()].address.str(),
                                 remove[n - add.size()].prefix);
    };
    const auto lines_sent = add.size() + remove.size();
    // ip reports each failed line as "<reason>" then "Command failed -:<line>".
    std::set<std::size_t> failed;
    std::istringstream err(result.err);
    std::string previous;
    for (std::string line; std::getline(err, line);) {
        constexpr std::string_view kFailed = "Command failed -:";
        if (line.starts_with(kFailed)) {
            const auto n = number(std::string_view(line).substr(kFailed.size()));
            if (n && *n >= 1 && static_cast<std::size_t>(*n) <= lines_sent) {
                failed.insert(static_cast<std::size_t>(*n) - 1);
                report.errors.push_back(fmt::format(
                    "{}: {}: {}", name_, what(static_cast<std::size_t>(*n) - 1), previous));
            }
        } else if (!line.empty()) {
            previous = line;
        }
    }
    if (result.status != 0 && failed.empty()) {
        report.errors.push_back(
            fmt::format("{}: ip -batch: exit status {}: {}", name_, result.status, result.err));
        return false;
    }
    if (failed.empty()) {
        describe_addresses(add, remove, "", report.done);
        return true;
    }
    std::vector<IpAddress> added;
    std::vector<InterfaceAddress> removed;
    for (std::size_t i = 0; i < lines_sent; ++i) {
        if (!failed.contains(i)) {
            if (i < add.size()) {
                added.push_back(add[i]);
            } else {
                removed.push_back(remove[i - add.size()]);
            }
        }
    }
    describe_addresses(added, removed, "", report.done);
    return false;
}

bool WebServerStep::add(HostReport& report) {
    if (!plan_.sysctls.empty()) {
        std::vector<std::string> argv{"sysctl", "-q", "-w"};
        for (const auto& [name, value] : plan_.sysctls) {
            argv.push_back(fmt::format("{}={}", name, value));
        }
        const auto result = host_.run_changing(argv);
        if (result.status != 0) {
            report.errors.push_back(
                fmt::format("{}: sysctl: exit status {}: {}", name_, result.status, result.err));
            return false;  // without the ARP settings, a website IP on lo would answer ARP
        }
        for (const auto& [name, value] : plan_.sysctls) {
            report.done.push_back(fmt::format("set {} = {}", name, value));
        }
    }
    return batch(plan_.add, {}, report, plan_.record_grows());
}

bool WebServerStep::remove(HostReport& report) {
    const bool removed = batch({}, plan_.remove, report);
    if (!removed || !plan_.record_after) {
        return removed;
    }
    return write_record(*plan_.record_after, report);
}

}  // namespace lvsctl
