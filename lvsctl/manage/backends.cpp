#include "lvsctl/manage/backends.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "lvsctl/error.h"
#include "lvsctl/lb/health_record.h"
#include "lvsctl/lb/ipvs_plan.h"
#include "lvsctl/manage/lb_step.h"
#include "lvsctl/vip_plan.h"

namespace lvsctl {

std::vector<std::string> piranha_reload() {
    return {"service", "pulse", "reload"};
}
std::vector<std::string> keepalived_reload() {
    return {"service", "keepalived", "reload"};
}
std::vector<std::string> keepalived_start() {
    return {"service", "keepalived", "start"};
}
std::vector<std::string> keepalived_status() {
    return {"service", "keepalived", "status"};
}
std::vector<std::string> keepalived_check() {
    return {"keepalived", "--config-test", std::string("--use-file=") + kKeepalivedConfig};
}

bool uses_ssh(BackendKind kind) {
    return kind != BackendKind::exec;
}
bool needs_lvs_cf(BackendKind kind) {
    return kind == BackendKind::piranha;
}
bool needs_keepalived_conf(BackendKind kind) {
    return kind == BackendKind::keepalived;
}
bool shows_table(BackendKind kind) {
    return kind == BackendKind::ipvs;
}

std::unique_ptr<LbBackend> make_backend(const BackendSpec& spec, Transport* host,
                                        const std::string& name, BackendContext& context) {
    switch (spec.kind) {
        case BackendKind::ipvs:
            return std::make_unique<AgentBackend>(*host, name, context.agent);
        case BackendKind::piranha:
            return std::make_unique<FileBackend>(*host, name, kPiranhaConfig, context.lvs_cf,
                                                 piranha_reload());
        case BackendKind::keepalived:
            return std::make_unique<FileBackend>(*host, name, kKeepalivedConfig, context.keepalived,
                                                 keepalived_reload());
        case BackendKind::exec:
            return std::make_unique<ExecBackend>(context.local, name, spec.program);
    }
    throw Error(ExitCode::internal, "make_backend: an unknown backend kind");
}

std::unique_ptr<LbBackend> make_backend(const Cluster& cluster, const LoadBalancer& lb,
                                        Transport* host, const std::string& name,
                                        BackendContext& context) {
    const auto spec = parse_backend(cluster.backend);
    if (!spec) {
        throw Error(ExitCode::data, fmt::format("h2e_clusters cluster_id={}: column backend: "
                                                "unknown backend {:?}",
                                                cluster.id, cluster.backend));
    }
    if (cluster.uses_vrrp() && host != nullptr && context.keepalived_vrrp) {
        return std::make_unique<VrrpBackend>(
            *host, name, context.agent,
            [render = context.keepalived_vrrp, cluster, lb](const std::vector<IpAddress>& ips) {
                return render(cluster, lb, ips);
            });
    }
    return make_backend(*spec, host, name, context);
}

namespace {
constexpr std::string_view kHeaderLine = "# lvsctl website IPs:";
constexpr std::string_view kHeaderEnd = "# lvsctl website IPs end";
constexpr std::size_t kPerLine = 8;
}  // namespace

std::string vrrp_header(const std::vector<IpAddress>& website_ips) {
    std::string out;
    for (std::size_t i = 0; i < website_ips.size(); i += kPerLine) {
        out += kHeaderLine;
        for (std::size_t j = i; j < website_ips.size() && j < i + kPerLine; ++j) {
            out += " " + website_ips[j].str();
        }
        out += "\n";
    }
    out += kHeaderEnd;
    out += "\n";
    return out;
}

std::optional<std::vector<IpAddress>> parse_vrrp_header(std::string_view text) {
    std::vector<IpAddress> ips;
    while (!text.empty()) {
        const auto end = text.find('\n');
        const auto line = text.substr(0, end);
        if (line == kHeaderEnd) {
            return ips;
        }
        if (!line.starts_with(kHeaderLine)) {
            return std::nullopt;
        }
        auto rest = line.substr(kHeaderLine.size());
        while (!rest.empty()) {
            const auto space = rest.find(' ');
            const auto word = rest.substr(0, space);
            if (!word.empty()) {
                const auto ip = IpAddress::parse(word);
                if (!ip) {
                    return std::nullopt;
                }
                ips.push_back(*ip);
            }
            rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
        }
        if (end == std::string_view::npos) {
            break;
        }
        text = text.substr(end + 1);
    }
    return std::nullopt;
}

std::string VrrpBackend::content(const LbDesiredState& desired) const {
    return vrrp_header(desired.website_ips) + render_(desired.website_ips);
}

std::vector<std::string> VrrpBackend::plan(const LbDesiredState& desired) {
    auto changes = agent_.plan(desired);
    cluster_id_ = desired.cluster_id;
    const auto file = host_.run({"cat", "--", kKeepalivedConfig});
    current_ = file.status == 0 ? std::optional<std::string>(file.out) : std::nullopt;
    named_ = current_ ? parse_vrrp_header(*current_) : std::nullopt;
    running_ = host_.run(keepalived_status()).status == 0;
    const std::set<IpAddress> named(named_ ? named_->begin() : desired.website_ips.end(),
                                    named_ ? named_->end() : desired.website_ips.end());
    const std::set<IpAddress> want(desired.website_ips.begin(), desired.website_ips.end());
    for (const auto& ip : want) {
        if (!named.contains(ip)) {
            changes.push_back(fmt::format("mark {} {}, then keepalived places it on {} (VRRP)",
                                          ip.str(), desired.fwmark, desired.interface));
        }
    }
    for (const auto& ip : named) {
        if (!want.contains(ip)) {
            changes.push_back(
                fmt::format("keepalived lets {} go (VRRP), then its mark goes", ip.str()));
        }
    }
    if (current_ != content(desired)) {
        changes.push_back(
            fmt::format("write {}, check it (keepalived -t), then {}", kKeepalivedConfig,
                        shell_command(running_ ? keepalived_reload() : keepalived_start())));
    } else if (!running_) {
        changes.push_back(
            fmt::format("{}: keepalived is not running", shell_command(keepalived_start())));
    }
    return changes;
}

std::optional<HaShown> VrrpBackend::ha() const {
    const auto& shown = agent_.shown();
    if (!shown) {
        return std::nullopt;
    }
    HaShown ha;
    ha.keepalived_running = running_;
    ha.sync_daemons = shown->sync_daemons;
    for (const auto& v : shown->vrrp) {
        if (v.cluster_id == cluster_id_) {
            ha.vrrp = v;
        }
    }
    return ha;
}

bool VrrpBackend::apply(const LbDesiredState& desired, HostReport& report) {
    // 1. IPVS, and the marks of every website IP keepalived.conf names now or will name.
    auto marked = desired;
    const auto& named = named_ ? *named_ : std::vector<IpAddress>{};
    marked.website_ips.insert(marked.website_ips.end(), named.begin(), named.end());
    std::sort(marked.website_ips.begin(), marked.website_ips.end());
    marked.website_ips.erase(std::unique(marked.website_ips.begin(), marked.website_ips.end()),
                             marked.website_ips.end());
    if (!agent_.apply(marked, report)) {
        return false;  // keepalived.conf stays: it names nothing unmarked
    }
    // 2. keepalived.conf, then keepalived told.
    const auto text = content(desired);
    const auto& command = running_ ? keepalived_reload() : keepalived_start();
    if (current_ != text) {
        if (!LbStep(host_, name_)
                 .install(kKeepalivedConfig, text, command, report, keepalived_check())) {
            return false;
        }
    } else if (!running_) {
        const auto started = host_.run_changing(command);
        if (started.status != 0) {
            report.errors.push_back(fmt::format("{}: {}: exit status {}: {}", name_,
                                                shell_command(command), started.status,
                                                started.err.empty() ? started.out : started.err));
            return false;
        }
        report.done.push_back(fmt::format("run {}", shell_command(command)));
    }
    // 3. The marks of website IPs keepalived.conf no longer names.
    if (marked.website_ips.size() != desired.website_ips.size()) {
        return agent_.apply(desired, report);
    }
    return true;
}

std::vector<std::string> AgentBackend::plan(const LbDesiredState& desired) {
    const auto result =
        host_.run({agent_, "agent", "show", "--cluster-id", std::to_string(desired.cluster_id)});
    if (result.status == 127) {
        throw Error(ExitCode::partial, fmt::format("{}: {} agent show: the program is not on the "
                                                   "LB (--agent)",
                                                   name_, agent_));
    }
    if (result.status != 0) {
        throw Error(result.status == static_cast<int>(ExitCode::permission) ? ExitCode::permission
                                                                            : ExitCode::partial,
                    fmt::format("{}: {} agent show: exit status {}: {}", name_, agent_,
                                result.status, result.err));
    }
    seen_ = parse_agent_show(result.out, name_);
    cluster_id_ = desired.cluster_id;

    std::vector<std::string> changes;
    // IPVS: the services of the desired state, and the agent's former services of this mark.
    // While the monitor runs, the agent applies its verdicts (a server it took out stays out),
    // and so does this prediction: a dead server is not drift.
    const auto shown = monitor();
    const auto services =
        ipvs_services(shown && shown->current ? with_health(desired, shown->record) : desired);
    std::set<ServiceKey> wanted;
    for (const auto& s : services) {
        wanted.insert(s.key);
    }
    std::map<ServiceKey, ServiceInfo> observed;
    std::vector<ServiceKey> retired;
    const std::set<std::uint32_t> owned_marks(seen_->placed.marks.begin(),
                                              seen_->placed.marks.end());
    for (const auto& svc : seen_->services) {
        if (wanted.contains(svc.key)) {
            observed.emplace(svc.key, svc);
        } else if (svc.key.fwmark != 0 && owned_marks.contains(svc.key.fwmark)) {
            observed.emplace(svc.key, svc);
            retired.push_back(svc.key);
        }
    }
    for (const auto& c : plan_ipvs(services, retired, observed, false).changes) {
        changes.push_back(c.describe());
    }
    // Website IPs on the interface: those the agent placed, against the desired ones.
    const std::set<IpAddress> placed(seen_->placed.website_ips.begin(),
                                     seen_->placed.website_ips.end());
    // With VRRP, keepalived places them (VrrpBackend plans that): the agent's must go.
    const std::set<IpAddress> want =
        desired.vrrp ? std::set<IpAddress>{}
                     : std::set<IpAddress>(desired.website_ips.begin(), desired.website_ips.end());
    for (const auto& ip : want) {
        if (!placed.contains(ip) || seen_->placed.interface != desired.interface) {
            changes.push_back(fmt::format("add address {}/{} to {} (and mark it {})", ip.str(),
                                          ip.host_prefix(), desired.interface, desired.fwmark));
        }
    }
    for (const auto& ip : placed) {
        if (!want.contains(ip)) {
            changes.push_back(
                fmt::format("remove address {} from {}{}", ip.str(), seen_->placed.interface,
                            desired.vrrp ? " (keepalived's from now on)" : " (and its mark)"));
        }
    }
    if (seen_->placed.marks != std::vector<std::uint32_t>{desired.fwmark}) {
        changes.push_back(
            fmt::format("firewall marks: mark {} for ports of the website IPs", desired.fwmark));
    }
    return changes;
}

std::optional<std::vector<IpAddress>> AgentBackend::website_ips() const {
    if (!seen_) {
        return std::nullopt;
    }
    return seen_->placed.website_ips;
}

std::optional<std::vector<IpAddress>> AgentBackend::destinations() const {
    if (!seen_) {
        return std::nullopt;
    }
    std::vector<IpAddress> out;
    for (const auto& svc : seen_->services) {
        for (const auto& d : svc.dests) {
            out.push_back(d.key.address);
        }
    }
    return out;
}

std::optional<std::vector<ServiceInfo>> AgentBackend::table() const {
    if (!seen_) {
        return std::nullopt;
    }
    return seen_->services;
}

std::optional<MonitorShown> AgentBackend::monitor() const {
    if (!seen_) {
        return std::nullopt;
    }
    for (const auto& m : seen_->monitors) {
        if (m.record.cluster_id == cluster_id_) {
            return m;
        }
    }
    return std::nullopt;
}

bool AgentBackend::apply(const LbDesiredState& desired, HostReport& report) {
    return LbStep(host_, name_).apply_agent(agent_, desired, report);
}

std::vector<std::string> FileBackend::plan(const LbDesiredState&) {
    const auto current = host_.run({"cat", "--", path_});
    if (current.status == 0 && current.out == content_) {
        return {};
    }
    return {fmt::format("write {}{}", path_,
                        reload_.empty() ? "" : fmt::format(", then {}", shell_command(reload_)))};
}

bool FileBackend::apply(const LbDesiredState&, HostReport& report) {
    return LbStep(host_, name_).install(path_, content_, reload_, report);
}

namespace {
AgentAnswer run_program(ProcessRunner& local, const std::string& name, const std::string& program,
                        const char* verb, const LbDesiredState& desired, int& status,
                        std::string& err) {
    // apply may drain, as the agent does: its deadline covers drain_timeout.
    const auto extra =
        std::chrono::seconds(std::string_view(verb) == "apply" ? desired.drain_timeout : 0);
    const auto result = local.run_for_longer(extra, {program, verb}, to_json(desired));
    status = result.status;
    err = result.err;
    return parse_agent_answer(result.out, fmt::format("{}: {} {}", name, program, verb));
}
}  // namespace

std::vector<std::string> ExecBackend::plan(const LbDesiredState& desired) {
    int status = 0;
    std::string err;
    auto answer = run_program(local_, name_, program_, "plan", desired, status, err);
    if (status != 0 || !answer.errors.empty()) {
        throw Error(ExitCode::partial,
                    fmt::format("{}: {} plan: exit status {}: {}", name_, program_, status,
                                answer.errors.empty() ? err : answer.errors.front()));
    }
    return answer.done;
}

bool ExecBackend::apply(const LbDesiredState& desired, HostReport& report) {
    int status = 0;
    std::string err;
    AgentAnswer answer;
    try {
        answer = run_program(local_, name_, program_, "apply", desired, status, err);
    } catch (const Error& e) {
        report.errors.push_back(err.empty() ? std::string(e.what())
                                            : fmt::format("{}: {} apply: exit status {}: {}", name_,
                                                          program_, status, err));
        return false;
    }
    report.done.insert(report.done.end(), answer.done.begin(), answer.done.end());
    for (const auto& e : answer.errors) {
        report.errors.push_back(fmt::format("{}: {}", name_, e));
    }
    if (status != 0 && answer.errors.empty()) {
        report.errors.push_back(
            fmt::format("{}: {} apply: exit status {}: {}", name_, program_, status, err));
    }
    return report.errors.empty();
}

}  // namespace lvsctl
