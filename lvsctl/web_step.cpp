#include "lvsctl/web_step.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <sstream>

namespace lvsctl {

namespace {

constexpr std::string_view kSysctlMark = "@@lvsctl-sysctl";
constexpr std::string_view kRecordMark = "@@lvsctl-record";
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
    return fmt::format("{}/{}", ip.str(), ip.is_v4() ? 32 : 128);
}

}  // namespace

std::string web_record_path(std::int64_t cluster_id) {
    return fmt::format("/var/lib/lvsctl/lo-cluster-{}.ips", cluster_id);
}

std::vector<std::string> web_read_command(std::int64_t cluster_id) {
    // A fixed script; the record's path arrives as its argument.
    return {"sh", "-c",
            // `ip -br` (iproute2 4.5 and later) prints all addresses on one line: a fifth of
            // `ip -o`'s bytes, which matters at 10,000 addresses on 64 hosts.
            fmt::format("ip -br addr show dev lo 2>/dev/null || ip -o addr show dev lo || exit 1; "
                        "echo {}; cat "
                        "/proc/sys/net/ipv4/conf/all/arp_ignore "
                        "/proc/sys/net/ipv4/conf/all/arp_announce || exit 1; echo {}; "
                        "if [ -e \"$1\" ]; then cat -- \"$1\" || exit 1; fi",
                        kSysctlMark, kRecordMark),
            "lvsctl-read", web_record_path(cluster_id)};
}

WebObserved parse_web_observed(std::string_view output, std::string_view host) {
    auto bad = [&](const std::string& why) {
        return Error(ExitCode::partial, fmt::format("{}: reading lo: {}", host, why));
    };
    WebObserved seen;
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
        }
        const auto line = output.substr(start, end - start);
        start = end + 1;
        if (line == kSysctlMark) {
            part = Part::sysctls;
            continue;
        }
        if (line == kRecordMark) {
            part = Part::record;
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
                break;
            }
            case Part::record: {
                const auto ip = IpAddress::parse(w[0]);
                if (!ip || w.size() != 1) {
                    throw bad(fmt::format("{}: not an address: {}", "the record", line));
                }
                seen.owned.push_back(*ip);
                break;
            }
        }
    }
    if (part != Part::record || sysctls.size() != 2) {
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
    const auto vips = plan_vips(desired, seen.lo, seen.owned);
    plan.add = vips.add;
    plan.remove = vips.remove;

    auto sorted = [](std::vector<IpAddress> v) {
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
        return v;
    };
    const auto recorded = sorted(seen.owned);
    const auto wanted = sorted(desired);
    // Desired addresses already there as host routes are taken over: removing them from the
    // database later removes them here too.
    std::vector<IpAddress> during = recorded;
    during.insert(during.end(), plan.add.begin(), plan.add.end());
    for (const auto& a : seen.lo) {
        if (a.is_host_route() && std::binary_search(wanted.begin(), wanted.end(), a.address)) {
            during.push_back(a.address);
        }
    }
    during = sorted(std::move(during));
    // Afterwards: what is wanted of it. The removed ones go, and what is recorded but no longer
    // on lo (removed by hand) is forgotten.
    std::vector<IpAddress> after;
    std::set_intersection(during.begin(), during.end(), wanted.begin(), wanted.end(),
                          std::back_inserter(after));
    if (during != recorded) {
        plan.record_before = during;
    }
    if (after != during) {
        plan.record_after = std::move(after);
    }
    return plan;
}

std::string ip_batch(const std::vector<IpAddress>& add, const std::vector<InterfaceAddress>& remove,
                     std::string_view device) {
    std::string out;
    for (const auto& ip : add) {
        fmt::format_to(std::back_inserter(out), "address add {} dev {}\n", address_with_prefix(ip),
                       device);
    }
    for (const auto& a : remove) {
        fmt::format_to(std::back_inserter(out), "address del {}/{} dev {}\n", a.address.str(),
                       a.prefix, device);
    }
    return out;
}

const WebPlan& WebServerStep::observe() {
    const auto result = host_.run(web_read_command(cluster_id_));
    if (result.status != 0) {
        throw Error(ExitCode::partial, fmt::format("{}: reading lo: exit status {}: {}", name_,
                                                   result.status, result.err));
    }
    plan_ = plan_web(desired_, parse_web_observed(result.out, name_));
    return plan_;
}

namespace {
std::string record_text(const std::vector<IpAddress>& ips) {
    std::string text;
    for (const auto& ip : ips) {
        text += ip.str();
        text += '\n';
    }
    return text;
}

// The record replaced as upload_atomically() does, from the first $2 bytes of stdin (dd reads
// exactly those from a pipe, where head would read ahead), then ip -batch on the rest.
constexpr const char* kRecordThenBatch =
    "set -e; dir=${1%/*}; [ -d \"$dir\" ] || mkdir -p -- \"$dir\"; "
    "tmp=\"$dir/.lvsctl-upload.$$\"; trap 'rm -f -- \"$tmp\"' EXIT; "
    "dd of=\"$tmp\" bs=\"$2\" count=1 iflag=fullblock status=none; "
    "if [ -e \"$1\" ]; then chmod --reference=\"$1\" -- \"$tmp\"; else chmod 644 -- \"$tmp\"; fi; "
    "sync -- \"$tmp\" 2>/dev/null || sync; mv -f -- \"$tmp\" \"$1\"; trap - EXIT; "
    "exec ip -force -batch -";
}  // namespace

bool WebServerStep::write_record(const std::vector<IpAddress>& ips, HostReport& report) {
    const auto text = record_text(ips);
    const auto path = web_record_path(cluster_id_);
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
                          const std::vector<IpAddress>* record_first) {
    if (add.empty() && remove.empty()) {
        return record_first == nullptr || write_record(*record_first, report);
    }
    // -force: one refused line does not stop the others; each failure is named below.
    const auto lines = ip_batch(add, remove, "lo");
    ProcessResult result;
    if (record_first != nullptr) {
        const auto record = record_text(*record_first);
        result = host_.run_changing({"sh", "-c", kRecordThenBatch, "lvsctl-record-batch",
                                     web_record_path(cluster_id_), std::to_string(record.size())},
                                    record + lines);
        if (result.status != 0 && result.err.find("Command failed -:") == std::string::npos) {
            report.errors.push_back(fmt::format("{}: write {} and ip -batch: exit status {}: {}",
                                                name_, web_record_path(cluster_id_), result.status,
                                                result.err));
            return false;
        }
        report.done.push_back(fmt::format("record {} website IPs in {}", record_first->size(),
                                          web_record_path(cluster_id_)));
    } else {
        result = host_.run_changing({"ip", "-force", "-batch", "-"}, lines);
    }
    std::vector<std::string> what;
    for (const auto& ip : add) {
        what.push_back(fmt::format("add {} to lo", address_with_prefix(ip)));
    }
    for (const auto& a : remove) {
        what.push_back(fmt::format("remove {}/{} from lo", a.address.str(), a.prefix));
    }
    // ip reports each failed line as "<reason>" then "Command failed -:<line>".
    std::set<std::size_t> failed;
    std::istringstream err(result.err);
    std::string previous;
    for (std::string line; std::getline(err, line);) {
        constexpr std::string_view kFailed = "Command failed -:";
        if (line.starts_with(kFailed)) {
            const auto n = number(std::string_view(line).substr(kFailed.size()));
            if (n && *n >= 1 && static_cast<std::size_t>(*n) <= what.size()) {
                failed.insert(static_cast<std::size_t>(*n) - 1);
                report.errors.push_back(fmt::format(
                    "{}: {}: {}", name_, what[static_cast<std::size_t>(*n) - 1], previous));
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
    for (std::size_t i = 0; i < what.size(); ++i) {
        if (!failed.contains(i)) {
            report.done.push_back(what[i]);
        }
    }
    return failed.empty();
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
    return batch(plan_.add, {}, report, plan_.record_before ? &*plan_.record_before : nullptr);
}

bool WebServerStep::remove(HostReport& report) {
    const bool removed = batch({}, plan_.remove, report);
    if (!removed || !plan_.record_after) {
        return removed;
    }
    return write_record(*plan_.record_after, report);
}

}  // namespace lvsctl
