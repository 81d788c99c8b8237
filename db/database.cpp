#include "db/database.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <pqxx/pqxx>
#include <set>

#include "db/migrations.h"
#include "lvsctl/error.h"
#include "lvsctl/validate.h"

namespace lvsctl::db {

namespace {

// Advisory locks of lvsctl use this first key; the second is 0 for migrations, else a cluster.
constexpr int kLockSpace = 0x4c56;  // "LV"

std::string reason_of(const std::exception& e) {
    std::string reason = e.what();
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) {
        reason.pop_back();
    }
    return reason;
}

[[noreturn]] void unavailable(const std::exception& e) {
    throw Error(ExitCode::db_unavailable, fmt::format("database: {}", reason_of(e)));
}

// What an SQL error says about the run, by its SQLSTATE class: the server or the connection
// gone or refusing work is "database unavailable" (69); a constraint the data breaks is bad data
// (65); anything else is a statement of ours that the server refused, an internal error (70).
[[noreturn]] void sql_failed(const pqxx::sql_error& e) {
    const auto state = e.sqlstate();
    const auto cls = state.substr(0, 2);
    if (cls == "08" || cls == "53" || cls == "57" || cls == "58" || state.empty()) {
        unavailable(e);
    }
    if (cls == "23") {
        throw Error(ExitCode::data, fmt::format("database: {}", reason_of(e)));
    }
    throw Error(ExitCode::internal, fmt::format("database: {}", reason_of(e)));
}

// Runs `body`, turning libpqxx's failures into errors with exit codes: a lost or refused
// connection is 69, and so is a schema that is not there yet (with what to do about it).
template <class Body>
auto guarded(Body&& body) -> decltype(body()) {
    try {
        return body();
    } catch (const pqxx::undefined_table& e) {
        throw Error(ExitCode::db_unavailable,
                    fmt::format("database: {} (has `lvsctl db migrate` been run?)",
                                std::string(e.what()).substr(0, std::string(e.what()).find('\n'))));
    } catch (const pqxx::broken_connection& e) {
        unavailable(e);
    } catch (const pqxx::sql_error& e) {
        sql_failed(e);
    } catch (const pqxx::failure& e) {
        unavailable(e);
    }
}

[[noreturn]] void bad_row(const std::string& object, const char* column, const std::string& why) {
    throw Error(ExitCode::data, fmt::format("{}: column {}: {}", object, column, why));
}

IpAddress address(const pqxx::field& f, const std::string& object, const char* column) {
    const std::string text = f.c_str();
    const auto ip = IpAddress::parse(text);
    if (!ip) {
        bad_row(object, column, fmt::format("{} is not a host address (no prefix length)", text));
    }
    return *ip;
}

std::optional<std::string> optional_text(const pqxx::field& f) {
    return f.is_null() ? std::nullopt : std::optional<std::string>(f.c_str());
}

// An integer[] as PostgreSQL prints it: {80,443}.
std::vector<std::int64_t> integers(const pqxx::field& f, const std::string& object,
                                   const char* column) {
    std::string_view text = f.c_str();
    if (text.size() < 2 || text.front() != '{' || text.back() != '}') {
        bad_row(object, column, fmt::format("{} is not a list of integers", text));
    }
    text = text.substr(1, text.size() - 2);
    std::vector<std::int64_t> out;
    while (!text.empty()) {
        const auto comma = text.find(',');
        const auto item = text.substr(0, comma);
        std::int64_t n = 0;
        auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
        if (ec != std::errc() || ptr != item.data() + item.size()) {
            bad_row(object, column, fmt::format("{} in {{{}}} is not an integer", item, text));
        }
        out.push_back(n);
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    }
    return out;
}

std::string with_timeouts(const std::string& conninfo, std::chrono::seconds timeout) {
    // A connect that never answers, or a server that vanished from the network mid-statement,
    // must end too: a connect timeout and TCP keepalives (libpq ignores them on Unix sockets).
    // The user's own values win: given first as key=value, where libpq takes the last; added to
    // a URI only when it has none.
    const auto connect = std::to_string(std::clamp<std::int64_t>(timeout.count(), 2, 10));
    const bool uri = conninfo.starts_with("postgresql://") || conninfo.starts_with("postgres://");
    if (!uri) {
        std::string prefix;
        if (std::getenv("PGCONNECT_TIMEOUT") == nullptr) {
            prefix += "connect_timeout=" + connect + " ";
        }
        return prefix +
               "keepalives=1 keepalives_idle=10 keepalives_interval=5 keepalives_count=3 " +
               conninfo;
    }
    if (conninfo.find("connect_timeout=") != std::string::npos ||
        std::getenv("PGCONNECT_TIMEOUT") != nullptr) {
        return conninfo;
    }
    return conninfo + (conninfo.find('?') == std::string::npos ? "?" : "&") +
           "connect_timeout=" + connect;
}

}  // namespace

struct Database::Impl {
    pqxx::connection connection;
    std::chrono::seconds statement_timeout;
    std::optional<std::int64_t> locked;  // the cluster whose lock this session holds
    Impl(const std::string& conninfo, std::chrono::seconds timeout)
        : connection(with_timeouts(conninfo, timeout)), statement_timeout(timeout) {}
};

Database::Database(const std::optional<std::string>& conninfo, std::chrono::seconds timeout) {
    guarded([&] {
        impl_ = std::make_unique<Impl>(conninfo.value_or(""), timeout);
        // libpqxx 6 reconnects by itself after the server restarted: a new session, without the
        // cluster lock the old one held, and without a word. Never: a lost session is an error
        // (69), so that nothing is written or changed without the lock.
#if PQXX_VERSION_MAJOR < 7
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
        impl_->connection.inhibit_reactivation(true);
#pragma GCC diagnostic pop
#endif
        // No statement of ours waits forever on a stuck server (the lock wait sets its own).
        pqxx::nontransaction tx(impl_->connection);
        tx.exec(fmt::format("set statement_timeout = '{}s'", timeout.count()));
        return 0;
    });
}

Database::~Database() = default;
Database::Database(Database&&) noexcept = default;
Database& Database::operator=(Database&&) noexcept = default;

int Database::schema_version() {
    return guarded([&] {
        pqxx::nontransaction tx(impl_->connection);
        const auto exists =
            tx.exec1("select to_regclass('lvsctl_schema_version') is not null")[0].as<bool>();
        if (!exists) {
            return 0;
        }
        return tx.exec1("select coalesce(max(version), 0) from lvsctl_schema_version")[0].as<int>();
    });
}

int Database::migrate() {
    return guarded([&] {
        auto& c = impl_->connection;
        {
            pqxx::nontransaction tx(c);
            tx.exec_params("select pg_advisory_lock($1, 0)", kLockSpace);
            tx.exec(
                "create table if not exists lvsctl_schema_version ("
                " version integer primary key, description text not null,"
                " applied_at timestamptz not null default now())");
        }
        int applied = 0;
        try {
            const int current = schema_version();
            for (const auto& m : migrations()) {
                if (m.version <= current) {
                    continue;
                }
                pqxx::work tx(c);
                tx.exec(std::string(m.sql));
                tx.exec_params(
                    "insert into lvsctl_schema_version (version, description) values ($1, $2)",
                    m.version, std::string(m.description));
                tx.commit();
                ++applied;
            }
        } catch (...) {
            pqxx::nontransaction tx(c);
            tx.exec_params("select pg_advisory_unlock($1, 0)", kLockSpace);
            throw;
        }
        pqxx::nontransaction tx(c);
        tx.exec_params("select pg_advisory_unlock($1, 0)", kLockSpace);
        return applied;
    });
}

namespace {

// lvsctl_lvscf_settings (docs/migration.md) into the cluster and its servers.
void read_lvscf(pqxx::transaction_base& tx, Cluster& c) {
    const auto obj = fmt::format("lvsctl_lvscf_settings cluster_id={}", c.id);
    for (const auto& row : tx.exec_params(
             "select scope, node_id, key, value from lvsctl_lvscf_settings where cluster_id = $1"
             " order by scope, node_id, position",
             c.id)) {
        const std::string scope = row[0].c_str();
        const std::string key = row[2].c_str();
        std::string value = row[3].c_str();
        Server* server = nullptr;
        if (!row[1].is_null()) {
            const auto node_id = row[1].as<std::int64_t>();
            for (auto& s : c.servers) {
                if (s.node_id == node_id) {
                    server = &s;
                }
            }
            if (server == nullptr) {
                continue;  // a server of another cluster now: its settings stay with it
            }
        }
        if (scope == "global") {
            c.lvscf.global.push_back({key, std::move(value)});
        } else if (scope == "virtual") {
            c.lvscf.virtual_settings.push_back({key, std::move(value)});
        } else if (scope == "server" && server != nullptr) {
            server->lvscf_settings.push_back({key, std::move(value)});
        } else if (scope == "layout" && key == "server_name" && server != nullptr) {
            server->lvscf_name = std::move(value);
        } else if (scope == "layout" && key == "virtual_name") {
            c.lvscf.virtual_name = std::move(value);
        } else if (scope == "layout" && key == "virtual_name_v6") {
            c.lvscf.virtual_name_v6 = std::move(value);
        } else if (scope == "layout" && key == "address_device") {
            c.lvscf.address_device = std::move(value);
        } else if (scope == "layout" && key == "by_address") {
            c.lvscf.by_address = value == "1";
        } else if (scope == "layout" && key == "inactive") {
            c.lvscf.inactive = value == "1";
        } else if (scope == "layout" && key == "ipv6_virtual") {
            c.lvscf.ipv6_virtual = value == "1";
        } else {
            bad_row(obj, "key", fmt::format("{:?} is not a key of scope {}", key, scope));
        }
    }
}

// inet columns are read in their output form, which omits a host's /32 or /128 and shows any
// other prefix (a ::text cast would always show one).
Cluster read_in(pqxx::transaction_base& tx, std::int64_t id) {
    Cluster c;
    c.id = id;
    const auto cluster_obj = fmt::format("h2e_clusters cluster_id={}", id);
    const auto rows = tx.exec_params(
        "select name, backend, scheduler, fwmark, protocol, ports::text, forwarding, "
        "persistence,"
        " check_send, check_expect, check_timeout, check_reentry, load_monitor,"
        " check_interval, check_port, check_use_regex, check_program, quiesce_server, load_scale,"
        " ha, vrrp_router_id, vrrp_advert_int"
        " from h2e_clusters where cluster_id = $1",
        id);
    if (rows.empty()) {
        throw Error(ExitCode::data, fmt::format("{}: no such cluster", cluster_obj));
    }
    const auto& r = rows[0];
    c.name = r[0].c_str();
    c.backend = r[1].c_str();
    c.scheduler = r[2].c_str();
    c.fwmark = r[3].as<std::int64_t>();
    c.protocol = r[4].c_str();
    c.ports = integers(r[5], cluster_obj, "ports");
    const auto forwarding = parse_forwarding(r[6].c_str());
    if (!forwarding) {
        bad_row(cluster_obj, "forwarding",
                fmt::format("{:?} is not route, masq or tunnel", std::string(r[6].c_str())));
    }
    c.forwarding = *forwarding;
    c.persistence = r[7].as<std::int64_t>();
    c.check_send = optional_text(r[8]);
    c.check_expect = optional_text(r[9]);
    c.check_timeout = r[10].as<std::int64_t>();
    c.check_reentry = r[11].as<std::int64_t>();
    c.load_monitor = optional_text(r[12]);
    c.check_interval = r[13].as<std::int64_t>();
    if (!r[14].is_null()) {
        c.check_port = r[14].as<std::int64_t>();
    }
    c.check_use_regex = r[15].as<bool>();
    c.check_program = optional_text(r[16]);
    c.quiesce_server = r[17].as<bool>();
    c.load_scale = r[18].as<std::int64_t>();
    const auto ha = parse_ha(r[19].c_str());
    if (!ha) {
        bad_row(cluster_obj, "ha",
                fmt::format("{:?} is not vrrp or external", std::string(r[19].c_str())));
    }
    c.ha = *ha;
    if (!r[20].is_null()) {
        c.vrrp_router_id = r[20].as<std::int64_t>();
    }
    c.vrrp_advert_int = r[21].as<std::int64_t>();
    // The other clusters whose LBs keepalived pairs (docs/ha.md), for validate().
    for (const auto& n : tx.exec_params(
             "select c.cluster_id, coalesce(c.vrrp_router_id, c.cluster_id), l.mgmt_address"
             " from h2e_clusters c join h2e_load_balancers l using (cluster_id)"
             " where c.cluster_id <> $1 and c.ha = 'vrrp' and c.backend = 'ipvs'"
             " and exists (select 1 from h2e_load_balancers b"
             "             where b.cluster_id = c.cluster_id and b.role = 'backup')"
             " order by c.cluster_id, l.role",
             id)) {
        const auto other = n[0].as<std::int64_t>();
        if (c.vrrp_neighbours.empty() || c.vrrp_neighbours.back().cluster_id != other) {
            c.vrrp_neighbours.push_back({other, n[1].as<std::int64_t>(), {}});
        }
        c.vrrp_neighbours.back().load_balancers.push_back(
            address(n[2], fmt::format("h2e_load_balancers cluster_id={}", other), "mgmt_address"));
    }

    for (const auto& lb :
         tx.exec_params("select role, mgmt_address, ssh_port, vip_interface"
                        " from h2e_load_balancers where cluster_id = $1 order by role desc",
                        id)) {
        const std::string role_text = lb[0].c_str();
        const auto obj = fmt::format("h2e_load_balancers cluster_id={} role={}", id, role_text);
        const auto role = parse_role(role_text);
        if (!role) {
            bad_row(obj, "role", fmt::format("{:?} is not primary or backup", role_text));
        }
        c.load_balancers.push_back(
            {*role, address(lb[1], obj, "mgmt_address"), lb[2].as<std::int64_t>(), lb[3].c_str()});
    }
    for (const auto& s : tx.exec_params(
             "select node_id, mgmt_address, address, address_v6, ssh_port,"
             " weight, active from apache_h2e_nodes where cluster_id = $1 order by node_id",
             id)) {
        const auto node_id = s[0].as<std::int64_t>();
        const auto obj = fmt::format("apache_h2e_nodes node_id={}", node_id);
        Server server;
        server.node_id = node_id;
        server.mgmt_address = address(s[1], obj, "mgmt_address");
        server.address = address(s[2], obj, "address");
        if (!s[3].is_null()) {
            server.address_v6 = address(s[3], obj, "address_v6");
        }
        server.ssh_port = s[4].as<std::int64_t>();
        server.weight = s[5].as<std::int64_t>();
        server.active = s[6].as<bool>();
        c.servers.push_back(std::move(server));
    }
    read_lvscf(tx, c);
    for (const auto& ip : tx.exec_params(
             "select address from h2e_cluster_ips where cluster_id = $1 order by address", id)) {
        const auto obj = fmt::format("h2e_cluster_ips cluster_id={} address={}", id, ip[0].c_str());
        c.website_ips.push_back(address(ip[0], obj, "address"));
    }
    c.serial = tx.exec_params1(
                     "select coalesce(max(serial), 0) from lvsctl_runs where cluster_id = $1 and "
                     "not dry_run",
                     id)[0]
                   .as<std::int64_t>();
    return c;
}

// Runs `change` in one transaction, then reads the cluster back in it and validates it; commits
// only a valid cluster.
template <class Change>
void write_validated(pqxx::connection& connection, std::int64_t cluster_id, Change&& change) {
    pqxx::work tx(connection);
    change(tx);
    validate_or_throw(read_in(tx, cluster_id));
    tx.commit();
}

std::optional<std::string> text_of(const std::optional<IpAddress>& ip) {
    return ip ? std::optional<std::string>(ip->str()) : std::nullopt;
}

}  // namespace

Cluster Database::read_cluster(std::int64_t id) {
    return guarded([&] {
        // One snapshot for every table, so that a hook writing meanwhile is seen whole or not at
        // all.
        pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(impl_->connection);
        auto c = read_in(tx, id);
        tx.commit();
        return c;
    });
}

void Database::lock_cluster(std::int64_t id, std::chrono::seconds timeout) {
    guarded([&] {
        pqxx::nontransaction tx(impl_->connection);
        // The wait is bounded by lock_timeout alone (statement_timeout would end it first).
        tx.exec("set statement_timeout = 0");
        tx.exec("set lock_timeout = '" + std::to_string(timeout.count() * 1000) + "ms'");
        try {
            tx.exec_params("select pg_advisory_lock($1, $2)", kLockSpace, static_cast<int>(id));
        } catch (const pqxx::sql_error& e) {
            if (e.sqlstate() == "55P03") {  // lock_not_available
                throw Error(ExitCode::lock_busy,
                            fmt::format("cluster {}: another lvsctl holds its lock; gave up after "
                                        "{} s (--lock-timeout)",
                                        id, timeout.count()));
            }
            throw;
        }
        tx.exec("set lock_timeout = 0");
        tx.exec(fmt::format("set statement_timeout = '{}s'", impl_->statement_timeout.count()));
        impl_->locked = id;
        return 0;
    });
}

void Database::check_lock() {
    if (!impl_->locked) {
        return;
    }
    const auto id = *impl_->locked;
    const auto lost = [&](const std::string& why) {
        return Error(ExitCode::db_unavailable,
                     fmt::format("cluster {}: the database session was lost, and the cluster's "
                                 "lock with it ({})",
                                 id, why));
    };
    try {
        pqxx::nontransaction tx(impl_->connection);
        // pg_advisory_lock(int, int) shows as classid = the first key, objid = the second,
        // objsubid = 2.
        const auto held = tx.exec_params1(
            "select count(*) from pg_locks where locktype = 'advisory' and granted"
            " and pid = pg_backend_pid() and classid = $1 and objid = $2 and objsubid = 2",
            kLockSpace, static_cast<int>(id))[0];
        if (held.as<int>() != 1) {
            throw lost("the lock is no longer this session's");
        }
    } catch (const pqxx::failure& e) {
        throw lost(reason_of(e));
    }
}

bool Database::try_lock_cluster(std::int64_t id) {
    return guarded([&] {
        pqxx::nontransaction tx(impl_->connection);
        const bool taken = tx.exec_params1("select pg_try_advisory_lock($1, $2)", kLockSpace,
                                           static_cast<int>(id))[0]
                               .as<bool>();
        if (taken) {
            impl_->locked = id;
        }
        return taken;
    });
}

std::vector<Database::ClusterName> Database::list_clusters() {
    return guarded([&] {
        pqxx::read_transaction tx(impl_->connection);
        std::vector<ClusterName> out;
        for (const auto& row :
             tx.exec("select cluster_id, name from h2e_clusters order by cluster_id")) {
            out.push_back({row[0].as<std::int64_t>(), row[1].c_str()});
        }
        return out;
    });
}

namespace {
void require_cluster(pqxx::work& tx, std::int64_t cluster_id) {
    if (tx.exec_params("select 1 from h2e_clusters where cluster_id = $1", cluster_id).empty()) {
        throw Error(ExitCode::data,
                    fmt::format("h2e_clusters cluster_id={}: no such cluster", cluster_id));
    }
}
[[noreturn]] void no_server(std::int64_t cluster_id, std::int64_t node_id) {
    throw Error(ExitCode::data,
                fmt::format("apache_h2e_nodes node_id={}: no such server in cluster {}", node_id,
                            cluster_id));
}
}  // namespace

void Database::add_server(std::int64_t cluster_id, const NewServer& s) {
    guarded([&] {
        write_validated(impl_->connection, cluster_id, [&](pqxx::work& tx) {
            require_cluster(tx, cluster_id);
            const auto other = tx.exec_params(
                "select cluster_id from apache_h2e_nodes where node_id = $1", s.node_id);
            if (!other.empty()) {
                throw Error(
                    ExitCode::data,
                    fmt::format("apache_h2e_nodes node_id={}: already exists (in cluster {})",
                                s.node_id, other[0][0].c_str()));
            }
            tx.exec_params(
                "insert into apache_h2e_nodes (node_id, cluster_id, mgmt_address, address, "
                "address_v6,"
                " weight) values ($1, $2, $3, $4, $5, $6)",
                s.node_id, cluster_id, s.mgmt_address.str(), s.address.str(), text_of(s.address_v6),
                s.weight);
        });
        return 0;
    });
}

void Database::remove_server(std::int64_t cluster_id, std::int64_t node_id) {
    guarded([&] {
        write_validated(impl_->connection, cluster_id, [&](pqxx::work& tx) {
            const auto r = tx.exec_params(
                "delete from apache_h2e_nodes where cluster_id = $1 and node_id = $2", cluster_id,
                node_id);
            if (r.affected_rows() == 0) {
                no_server(cluster_id, node_id);
            }
        });
        return 0;
    });
}

void Database::set_server(std::int64_t cluster_id, std::int64_t node_id,
                          std::optional<std::int64_t> weight, std::optional<bool> active) {
    guarded([&] {
        write_validated(impl_->connection, cluster_id, [&](pqxx::work& tx) {
            const auto r = tx.exec_params(
                "update apache_h2e_nodes set weight = coalesce($3, weight),"
                " active = coalesce($4, active) where cluster_id = $1 and node_id = $2",
                cluster_id, node_id, weight, active);
            if (r.affected_rows() == 0) {
                no_server(cluster_id, node_id);
            }
        });
        return 0;
    });
}

namespace {
// Runs `statement` ($1 = cluster, $2 = address) once per IP in one validated transaction;
// returns how many rows it changed.
int per_ip(pqxx::connection& connection, std::int64_t cluster_id, const std::vector<IpAddress>& ips,
           const char* statement) {
    int changed = 0;
    write_validated(connection, cluster_id, [&](pqxx::work& tx) {
        require_cluster(tx, cluster_id);
        for (const auto& ip : ips) {
            changed +=
                static_cast<int>(tx.exec_params(statement, cluster_id, ip.str()).affected_rows());
        }
    });
    return changed;
}
}  // namespace

int Database::add_ips(std::int64_t cluster_id, const std::vector<IpAddress>& ips) {
    return guarded([&] {
        return per_ip(impl_->connection, cluster_id, ips,
                      "insert into h2e_cluster_ips (cluster_id, address) values ($1, $2)"
                      " on conflict do nothing");
    });
}

int Database::remove_ips(std::int64_t cluster_id, const std::vector<IpAddress>& ips) {
    return guarded([&] {
        return per_ip(impl_->connection, cluster_id, ips,
                      "delete from h2e_cluster_ips where cluster_id = $1 and address = $2");
    });
}

namespace {

// `import`'s steps (docs/commands.md: import), each one part of the one validated transaction.
// Each appends what it did, for the operator, to `done`.

constexpr const char* kUpsertCluster = R"sql(
    insert into h2e_clusters (cluster_id, name, scheduler, fwmark, protocol, ports, forwarding,
                              persistence, check_send, check_expect, check_timeout, check_reentry,
                              load_monitor, check_interval, check_use_regex, check_program,
                              quiesce_server, backend)
    values ($1, $2, $3, $4, $5, $6::integer[], $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
            coalesce(nullif($18, ''), 'ipvs'))
    on conflict (cluster_id) do update set
        backend = coalesce(nullif($18, ''), h2e_clusters.backend),
        name = excluded.name, scheduler = excluded.scheduler, fwmark = excluded.fwmark,
        protocol = excluded.protocol, ports = excluded.ports, forwarding = excluded.forwarding,
        persistence = excluded.persistence, check_send = excluded.check_send,
        check_expect = excluded.check_expect, check_timeout = excluded.check_timeout,
        check_reentry = excluded.check_reentry, load_monitor = excluded.load_monitor,
        check_interval = excluded.check_interval, check_use_regex = excluded.check_use_regex,
        check_program = excluded.check_program, quiesce_server = excluded.quiesce_server
)sql";

constexpr const char* kUpsertLoadBalancer = R"sql(
    insert into h2e_load_balancers (cluster_id, role, mgmt_address, vip_interface)
    values ($1, $2, $3, coalesce($4, 'eth1'))
    on conflict (cluster_id, role) do update set mgmt_address = excluded.mgmt_address,
        vip_interface = coalesce($4, h2e_load_balancers.vip_interface)
)sql";

constexpr const char* kUpdateServer = R"sql(
    update apache_h2e_nodes set address = $2, address_v6 = $3, weight = $4, active = $5
    where node_id = $1
)sql";

constexpr const char* kInsertServer = R"sql(
    insert into apache_h2e_nodes (node_id, cluster_id, mgmt_address, address, address_v6, weight,
                                  active)
    values ($1, $2, $3, $4, $5, $6, $7)
)sql";

// A cluster name is unique: another cluster's name is refused (65), nothing written.
void refuse_taken_name(pqxx::work& tx, std::int64_t id, const Cluster& f) {
    const auto other = tx.exec_params(
        "select cluster_id from h2e_clusters where name = $1 and cluster_id <> $2", f.name, id);
    if (!other.empty()) {
        throw Error(ExitCode::data, fmt::format("h2e_clusters cluster_id={}: column name: {:?} is "
                                                "already the name of cluster {}",
                                                id, f.name, other[0][0].c_str()));
    }
}

void import_settings(pqxx::work& tx, std::int64_t id, const Cluster& f,
                     std::vector<std::string>& done) {
    // lvs.cf holds only the first port: keep the row's list when it starts with it.
    const auto first = std::to_string(f.ports.front());
    std::string port_list = "{" + first + "}";
    for (std::size_t i = 1; i < f.ports.size(); ++i) {
        port_list.insert(port_list.size() - 1, "," + std::to_string(f.ports[i]));
    }
    const auto ports =
        tx.exec_params("select ports::text from h2e_clusters where cluster_id = $1", id);
    if (!ports.empty()) {
        const std::string have = ports[0][0].c_str();
        if (f.ports.size() == 1 && have.rfind("{" + first + ",", 0) == 0) {
            port_list = have;
        }
    }
    tx.exec_params(kUpsertCluster, id, f.name, f.scheduler, f.fwmark, f.protocol, port_list,
                   std::string(to_string(f.forwarding)), f.persistence, f.check_send,
                   f.check_expect, f.check_timeout, f.check_reentry, f.load_monitor,
                   f.check_interval, f.check_use_regex, f.check_program, f.quiesce_server,
                   f.backend);
    done.push_back(fmt::format("h2e_clusters cluster_id={}: settings from the file", id));
}

void import_load_balancers(pqxx::work& tx, std::int64_t id, const Cluster& f,
                           std::vector<std::string>& done) {
    if (f.load_balancers.empty()) {
        return;  // the file names none (keepalived.conf, ipvsadm): the rows stay as they are
    }
    for (const auto role : {Role::primary, Role::backup}) {
        const auto* lb = role == Role::primary ? f.primary() : f.backup();
        const std::string r(to_string(role));
        if (lb != nullptr) {
            // The device of lvs.cf's `address = VIP DEVICE`; else the row keeps its own.
            const auto device =
                f.lvscf.address_device ? std::optional(lb->vip_interface) : std::nullopt;
            tx.exec_params(kUpsertLoadBalancer, id, r, lb->mgmt_address.str(), device);
        } else if (tx.exec_params(
                         "delete from h2e_load_balancers where cluster_id = $1 and role = $2", id,
                         r)
                       .affected_rows() > 0) {
            done.push_back(fmt::format("h2e_load_balancers cluster_id={} role={}: removed", id, r));
        }
    }
}

// Servers are matched by management address (lvs.cf has no node ids); those not in the file go.
// Returns the node id each of f.servers has in the database.
std::vector<std::int64_t> import_servers(pqxx::work& tx, std::int64_t id, const Cluster& f,
                                         std::vector<std::string>& done) {
    std::set<std::string> kept;
    std::vector<std::int64_t> node_ids;
    for (const auto& s : f.servers) {
        const auto existing = tx.exec_params(
            "select node_id from apache_h2e_nodes where cluster_id = $1 and mgmt_address = $2", id,
            s.mgmt_address.str());
        if (!existing.empty()) {
            node_ids.push_back(existing[0][0].as<std::int64_t>());
            tx.exec_params(kUpdateServer, node_ids.back(), s.address.str(), text_of(s.address_v6),
                           s.weight, s.active);
        } else {
            // The file's node id when it has one and it is free (lvsctl's own keepalived.conf
            // names them); else the next one.
            const auto node_id =
                tx.exec_params1(
                      "select case when $1 > 0 and not exists (select 1 from"
                      " apache_h2e_nodes where node_id = $1) then $1"
                      " else coalesce((select max(node_id) from apache_h2e_nodes), 0)"
                      " + 1 end",
                      s.node_id)[0]
                    .as<std::int64_t>();
            node_ids.push_back(node_id);
            tx.exec_params(kInsertServer, node_id, id, s.mgmt_address.str(), s.address.str(),
                           text_of(s.address_v6), s.weight, s.active);
            done.push_back(
                fmt::format("apache_h2e_nodes node_id={}: new, for server {} (check the "
                            "node id against the platform's)",
                            node_id, s.mgmt_address.str()));
        }
        kept.insert(s.mgmt_address.str());
    }
    for (const auto& row : tx.exec_params(
             "select node_id, host(mgmt_address) from apache_h2e_nodes where cluster_id = $1",
             id)) {
        if (!kept.contains(row[1].c_str())) {
            tx.exec_params("delete from apache_h2e_nodes where node_id = $1",
                           row[0].as<std::int64_t>());
            done.push_back(fmt::format("apache_h2e_nodes node_id={}: removed (not in lvs.cf)",
                                       row[0].c_str()));
        }
    }
    return node_ids;
}

// The lvs.cf settings lvsctl keeps (docs/migration.md), replaced as a whole.
void import_lvscf(pqxx::work& tx, std::int64_t id, const Cluster& f,
                  const std::vector<std::int64_t>& node_ids, std::vector<std::string>& done) {
    tx.exec_params("delete from lvsctl_lvscf_settings where cluster_id = $1", id);
    int position = 0;
    int rows = 0;
    auto insert = [&](const char* scope, std::optional<std::int64_t> node_id,
                      const std::string& key, const std::string& value) {
        tx.exec_params(
            "insert into lvsctl_lvscf_settings (cluster_id, scope, node_id, position,"
            " key, value) values ($1, $2, $3, $4, $5, $6)",
            id, scope, node_id, position++, key, value);
        ++rows;
    };
    for (const auto& s : f.lvscf.global) {
        insert("global", std::nullopt, s.key, s.value);
    }
    for (const auto& s : f.lvscf.virtual_settings) {
        insert("virtual", std::nullopt, s.key, s.value);
    }
    const auto& l = f.lvscf;
    for (const auto& [key, value] : {std::pair{"virtual_name", &l.virtual_name},
                                     std::pair{"virtual_name_v6", &l.virtual_name_v6},
                                     std::pair{"address_device", &l.address_device}}) {
        if (*value) {
            insert("layout", std::nullopt, key, **value);
        }
    }
    if (l.by_address) {
        insert("layout", std::nullopt, "by_address", "1");
    }
    if (l.inactive) {
        insert("layout", std::nullopt, "inactive", "1");
    }
    if (l.ipv6_virtual) {
        insert("layout", std::nullopt, "ipv6_virtual", "1");
    }
    for (std::size_t i = 0; i < f.servers.size(); ++i) {
        const auto& s = f.servers[i];
        if (s.lvscf_name) {
            insert("layout", node_ids[i], "server_name", *s.lvscf_name);
        }
        for (const auto& setting : s.lvscf_settings) {
            insert("server", node_ids[i], setting.key, setting.value);
        }
    }
    if (rows > 0) {
        done.push_back(
            fmt::format("lvsctl_lvscf_settings cluster_id={}: {} lvs.cf settings kept "
                        "for the piranha backend",
                        id, rows));
    }
}

void import_website_ips(pqxx::work& tx, std::int64_t id, const Cluster& f) {
    for (const auto& ip : f.website_ips) {
        tx.exec_params("insert into h2e_cluster_ips values ($1, $2) on conflict do nothing", id,
                       ip.str());
    }
}

}  // namespace

std::vector<std::string> Database::import_cluster(std::int64_t id, const Cluster& f) {
    return guarded([&] {
        std::vector<std::string> done;
        write_validated(impl_->connection, id, [&](pqxx::work& tx) {
            refuse_taken_name(tx, id, f);
            import_settings(tx, id, f, done);
            import_load_balancers(tx, id, f, done);
            const auto node_ids = import_servers(tx, id, f, done);
            import_lvscf(tx, id, f, node_ids, done);
            import_website_ips(tx, id, f);
        });
        return done;
    });
}

std::optional<std::string> Database::cluster_backend(std::int64_t id) {
    return guarded([&]() -> std::optional<std::string> {
        pqxx::read_transaction tx(impl_->connection);
        const auto rows =
            tx.exec_params("select backend from h2e_clusters where cluster_id = $1", id);
        if (rows.empty()) {
            return std::nullopt;
        }
        return std::string(rows[0][0].c_str());
    });
}

std::optional<Database::LastRun> Database::last_run(std::int64_t cluster_id) {
    return guarded([&]() -> std::optional<LastRun> {
        pqxx::read_transaction tx(impl_->connection);
        const auto rows = tx.exec_params(
            "select serial, coalesce(report->>'lvs_cf_digest', '') from lvsctl_runs"
            " where cluster_id = $1 and not dry_run and serial is not null"
            " order by run_id desc limit 1",
            cluster_id);
        if (rows.empty()) {
            return std::nullopt;
        }
        return LastRun{rows[0][0].as<std::int64_t>(), rows[0][1].c_str()};
    });
}

namespace {
double unix_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}
}  // namespace

std::int64_t Database::record_run(const Run& run) {
    return guarded([&] {
        pqxx::work tx(impl_->connection);
        const auto row = tx.exec_params1(
            "insert into lvsctl_runs (cluster_id, serial, started_at, finished_at, dry_run, "
            "result, report) values ($1, $2, to_timestamp($3), to_timestamp($4), $5, $6, "
            "$7::jsonb) returning run_id",
            run.cluster_id, run.serial, unix_seconds(run.started), unix_seconds(run.finished),
            run.dry_run, run.result, run.report);
        tx.commit();
        return row[0].as<std::int64_t>();
    });
}

namespace {
std::chrono::system_clock::time_point from_unix(double seconds) {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::duration<double>(seconds)));
}
}  // namespace

std::vector<RunSummary> Database::recent_runs(std::int64_t cluster_id, int limit) {
    return guarded([&] {
        pqxx::read_transaction tx(impl_->connection);
        std::vector<RunSummary> out;
        for (const auto& row : tx.exec_params(
                 "select run_id, coalesce(serial, 0), extract(epoch from started_at)::float8,"
                 " extract(epoch from finished_at)::float8, coalesce(dry_run, false),"
                 " coalesce(result, '') from lvsctl_runs where cluster_id = $1"
                 " order by run_id desc limit $2",
                 cluster_id, limit)) {
            out.push_back({row[0].as<std::int64_t>(), row[1].as<std::int64_t>(),
                           from_unix(row[2].as<double>(0)), from_unix(row[3].as<double>(0)),
                           row[4].as<bool>(), row[5].c_str()});
        }
        return out;
    });
}

std::vector<RunCount> Database::run_counts() {
    return guarded([&] {
        pqxx::read_transaction tx(impl_->connection);
        std::vector<RunCount> out;
        for (const auto& row :
             tx.exec("select cluster_id, coalesce(result, ''), count(*),"
                     " coalesce(extract(epoch from max(finished_at))::float8, 0) from lvsctl_runs"
                     " where cluster_id is not null group by 1, 2 order by 1, 2")) {
            out.push_back({row[0].as<std::int64_t>(), row[1].c_str(), row[2].as<std::int64_t>(),
                           from_unix(row[3].as<double>())});
        }
        return out;
    });
}

}  // namespace lvsctl::db
