#include "lvsctl/manage/documents.h"

#include <fmt/format.h>

#include "lvsctl/protocol/codec.h"

namespace lvsctl {

std::string error_document(std::string_view message, ExitCode code) {
    const nlohmann::ordered_json doc = {
        {"changed", false},
        {"errors", {std::string(message)}},
        {"exit_code", static_cast<int>(code)},
    };
    return codec::text(doc);
}

std::string rendered_document(std::int64_t cluster_id, std::string_view cluster_name,
                              std::string_view format, std::string_view content) {
    const nlohmann::ordered_json doc = {
        {"cluster", {{"id", cluster_id}, {"name", std::string(cluster_name)}}},
        {"format", std::string(format)},
        {"content", std::string(content)},
    };
    return codec::text(doc);
}

std::string hook_document(std::string_view what, std::string_view note) {
    const nlohmann::ordered_json doc = {{"changed", true},
                                        {"errors", nlohmann::ordered_json::array()},
                                        {"done", {std::string(what)}},
                                        {"note", std::string(note)}};
    return codec::text(doc);
}

namespace {

// An LB's high availability (docs/ha.md): {"vrrp": {"state", "priority", "age"} or null,
// "keepalived_running", "sync_daemons": [{"state", "interface", "sync_id"}], "summary"}.
nlohmann::ordered_json ha_json(const HaShown& ha) {
    auto daemons = nlohmann::ordered_json::array();
    for (const auto& d : ha.sync_daemons) {
        daemons.push_back({{"state", d.state}, {"interface", d.interface}, {"sync_id", d.sync_id}});
    }
    return {{"vrrp", ha.vrrp ? nlohmann::ordered_json{{"state", ha.vrrp->state},
                                                      {"priority", ha.vrrp->priority},
                                                      {"age", ha.vrrp->age}}
                             : nlohmann::ordered_json()},
            {"keepalived_running", ha.keepalived_running},
            {"sync_daemons", std::move(daemons)},
            {"summary", ha_summary(ha)}};
}

// An LB's monitor: {"current", "age", "summary"} ("age" null when it left no record).
nlohmann::ordered_json monitor_json(const std::optional<MonitorShown>& m) {
    return {{"current", m && m->current},
            {"age", m ? nlohmann::ordered_json(m->age) : nlohmann::ordered_json()},
            {"summary", monitor_summary(m)}};
}

template <typename T>
nlohmann::ordered_json or_null(const std::optional<T>& value) {
    return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json();
}

nlohmann::ordered_json real_servers_json(const std::vector<RealServerStatus>& list) {
    auto out = nlohmann::ordered_json::array();
    for (const auto& r : list) {
        nlohmann::ordered_json j = {{"address", r.address.str()},
                                    {"state", r.state},
                                    {"configured", or_null(r.configured)},
                                    {"weight", or_null(r.weight)},
                                    {"checked_ago", or_null(r.checked_ago)}};
        if (r.health) {
            j["last_ok"] = r.health->last_ok;
            j["why"] = r.health->why;
            j["latency_ms"] = r.health->latency_ms;
            j["transitions"] = r.health->transitions;
        }
        out.push_back(std::move(j));
    }
    return out;
}

}  // namespace

std::string update_document(const Cluster& cluster, const UpdateResult& result, bool dry_run,
                            ExitCode code, std::string_view lvs_cf_digest, std::string_view note) {
    auto hosts = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < result.plan.size(); ++i) {
        const auto& p = result.plan[i];
        nlohmann::ordered_json h = {{"host", p.host}, {"plan", p.changes}};
        std::vector<std::string> errors;
        if (p.error) {
            errors.push_back(*p.error);
        }
        if (i < result.applied.size()) {
            h["done"] = result.applied[i].done;
            h["changing_commands"] = result.applied[i].changing_commands;
            if (!p.error) {
                errors = result.applied[i].errors;
            }
        }
        h["errors"] = errors;
        if (p.monitored && !p.error) {
            h["monitor"] = monitor_json(p.monitor);
        }
        hosts.push_back(std::move(h));
    }
    nlohmann::ordered_json doc = {
        {"cluster", {{"id", cluster.id}, {"name", cluster.name}, {"serial", cluster.serial}}},
        {"backend", cluster.backend},
        {"dry_run", dry_run},
        {"pending", result.pending()},
        {"changed", result.changed()},
        {"hosts", std::move(hosts)},
        {"exit_code", static_cast<int>(code)},
        {"lvs_cf_digest", lvs_cf_digest}};
    if (!note.empty()) {
        doc["note"] = note;
    }
    return codec::text(doc);
}

std::string status_document(const Cluster& cluster, const std::vector<HostStatus>& hosts) {
    auto list = nlohmann::ordered_json::array();
    auto strings = [](const std::vector<IpAddress>& ips) {
        auto a = nlohmann::ordered_json::array();
        for (const auto& ip : ips) {
            a.push_back(ip.str());
        }
        return a;
    };
    for (const auto& h : hosts) {
        nlohmann::ordered_json j = {{"host", h.host}};
        if (h.error) {
            j["error"] = *h.error;
        } else {
            j["website_ips"] = {{"interface", h.interface},
                                {"present", strings(h.present)},
                                {"missing", strings(h.missing)}};
            j["drift"] = h.drift;
            if (h.table) {
                j["services"] = codec::services(*h.table);
                j["real_servers"] = real_servers_json(h.real_servers);
            }
            if (h.monitored) {
                j["monitor"] = monitor_json(h.monitor);
            }
            if (h.ha) {
                j["ha"] = ha_json(*h.ha);
            }
        }
        list.push_back(std::move(j));
    }
    const nlohmann::ordered_json doc = {
        {"cluster", {{"id", cluster.id}, {"name", cluster.name}, {"backend", cluster.backend}}},
        {"hosts", std::move(list)}};
    return codec::text(doc);
}

}  // namespace lvsctl
