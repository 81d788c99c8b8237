// db/ against a real PostgreSQL (started by tests/db/with-postgres), and the program on top.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

#include "db/database.h"
#include "fixtures.h"
#include "lvsctl/cli/process.h"
#include "lvsctl/error.h"
#include "lvsctl/lvsctl.h"
#include "lvsctl/validate.h"

using namespace lvsctl;
using lvsctl::testing::ip;

namespace {

std::string admin() {
    const char* a = std::getenv("LVSCTL_TEST_ADMIN_DB");
    REQUIRE_MESSAGE(a != nullptr, "run under tests/db/with-postgres");
    return a;
}

ProcessResult psql(const std::string& conninfo, const std::string& sql) {
    cli::SpawnRunner r;
    return r.run({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", conninfo, "-f", "-"},
                 sql);
}

// A fresh database for one test, dropped afterwards.
struct ScratchDb {
    std::string name;
    std::string conninfo;
    ScratchDb() {
        static std::atomic<int> n{0};
        name = "lvsctl_test_" + std::to_string(::getpid()) + "_" + std::to_string(n++);
        REQUIRE(psql(admin(), "create database " + name).status == 0);
        conninfo = admin().substr(0, admin().find("dbname=")) + "dbname=" + name;
    }
    ~ScratchDb() { psql(admin(), "drop database if exists " + name + " with (force)"); }
    std::string sql(const std::string& text) const {
        const auto r = psql(conninfo, text);
        REQUIRE_MESSAGE(r.status == 0, r.err);
        return r.out;
    }
    ProcessResult try_sql(const std::string& text) const { return psql(conninfo, text); }
};

ScratchDb migrated_with_seed() {
    ScratchDb db;
    db::Database(db.conninfo).migrate();
    db.sql(lvsctl::testing::read_file(lvsctl::testing::source_dir() / "tests/db/seed.sql"));
    return db;
}

// Hooks run with --no-update here: these tests are about the database (the hosts of the seed
// cluster do not exist); tests/ssh/update_test.sh runs hooks with their update.
ProcessResult lvsctl_cmd(const std::vector<std::string>& args) {
    std::vector<std::string> argv{LVSCTL_PROGRAM, "--config=/dev/null",
                                  "--templates=" + lvsctl::testing::template_dir().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const auto& word : args) {
        if (word == "server" || word == "ip" || word == "import") {
            argv.push_back("--no-update");
            break;
        }
    }
    cli::SpawnRunner r;
    return r.run(argv, "");
}

}  // namespace

TEST_CASE("VRRP (docs/ha.md): the columns read, and the other VRRP clusters with them") {
    auto db = migrated_with_seed();
    db.sql(
        "insert into h2e_load_balancers (cluster_id, role, mgmt_address)"
        " values (1, 'backup', '10.39.94.42');"
        "update h2e_clusters set vrrp_advert_int = 2 where cluster_id = 1;"
        "insert into h2e_clusters (cluster_id, name, vrrp_router_id) values (2, 'Other', 1),"
        " (3, 'Third', 1), (4, 'External', 1);"
        "update h2e_clusters set ha = 'external' where cluster_id = 4;"
        "insert into h2e_load_balancers (cluster_id, role, mgmt_address) values"
        " (2, 'primary', '10.39.95.41'), (2, 'backup', '10.39.94.42'),"
        " (3, 'primary', '10.39.96.41'),"  // no backup: no VRRP
        " (4, 'primary', '10.39.97.41'), (4, 'backup', '10.39.97.42');");
    db::Database database(db.conninfo);
    const auto c = database.read_cluster(1);
    CHECK(c.ha == Ha::vrrp);
    CHECK_FALSE(c.vrrp_router_id);
    CHECK(c.router_id() == 1);
    CHECK(c.vrrp_advert_int == 2);
    REQUIRE(c.vrrp_neighbours.size() == 1);
    CHECK(c.vrrp_neighbours[0].cluster_id == 2);
    CHECK(c.vrrp_neighbours[0].router_id == 1);
    CHECK(c.vrrp_neighbours[0].load_balancers ==
          std::vector<IpAddress>{ip("10.39.94.42"), ip("10.39.95.41")});
    std::vector<std::string> problems;
    for (const auto& p : validate(c)) {
        problems.push_back(p.str());
    }
    CHECK(problems.size() == 2);  // its router id, and its backup LB, are cluster 2's too
    CHECK(database.read_cluster(4).ha == Ha::external);
    // render shows the file update writes on each LB.
    db.sql(
        "update h2e_clusters set vrrp_router_id = 51 where cluster_id = 1;"
        "update h2e_clusters set ha = 'external' where cluster_id = 2");
    auto r = lvsctl_cmd({"--db", db.conninfo, "render", "--cluster-id=1",
                         "--format=keepalived-vrrp", "--role=backup", "--vrrp-unicast"});
    CHECK(r.status == 0);
    CHECK(r.out.starts_with("# lvsctl website IPs: 10.39.84.131\n# lvsctl website IPs end\n"));
    CHECK(r.out.find("    state BACKUP\n    interface eth1\n    virtual_router_id 51\n") !=
          std::string::npos);
    CHECK(r.out.find("unicast_peer {\n        10.39.94.41\n") != std::string::npos);
    r = lvsctl_cmd({"--db", db.conninfo, "render", "--cluster-id=4", "--format=keepalived-vrrp"});
    CHECK(r.status == 65);  // ha = external: no VRRP, no such file
    CHECK(r.err.find("cluster 4: no VRRP") != std::string::npos);

    // The database refuses what is not VRRP's.
    CHECK(db.try_sql("update h2e_clusters set vrrp_router_id = 256 where cluster_id = 1").status !=
          0);
    CHECK(db.try_sql("update h2e_clusters set ha = 'carp' where cluster_id = 1").status != 0);
}

TEST_CASE("db migrate creates the schema of docs/database.md, and a re-run changes nothing") {
    ScratchDb db;
    auto r = lvsctl_cmd({"--db", db.conninfo, "db", "migrate"});
    CHECK(r.status == 0);
    CHECK(r.out == "applied 4 migration(s); schema version 4\n");
    r = lvsctl_cmd({"--db", db.conninfo, "db", "migrate"});
    CHECK(r.status == 0);
    CHECK(r.out == "schema is up to date (version 4)\n");

    const auto columns = db.sql(
        "select table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' "
        "||"
        " coalesce(column_default, '-') from information_schema.columns"
        " where table_schema = 'public' and table_name <> 'lvsctl_schema_version'"
        " order by table_name, ordinal_position");
    CHECK(columns ==
          "apache_h2e_nodes.node_id integer NO -\n"
          "apache_h2e_nodes.cluster_id integer NO -\n"
          "apache_h2e_nodes.mgmt_address inet NO -\n"
          "apache_h2e_nodes.address inet NO -\n"
          "apache_h2e_nodes.address_v6 inet YES -\n"
          "apache_h2e_nodes.ssh_port integer NO 22\n"
          "apache_h2e_nodes.weight integer NO 32\n"
          "apache_h2e_nodes.active boolean NO true\n"
          "h2e_cluster_ips.cluster_id integer NO -\n"
          "h2e_cluster_ips.address inet NO -\n"
          "h2e_clusters.cluster_id integer NO -\n"
          "h2e_clusters.name text NO -\n"
          "h2e_clusters.backend text NO 'ipvs'::text\n"
          "h2e_clusters.scheduler text NO 'lblc'::text\n"
          "h2e_clusters.fwmark integer NO 100\n"
          "h2e_clusters.protocol text NO 'tcp'::text\n"
          "h2e_clusters.ports ARRAY NO '{80,443}'::integer[]\n"
          "h2e_clusters.forwarding text NO 'route'::text\n"
          "h2e_clusters.persistence integer NO 0\n"
          "h2e_clusters.check_send text YES 'GET / HTTP/1.0\r\n\r\n'::text\n"
          "h2e_clusters.check_expect text YES 'HTTP'::text\n"
          "h2e_clusters.check_timeout integer NO 10\n"
          "h2e_clusters.check_reentry integer NO 10\n"
          "h2e_clusters.load_monitor text YES -\n"
          "h2e_clusters.check_interval integer NO 10\n"
          "h2e_clusters.check_port integer YES -\n"
          "h2e_clusters.check_use_regex boolean NO false\n"
          "h2e_clusters.check_program text YES -\n"
          "h2e_clusters.quiesce_server boolean NO false\n"
          "h2e_clusters.load_scale integer NO 10\n"
          "h2e_clusters.ha text NO 'vrrp'::text\n"
          "h2e_clusters.vrrp_router_id integer YES -\n"
          "h2e_clusters.vrrp_advert_int integer NO 1\n"
          "h2e_load_balancers.lb_id integer NO nextval('h2e_load_balancers_lb_id_seq'::regclass)\n"
          "h2e_load_balancers.cluster_id integer NO -\n"
          "h2e_load_balancers.role text NO -\n"
          "h2e_load_balancers.mgmt_address inet NO -\n"
          "h2e_load_balancers.ssh_port integer NO 22\n"
          "h2e_load_balancers.vip_interface text NO 'eth1'::text\n"
          "lvsctl_lvscf_settings.cluster_id integer NO -\n"
          "lvsctl_lvscf_settings.scope text NO -\n"
          "lvsctl_lvscf_settings.node_id integer YES -\n"
          "lvsctl_lvscf_settings.position integer NO -\n"
          "lvsctl_lvscf_settings.key text NO -\n"
          "lvsctl_lvscf_settings.value text NO -\n"
          "lvsctl_runs.run_id bigint NO nextval('lvsctl_runs_run_id_seq'::regclass)\n"
          "lvsctl_runs.cluster_id integer YES -\n"
          "lvsctl_runs.serial integer YES -\n"
          "lvsctl_runs.started_at timestamp with time zone YES -\n"
          "lvsctl_runs.finished_at timestamp with time zone YES -\n"
          "lvsctl_runs.dry_run boolean YES -\n"
          "lvsctl_runs.result text YES -\n"
          "lvsctl_runs.report jsonb YES -\n");
}

TEST_CASE("the schema's constraints hold") {
    auto db = migrated_with_seed();
    CHECK(db.try_sql("update apache_h2e_nodes set weight = 65536 where node_id = 43").status != 0);
    CHECK(db.try_sql("update apache_h2e_nodes set weight = -1 where node_id = 43").status != 0);
    CHECK(db.try_sql("insert into h2e_load_balancers (cluster_id, role, mgmt_address)"
                     " values (1, 'primary', '10.39.94.42')")
              .status != 0);
    CHECK(db.try_sql("insert into h2e_load_balancers (cluster_id, role, mgmt_address)"
                     " values (1, 'standby', '10.39.94.42')")
              .status != 0);
    CHECK(db.try_sql("insert into h2e_cluster_ips values (1, '10.39.84.131')").status != 0);
    CHECK(db.try_sql("insert into h2e_clusters (cluster_id, name) values (2, 'Web-Cluster')")
              .status != 0);
    db.sql("delete from h2e_clusters where cluster_id = 1");
    CHECK(db.sql("select count(*) from apache_h2e_nodes") == "0\n");
    CHECK(db.sql("select count(*) from h2e_load_balancers") == "0\n");
}

TEST_CASE("the monitor's columns (migration 2) are read, checked and reach the desired state") {
    auto db = migrated_with_seed();
    CHECK(db.try_sql("update h2e_clusters set check_port = 0").status != 0);
    CHECK(db.try_sql("update h2e_clusters set check_interval = 0").status != 0);
    db.sql(
        "update h2e_clusters set check_interval = 2, check_port = 8080, check_use_regex = true,"
        " check_expect = 'HTTP/1[.][01] 200', check_program = '/usr/lib/check --host %h',"
        " quiesce_server = true, load_scale = 4 where cluster_id = 1");
    const auto c = db::Database(db.conninfo).read_cluster(1);
    CHECK(c.check_interval == 2);
    CHECK(c.check_port == 8080);
    CHECK(c.check_use_regex);
    CHECK(c.check_program == "/usr/lib/check --host %h");
    CHECK(c.quiesce_server);
    CHECK(c.load_scale == 4);
    CHECK(validate(c).empty());
    const auto r = lvsctl_cmd({"--db", db.conninfo, "render", "--cluster-id=1", "--format=json"});
    REQUIRE(r.status == 0);
    CHECK(r.out.find("\"port\": 8080") != std::string::npos);
    CHECK(r.out.find("\"program\": \"/usr/lib/check --host %h\"") != std::string::npos);
    CHECK(r.out.find("\"quiesce\": true") != std::string::npos);

    // A value the database takes but lvsctl cannot use is named, and nothing runs.
    db.sql("update h2e_clusters set check_program = '/usr/lib/check; reboot' where cluster_id = 1");
    const auto bad = lvsctl_cmd({"--db", db.conninfo, "render", "--cluster-id=1"});
    CHECK(bad.status == 65);
    CHECK(bad.err.find("h2e_clusters cluster_id=1: column check_program") != std::string::npos);
}

TEST_CASE("the seed cluster reads back as the article's cluster, and renders its lvs.cf") {
    auto db = migrated_with_seed();
    const auto c = db::Database(db.conninfo).read_cluster(1);
    const auto seed = lvsctl::testing::seed_cluster();
    CHECK(c.name == seed.name);
    CHECK(c.ports == seed.ports);
    CHECK(c.check_send == seed.check_send);
    CHECK(c.load_monitor == seed.load_monitor);
    REQUIRE(c.servers.size() == 2);
    CHECK(c.servers[1].node_id == 44);
    CHECK(c.servers[1].address == ip("10.39.84.44"));
    CHECK(c.website_ips == seed.website_ips);
    CHECK(c.primary()->mgmt_address == ip("10.39.94.41"));
    CHECK(validate(c).empty());

    const auto r = lvsctl_cmd({"--db", db.conninfo, "render", "--cluster-id=1"});
    CHECK(r.status == 0);
    CHECK(lvsctl::testing::without_serial(r.out) ==
          lvsctl::testing::read_file(lvsctl::testing::golden("seed-lvs.cf")));
}

TEST_CASE("bad rows stop everything with exit 65 and a message naming the row") {
    struct Case {
        const char* sql;
        const char* message;
    };
    const Case cases[] = {
        {"update apache_h2e_nodes set address = '2001:db8::44' where node_id = 44",
         "apache_h2e_nodes node_id=44: column address: 2001:db8::44 is not an IPv4 address"},
        {"insert into h2e_cluster_ips values (1, '2001:db8:84::131');"
         " update apache_h2e_nodes set address_v6 = '2001:db8:84::43' where node_id = 43",
         "apache_h2e_nodes node_id=44: column address_v6: the cluster has IPv6 website IPs but "
         "this server has no IPv6 address"},
        {"update h2e_clusters set scheduler = 'fastest'",
         "h2e_clusters cluster_id=1: column scheduler: unknown IPVS scheduler \"fastest\""},
        {"update h2e_clusters set fwmark = 0",
         "h2e_clusters cluster_id=1: column fwmark: 0 is not a firewall mark (1..4294967295)"},
        {"update apache_h2e_nodes set address = '10.39.84.43' where node_id = 44",
         "apache_h2e_nodes node_id=44: column address: 10.39.84.43 is also the address of "
         "apache_h2e_nodes node_id=43"},
        {"insert into h2e_cluster_ips values (1, '10.39.84.44')",
         "h2e_cluster_ips cluster_id=1 address=10.39.84.44: column address: is also the "
         "real-server address of apache_h2e_nodes node_id=44"},
        {"update apache_h2e_nodes set address = '10.39.84.0/24' where node_id = 44",
         "apache_h2e_nodes node_id=44: column address: 10.39.84.0/24 is not a host address (no "
         "prefix length)"},
        {"update h2e_clusters set forwarding = 'bridge'",
         "h2e_clusters cluster_id=1: column forwarding: \"bridge\" is not route, masq or tunnel"},
        {"delete from h2e_load_balancers",
         "h2e_load_balancers cluster_id=1: column role: the cluster has no primary load balancer"},
        {"update h2e_load_balancers set vip_interface = 'eth1; reboot'",
         "h2e_load_balancers cluster_id=1 role=primary: column vip_interface: \"eth1; reboot\" is "
         "not an interface name (1 to 15 of letters, digits, '_', '.', '-')"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.sql);
        auto db = migrated_with_seed();
        db.sql(c.sql);
        const auto r = lvsctl_cmd({"--db", db.conninfo, "render", "--cluster-id=1"});
        CHECK(r.status == 65);
        CHECK(r.err.find(c.message) != std::string::npos);
        CHECK(r.out.empty());
    }
    auto db = migrated_with_seed();
    const auto r = lvsctl_cmd({"--db", db.conninfo, "render", "--cluster-id=9"});
    CHECK(r.status == 65);
    CHECK(r.err == "lvsctl: h2e_clusters cluster_id=9: no such cluster\n");
}

TEST_CASE("no database, or no schema yet: exit 69 with the reason") {
    auto r =
        lvsctl_cmd({"--db", "host=/nonexistent user=lvsctl dbname=x", "render", "--cluster-id=1"});
    CHECK(r.status == 69);
    CHECK(
        r.err.starts_with("lvsctl: database: connection to server on socket "
                          "\"/nonexistent/.s.PGSQL.5432\" failed"));
    ScratchDb empty;
    r = lvsctl_cmd({"--db", empty.conninfo, "render", "--cluster-id=1"});
    CHECK(r.status == 69);
    CHECK(r.err.find("(has `lvsctl db migrate` been run?)") != std::string::npos);
}

TEST_CASE(
    "the connection comes from LVSCTL_DB or libpq's PG* variables; the password never shows") {
    auto db = migrated_with_seed();
    cli::SpawnRunner runner;
    // No --db: LVSCTL_DB, as the environment of a hook would carry it.
    const auto r = runner.run(
        {"env", "LVSCTL_DB=" + db.conninfo, LVSCTL_PROGRAM, "--config=/dev/null",
         "--templates=" + lvsctl::testing::template_dir().string(), "render", "--cluster-id=1"},
        "");
    CHECK(r.status == 0);
    const auto bad = runner.run({"env", "LVSCTL_DB=host=/nonexistent user=lvsctl password=hunter2",
                                 LVSCTL_PROGRAM, "--config=/dev/null", "render", "--cluster-id=1"},
                                "");
    CHECK(bad.status == 69);
    CHECK(bad.err.find("hunter2") == std::string::npos);
    // On the command line it is refused before anything (every user can read argv).
    const auto argv = lvsctl_cmd({"--db", "host=/nonexistent user=lvsctl password=hunter2 dbname=x",
                                  "render", "--cluster-id=1"});
    CHECK(argv.status == 64);
    CHECK(argv.err.find("hunter2") == std::string::npos);
}

TEST_CASE("hooks: server add, set, remove and ip add, remove write the database") {
    auto db = migrated_with_seed();
    auto r = lvsctl_cmd({"--db", db.conninfo, "server", "add", "--cluster-id=1", "--node-id=45",
                         "--address=10.39.84.45", "--mgmt-address=10.39.94.45", "--weight=16"});
    CHECK(r.status == 0);
    CHECK(r.out == "apache_h2e_nodes node_id=45: added to cluster 1\n");
    CHECK(db.sql("select host(address) || ' ' || weight || ' ' || active from apache_h2e_nodes"
                 " where node_id = 45") == "10.39.84.45 16 true\n");
    r = lvsctl_cmd(
        {"--db", db.conninfo, "server", "set", "--cluster-id=1", "--node-id=45", "--active=false"});
    CHECK(r.status == 0);
    CHECK(db.sql("select weight || ' ' || active from apache_h2e_nodes where node_id = 45") ==
          "16 false\n");
    r = lvsctl_cmd({"--db", db.conninfo, "--json", "ip", "add", "--cluster-id=1", "10.39.84.132",
                    "10.39.84.131"});
    CHECK(r.status == 0);
    CHECK(r.out.find("added 1 of 2 website IP(s)") != std::string::npos);
    r = lvsctl_cmd({"--db", db.conninfo, "ip", "remove", "--cluster-id=1", "10.39.84.131"});
    CHECK(r.status == 0);
    CHECK(db.sql("select host(address) from h2e_cluster_ips") == "10.39.84.132\n");
    r = lvsctl_cmd({"--db", db.conninfo, "server", "remove", "--cluster-id=1", "--node-id=45"});
    CHECK(r.status == 0);
    CHECK(db.sql("select count(*) from apache_h2e_nodes") == "2\n");
}

TEST_CASE("hooks refuse a change that would leave the cluster invalid, and write nothing") {
    auto db = migrated_with_seed();
    const auto before = db.sql("select * from apache_h2e_nodes order by node_id") +
                        db.sql("select * from h2e_cluster_ips order by address");
    struct Case {
        std::vector<std::string> args;
        const char* message;
    };
    const Case cases[] = {
        {{"server", "add", "--cluster-id=1", "--node-id=45", "--address=10.39.84.44",
          "--mgmt-address=10.39.94.45"},
         "apache_h2e_nodes node_id=45: column address: 10.39.84.44 is also the address of "
         "apache_h2e_nodes node_id=44"},
        {{"server", "add", "--cluster-id=1", "--node-id=44", "--address=10.39.84.46",
          "--mgmt-address=10.39.94.46"},
         "apache_h2e_nodes node_id=44: already exists (in cluster 1)"},
        {{"server", "add", "--cluster-id=7", "--node-id=46", "--address=10.39.84.46",
          "--mgmt-address=10.39.94.46"},
         "h2e_clusters cluster_id=7: no such cluster"},
        {{"server", "set", "--cluster-id=1", "--node-id=99", "--weight=1"},
         "apache_h2e_nodes node_id=99: no such server in cluster 1"},
        {{"ip", "add", "--cluster-id=1", "2001:db8:84::131"},
         "apache_h2e_nodes node_id=43: column address_v6: the cluster has IPv6 website IPs but "
         "this "
         "server has no IPv6 address"},
        {{"ip", "add", "--cluster-id=1", "10.39.84.43"},
         "h2e_cluster_ips cluster_id=1 address=10.39.84.43: column address: is also the "
         "real-server "
         "address of apache_h2e_nodes node_id=43"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.args);
        std::vector<std::string> args{"--db", db.conninfo};
        args.insert(args.end(), c.args.begin(), c.args.end());
        const auto r = lvsctl_cmd(args);
        CHECK(r.status == 65);
        CHECK(r.err.find(c.message) != std::string::npos);
    }
    CHECK(db.sql("select * from apache_h2e_nodes order by node_id") +
              db.sql("select * from h2e_cluster_ips order by address") ==
          before);
}

TEST_CASE("the cluster lock: a busy cluster is exit 75 after --lock-timeout") {
    auto db = migrated_with_seed();
    std::thread holder(
        [&] { psql(db.conninfo, "select pg_advisory_lock(19542, 1); select pg_sleep(4);"); });
    ::usleep(800 * 1000);
    const auto r = lvsctl_cmd(
        {"--db", db.conninfo, "--lock-timeout=1", "ip", "add", "--cluster-id=1", "10.39.84.140"});
    holder.join();
    CHECK(r.status == 75);
    CHECK(r.err ==
          "lvsctl: cluster 1: another lvsctl holds its lock; gave up after 1 s "
          "(--lock-timeout)\n");
    CHECK(db.sql("select count(*) from h2e_cluster_ips") == "1\n");
}

TEST_CASE("20 hooks on one cluster at once wait for the lock, one at a time, and all land") {
    auto db = migrated_with_seed();
    std::thread holder(
        [&] { psql(db.conninfo, "select pg_advisory_lock(19542, 1); select pg_sleep(4);"); });
    // Start the hooks only once the lock is held (psql may start slowly on a busy machine).
    for (int i = 0; i < 200 && db.sql("select count(*) from pg_locks where locktype = 'advisory'"
                                      " and classid = 19542 and objid = 1 and granted") != "1\n";
         ++i) {
        ::usleep(50 * 1000);
    }
    std::vector<std::thread> hooks;
    std::vector<int> status(20, -1);
    for (int i = 0; i < 20; ++i) {
        hooks.emplace_back([&, i] {
            status[i] = lvsctl_cmd({"--db", db.conninfo, "ip", "add", "--cluster-id=1",
                                    "10.39.86." + std::to_string(i + 1)})
                            .status;
        });
    }
    ::usleep(500 * 1000);
    // The lock is still held by the first session: no hook has written yet.
    CHECK(db.sql("select count(*) from h2e_cluster_ips") == "1\n");
    for (auto& h : hooks) {
        h.join();
    }
    holder.join();
    CHECK(std::all_of(status.begin(), status.end(), [](int s) { return s == 0; }));
    CHECK(db.sql("select count(*) from h2e_cluster_ips") == "21\n");
}

TEST_CASE(
    "import: a piranha lvs.cf becomes cluster N, renders back the same, re-imports as a no-op") {
    ScratchDb db;
    db::Database(db.conninfo).migrate();
    const auto seed = lvsctl::testing::golden("seed-lvs.cf").string();
    auto r = lvsctl_cmd({"--db", db.conninfo, "import", "--cluster-id=1", seed});
    CHECK(r.status == 0);
    CHECK(r.out.find("apache_h2e_nodes node_id=1: new, for server 10.39.94.43") !=
          std::string::npos);
    r = lvsctl_cmd({"--db", db.conninfo, "render", "--cluster-id=1"});
    CHECK(r.status == 0);
    CHECK(lvsctl::testing::without_serial(r.out) == lvsctl::testing::read_file(seed));
    const auto before = db.sql("select * from apache_h2e_nodes order by node_id") +
                        db.sql("select * from h2e_clusters");
    r = lvsctl_cmd({"--db", db.conninfo, "import", "--cluster-id=1", seed});
    CHECK(r.status == 0);
    CHECK(db.sql("select * from apache_h2e_nodes order by node_id") +
              db.sql("select * from h2e_clusters") ==
          before);

    // A file that fails to parse, or would make the cluster invalid, writes nothing.
    auto text = lvsctl::testing::read_file(seed);
    const auto bad = std::filesystem::temp_directory_path() /
                     ("lvsctl-import-" + std::to_string(::getpid()) + ".cf");
    { std::ofstream(bad) << text.replace(text.find("10.39.84.44"), 11, "10.39.84.43"); }
    r = lvsctl_cmd({"--db", db.conninfo, "import", "--cluster-id=1", bad.string()});
    std::filesystem::remove(bad);
    CHECK(r.status == 65);
    CHECK(r.err.find("is also the address of") != std::string::npos);
    CHECK(db.sql("select * from apache_h2e_nodes order by node_id") +
              db.sql("select * from h2e_clusters") ==
          before);
}

// The lines of an lvs.cf that say something, blanks trimmed, sorted: two files piranha reads
// alike (whitespace, order and serial aside) give the same list. A piranha default stated as 0
// (use_regex, quiesce_server), which lvsctl does not write, is left out.
std::vector<std::string> stated_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#') {
            continue;
        }
        line = line.substr(first, line.find_last_not_of(" \t\r") + 1 - first);
        if (line.starts_with("serial_no =") || line == "use_regex = 0" ||
            line == "quiesce_server = 0") {
            continue;
        }
        lines.push_back(line);
    }
    std::sort(lines.begin(), lines.end());
    return lines;
}

TEST_CASE("import: a piranha two-director file with pulse's settings survives import and render") {
    ScratchDb db;
    db::Database(db.conninfo).migrate();
    const auto file = (lvsctl::testing::source_dir() / "tests/lvscf/two-director.cf").string();
    auto r =
        lvsctl_cmd({"--db", db.conninfo, "import", "--cluster-id=4", "--backend=piranha", file});
    CHECK(r.status == 0);
    CHECK(r.err.find("line 10: heartbeat = 1: kept for the piranha backend") != std::string::npos);
    CHECK(r.out.find("lvsctl_lvscf_settings cluster_id=4: 23 lvs.cf settings kept") !=
          std::string::npos);
    CHECK(db.sql("select backend, fwmark, persistence from h2e_clusters") == "piranha|80|300\n");
    CHECK(db.sql("select role, host(mgmt_address), vip_interface from h2e_load_balancers"
                 " order by role") == "backup|192.168.10.3|eth0\nprimary|192.168.10.2|eth0\n");
    r = lvsctl_cmd({"--db", db.conninfo, "render", "--cluster-id=4"});
    REQUIRE(r.status == 0);
    CHECK(stated_lines(r.out) == stated_lines(lvsctl::testing::read_file(file)));

    // Imported again: nothing changes.
    const auto tables = [&] {
        return db.sql("select * from apache_h2e_nodes order by node_id") +
               db.sql("select * from h2e_clusters") +
               db.sql(
                   "select scope, node_id, position, key, value from lvsctl_lvscf_settings"
                   " order by scope, node_id, position");
    };
    const auto before = tables();
    r = lvsctl_cmd({"--db", db.conninfo, "import", "--cluster-id=4", "--backend=piranha", file});
    CHECK(r.status == 0);
    CHECK(tables() == before);
    // A server gone from the file takes its kept settings with it.
    db.sql("delete from apache_h2e_nodes where host(mgmt_address) = '192.168.20.13'");
    r = lvsctl_cmd({"--db", db.conninfo, "render", "--cluster-id=4"});
    CHECK(r.status == 0);
    CHECK(r.out.find("192.168.20.13") == std::string::npos);

    // A kept setting the platform broke by hand is named, and nothing renders.
    db.sql("update lvsctl_lvscf_settings set value = 'often' where key = 'keepalive'");
    r = lvsctl_cmd({"--db", db.conninfo, "render", "--cluster-id=4"});
    CHECK(r.status == 65);
    CHECK(r.err.find("lvsctl_lvscf_settings cluster_id=4 scope=global: column keepalive: "
                     "keepalive = often: integer expected") != std::string::npos);
}

TEST_CASE("import: named servers need a management address; NAT's router needs pulse") {
    ScratchDb db;
    db::Database(db.conninfo).migrate();
    const auto file = (lvsctl::testing::source_dir() / "tests/lvscf/by-address.cf").string();
    auto r = lvsctl_cmd({"--db", db.conninfo, "import", "--cluster-id=2", file});
    CHECK(r.status == 65);
    CHECK(r.err.find("line 25: server Web1: its name is not an IP address and does not resolve; "
                     "give its management (SSH) address with --server Web1=MGMT_IP") !=
          std::string::npos);
    r = lvsctl_cmd({"--db", db.conninfo, "import", "--cluster-id=2", "--server=Web1=10.9.0.3",
                    "--server", "Web2=10.9.0.4", file});
    CHECK(r.status == 65);
    CHECK(r.err.find("nat_router = 192.168.1.254 eth1:1: the web servers' NAT gateway is "
                     "pulse's to raise") != std::string::npos);
    CHECK(db.sql("select count(*) from h2e_clusters") == "0\n");
    r = lvsctl_cmd({"--db", db.conninfo, "import", "--cluster-id=2", "--server=Web1=10.9.0.3",
                    "--server", "Web2=10.9.0.4", "--backend=piranha", file});
    CHECK(r.status == 0);
    CHECK(db.sql("select host(mgmt_address), host(address) from apache_h2e_nodes order by 1") ==
          "10.9.0.3|192.168.1.3\n10.9.0.4|192.168.1.4\n");
    r = lvsctl_cmd({"--db", db.conninfo, "render", "--cluster-id=2"});
    REQUIRE(r.status == 0);
    // The file has no network line: piranha's default, NAT, is written out.
    CHECK(stated_lines(r.out) ==
          stated_lines(lvsctl::testing::read_file(file) + "network = nat\n"));
    CHECK(r.out.find("    server Web1 {") != std::string::npos);
    CHECK(r.out.find("fwmark") == std::string::npos);
}

TEST_CASE("import: what lvsctl rendered as keepalived.conf or ipvsadm rules imports back") {
    auto from = migrated_with_seed();
    from.sql(
        "insert into h2e_load_balancers (cluster_id, role, mgmt_address)"
        " values (1, 'backup', '10.39.94.42');"
        "update h2e_clusters set ports = '{80,443}', persistence = 120 where cluster_id = 1;"
        "update apache_h2e_nodes set address_v6 = '2001:db8:84::43' where node_id = 43;"
        "update apache_h2e_nodes set address_v6 = '2001:db8:84::44', weight = 7"
        " where node_id = 44;"
        "insert into h2e_cluster_ips values (1, '2001:db8:84::131');");
    const auto scratch = std::filesystem::temp_directory_path() /
                         ("lvsctl-import-formats-" + std::to_string(::getpid()));
    std::filesystem::create_directories(scratch);
    for (const std::string format : {"keepalived", "ipvsadm"}) {
        CAPTURE(format);
        auto r =
            lvsctl_cmd({"--db", from.conninfo, "render", "--cluster-id=1", "--format", format});
        REQUIRE(r.status == 0);
        const auto rendered = r.out;
        const auto file = scratch / format;
        { std::ofstream(file) << rendered; }
        ScratchDb to;
        db::Database(to.conninfo).migrate();
        std::vector<std::string> args = {"--db",           to.conninfo, "import",
                                         "--cluster-id=1", "--format",  format};
        if (format == "ipvsadm") {
            // ipvsadm's rules name neither the LBs nor the servers' management addresses.
            args.insert(
                args.end(),
                {"--primary=10.39.94.41", "--backup=10.39.94.42",
                 "--server=10.39.84.43=10.39.94.43", "--server=10.39.84.44=10.39.94.44",
                 "--server=2001:db8:84::43=10.39.94.43", "--server=2001:db8:84::44=10.39.94.44"});
        }
        args.push_back(file.string());
        r = lvsctl_cmd(args);
        CHECK_MESSAGE(r.status == 0, r.err);
        if (format == "ipvsadm") {
            // Nor the website IPs of a mark service: the platform adds them.
            REQUIRE(lvsctl_cmd({"--db", to.conninfo, "ip", "add", "--cluster-id=1", "10.39.84.131",
                                "2001:db8:84::131"})
                        .status == 0);
        }
        r = lvsctl_cmd({"--db", to.conninfo, "render", "--cluster-id=1", "--format", format});
        CHECK(r.status == 0);
        CHECK(lvsctl::testing::without_serial(r.out) == lvsctl::testing::without_serial(rendered));
        CHECK(to.sql("select role, host(mgmt_address) from h2e_load_balancers order by role") ==
              "backup|10.39.94.42\nprimary|10.39.94.41\n");
        CHECK(to.sql("select host(mgmt_address), host(address), host(address_v6), weight"
                     " from apache_h2e_nodes order by 1") ==
              "10.39.94.43|10.39.84.43|2001:db8:84::43|32\n"
              "10.39.94.44|10.39.84.44|2001:db8:84::44|7\n");
        CHECK(to.sql("select scheduler, fwmark, persistence from h2e_clusters") ==
              "lblc|100|120\n");
    }
    std::filesystem::remove_all(scratch);
}

TEST_CASE("update --all's lock: taken at once if free, else refused without waiting") {
    auto db = migrated_with_seed();
    db.sql("insert into h2e_clusters (cluster_id, name) values (9, 'Nine'), (3, 'Three')");
    db::Database first(db.conninfo);
    const auto clusters = first.list_clusters();
    REQUIRE(clusters.size() == 3);
    CHECK(clusters[0].id == 1);
    CHECK(clusters[0].name == "Web-Cluster");
    CHECK(clusters[1].id == 3);
    CHECK(clusters[2].name == "Nine");

    CHECK(first.try_lock_cluster(1));
    CHECK_NOTHROW(first.check_lock());  // as lock_cluster(): the run's guard checks it
    db::Database second(db.conninfo);
    const auto start = std::chrono::steady_clock::now();
    CHECK_FALSE(second.try_lock_cluster(1));
    // A waiting lock would wait for the first session as long as it lives (or the 60 s
    // statement limit); the margin is for a loaded machine.
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
    CHECK_NOTHROW(second.check_lock());  // it holds none, so there is nothing to lose
    CHECK(second.try_lock_cluster(3));   // another cluster is free
    // The first session's end frees the lock: once its server process has ended, which happens
    // after the client closed the connection, not at once.
    { auto gone = std::move(first); }
    bool taken = false;
    for (int i = 0; i < 100 && !taken; ++i) {
        taken = second.try_lock_cluster(1);
        if (!taken) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    CHECK(taken);
}

TEST_CASE("a lost session is never silently replaced: the lock went with it, and that is 69") {
    auto db = migrated_with_seed();
    db::Database database(db.conninfo);
    database.lock_cluster(1, std::chrono::seconds(5));
    CHECK_NOTHROW(database.check_lock());
    // The server ends the session (as a restart does); the lock is free for anyone else.
    db.sql(
        "select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory'"
        " and classid = 19542 and objid = 1");
    CHECK_THROWS_AS(database.check_lock(), Error);
    try {
        (void)database.read_cluster(1);
        FAIL("read_cluster on a lost session must fail, not reconnect");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::db_unavailable);
    }
    // Nor is anything written afterwards on a new session in its place.
    CHECK_THROWS_AS(database.add_ips(1, {ip("10.39.84.150")}), Error);
    CHECK(db.sql("select count(*) from h2e_cluster_ips") == "1\n");
}

TEST_CASE("statements are bounded: a stuck table is an error after the timeout, not a hang") {
    auto db = migrated_with_seed();
    std::thread holder([&] {
        psql(db.conninfo,
             "begin; lock table h2e_clusters in access exclusive mode;"
             " select pg_sleep(8); commit;");
    });
    for (int i = 0; i < 200 && db.sql("select count(*) from pg_locks where relation = "
                                      "'h2e_clusters'::regclass and mode = 'AccessExclusiveLock'"
                                      " and granted") != "1\n";
         ++i) {
        ::usleep(50 * 1000);
    }
    db::Database database(db.conninfo, std::chrono::seconds(1));
    const auto start = std::chrono::steady_clock::now();
    try {
        (void)database.read_cluster(1);
        FAIL("read_cluster must time out");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::db_unavailable);
        CHECK(std::string(e.what()).find("statement timeout") != std::string::npos);
    }
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    holder.join();
}

TEST_CASE("import: a name another cluster has is bad data (65), named") {
    ScratchDb db;
    db::Database(db.conninfo).migrate();
    const auto seed = lvsctl::testing::golden("seed-lvs.cf").string();
    REQUIRE(lvsctl_cmd({"--db", db.conninfo, "import", "--cluster-id=1", seed}).status == 0);
    const auto r = lvsctl_cmd({"--db", db.conninfo, "import", "--cluster-id=2", seed});
    CHECK(r.status == 65);
    CHECK(r.err.find("h2e_clusters cluster_id=2: column name: \"Web-Cluster\" is already the name "
                     "of cluster 1") != std::string::npos);
}

TEST_CASE("the web view's run log reads: a cluster's last runs newest first, runs by result") {
    auto db = migrated_with_seed();
    db::Database d(db.conninfo);
    const auto at = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
    for (int i = 0; i < 4; ++i) {
        RunLog::Run r;
        r.cluster_id = 1;
        r.serial = 10 + i;
        r.started = at + std::chrono::seconds(60 * i);
        r.finished = r.started + std::chrono::milliseconds(1500);
        r.dry_run = i == 3;
        r.result = i == 1 ? "partial" : i == 3 ? "planned" : "converged";
        r.report = "{}";
        d.record_run(r);
    }
    // A row another program wrote with nulls (the table's columns allow them).
    db.sql("insert into lvsctl_runs (cluster_id) values (2)");
    const auto runs = d.recent_runs(1, 3);
    REQUIRE(runs.size() == 3);
    CHECK(runs[0].serial == 13);
    CHECK(runs[0].dry_run);
    CHECK(runs[0].result == "planned");
    CHECK(runs[1].result == "converged");
    CHECK(runs[2].result == "partial");
    CHECK(runs[0].run_id > runs[1].run_id);
    CHECK(runs[1].started == at + std::chrono::seconds(120));
    CHECK(runs[1].finished - runs[1].started == std::chrono::milliseconds(1500));
    const auto nulls = d.recent_runs(2, 10);
    REQUIRE(nulls.size() == 1);
    CHECK(nulls[0].serial == 0);
    CHECK(nulls[0].result.empty());
    CHECK(d.recent_runs(3, 10).empty());

    const auto counts = d.run_counts();
    REQUIRE(counts.size() == 4);
    CHECK(counts[0].cluster_id == 1);
    CHECK(counts[0].result == "converged");
    CHECK(counts[0].count == 2);
    CHECK(counts[0].last_finished == at + std::chrono::milliseconds(121'500));
    CHECK(counts[1].result == "partial");
    CHECK(counts[2].result == "planned");
    CHECK(counts[3].cluster_id == 2);
    CHECK(counts[3].count == 1);
}

// The public API (include/lvsctl/lvsctl.h) against the database: values out, errors with the
// exit codes the program gives for the same call.
api::Options api_options(const ScratchDb& db) {
    api::Options options;
    options.db = db.conninfo;
    options.templates = lvsctl::testing::template_dir().string();
    return options;
}

TEST_CASE("api::Connection: clusters, render and plan; errors carry the program's exit codes") {
    auto db = migrated_with_seed();
    auto options = api_options(db);
    options.timeout = 2;
    auto connection = api::Connection::open(options);

    const auto clusters = connection.clusters();
    REQUIRE(clusters.size() == 1);
    CHECK(clusters[0].id == 1);
    CHECK(clusters[0].name == "Web-Cluster");

    // render: the program's output, byte for byte.
    const auto rendered = connection.render(1, "lvs.cf");
    CHECK(rendered.cluster_name == "Web-Cluster");
    const auto program = lvsctl_cmd({"--db", db.conninfo, "render", "--cluster-id=1"});
    CHECK(program.status == 0);
    CHECK(rendered.content == program.out);
    CHECK(connection.render(1, "ipvsadm").content ==
          lvsctl_cmd({"--db", db.conninfo, "render", "--cluster-id=1", "--format=ipvsadm"}).out);

    // An unknown cluster: the program's 65, for every call.
    const auto missing = lvsctl_cmd({"--db", db.conninfo, "render", "--cluster-id=99"});
    CHECK(missing.status == api::exit_code::data);
    for (const auto& call : std::vector<std::function<void()>>{
             [&] { connection.render(99); }, [&] { connection.plan(99); },
             [&] { connection.update(99); }, [&] { connection.status(99); }}) {
        try {
            call();
            FAIL("no error");
        } catch (const api::Error& e) {
            CHECK(e.exit_code() == missing.status);
            CHECK(missing.err == std::string("lvsctl: ") + e.what() + "\n");
        }
    }
    // A format the program's parser would refuse: usage.
    try {
        connection.render(1, "yaml");
        FAIL("no error");
    } catch (const api::Error& e) {
        CHECK(e.exit_code() == api::exit_code::usage);
    }

    // plan: the seed's hosts do not exist; the plan says so per host, as values.
    std::vector<api::ProgressEvent> events;
    std::mutex events_mutex;
    options.progress = [&](const api::ProgressEvent& e) {
        std::lock_guard lock(events_mutex);
        events.push_back(e);
    };
    options.parallel = 4;
    auto watched = api::Connection::open(options);
    const auto plan = watched.plan(1);
    CHECK(plan.cluster_id == 1);
    CHECK(plan.cluster_name == "Web-Cluster");
    CHECK(plan.dry_run);
    REQUIRE(plan.hosts.size() == 3);
    // The program's order: the web servers, then the LB.
    CHECK(plan.hosts[0].host == "web 10.39.94.43");
    CHECK(plan.hosts[0].role == "web");
    CHECK(plan.hosts[2].host == "lb 10.39.94.41");
    CHECK(plan.hosts[2].role == "lb");
    for (const auto& h : plan.hosts) {
        CHECK(h.error.has_value());
        CHECK(h.exit_code != 0);
    }
    CHECK(plan.exit_code != 0);
    CHECK(plan.errors.size() == 3);
    CHECK(plan.document.starts_with("{"));
    CHECK(plan.document.find("Web-Cluster") != std::string::npos);
    REQUIRE_FALSE(events.empty());
    CHECK(events.front().kind == api::ProgressEvent::Kind::begin);
    CHECK(events.front().total == 3);
    CHECK(events.back().kind == api::ProgressEvent::Kind::end);

    // update waits Options::lock_timeout for a lock another session holds, then 75.
    db::Database holder(db.conninfo);
    holder.lock_cluster(1, std::chrono::seconds(5));
    options.lock_timeout = 1;
    options.progress = nullptr;
    try {
        api::Connection::open(options).update(1);
        FAIL("no error");
    } catch (const api::Error& e) {
        CHECK(e.exit_code() == api::exit_code::lock_busy);
    }
}

TEST_CASE("api::Connection: a database that cannot be reached is 69, at the first call") {
    api::Options options;
    options.db = "host=/nonexistent user=nobody connect_timeout=2";
    auto connection = api::Connection::open(options);  // reaches nothing yet
    try {
        connection.clusters();
        FAIL("no error");
    } catch (const api::Error& e) {
        CHECK(e.exit_code() == api::exit_code::db_unavailable);
    }
}

TEST_CASE("api::Connection hooks: the database change, with no_update; errors as the program's") {
    auto db = migrated_with_seed();
    auto options = api_options(db);
    auto connection = api::Connection::open(options);
    api::HookOptions no_update;
    no_update.no_update = true;

    auto h = connection.add_ips(1, {"10.39.84.132", "10.39.84.131"}, no_update);
    CHECK(h.what == "h2e_cluster_ips cluster_id=1: added 1 of 2 website IP(s)");
    CHECK_FALSE(h.update);
    CHECK(h.exit_code == 0);
    REQUIRE(h.notes.size() == 1);
    CHECK(h.notes[0].find("--no-update") != std::string::npos);
    CHECK(h.document.find("10.39.84.132") == std::string::npos);  // names the change, not IPs
    CHECK(h.document.find("website IP(s)") != std::string::npos);
    CHECK(db.sql("select count(*) from h2e_cluster_ips where cluster_id = 1") == "2\n");
    CHECK(connection.remove_ips(1, {"10.39.84.132"}, no_update).what ==
          "h2e_cluster_ips cluster_id=1: removed 1 of 1 website IP(s)");

    api::NewServer s;
    s.node_id = 45;
    s.address = "10.39.84.45";
    s.mgmt_address = "10.39.94.45";
    s.weight = 7;
    CHECK(connection.add_server(1, s, no_update).what ==
          "apache_h2e_nodes node_id=45: added to cluster 1");
    CHECK(db.sql("select weight from apache_h2e_nodes where node_id = 45") == "7\n");
    CHECK(connection.set_server(1, 45, 9, false, no_update).what ==
          "apache_h2e_nodes node_id=45: set weight=9 active=false");
    CHECK(connection.set_server(1, 45, std::nullopt, true, no_update).what ==
          "apache_h2e_nodes node_id=45: set active=true");

    // The program's exit codes: a bad address (64), a row that is not there (65, as
    // `lvsctl server set` gives with the same message).
    CHECK_THROWS_AS(connection.add_ips(1, {"10.39.84"}, no_update), api::Error);
    s.address = "fd00::45";
    try {
        connection.add_server(1, s, no_update);
        FAIL("no error");
    } catch (const api::Error& e) {
        CHECK(e.exit_code() == api::exit_code::usage);
    }
    const auto program = lvsctl_cmd(
        {"--db", db.conninfo, "server", "set", "--cluster-id=1", "--node-id=99", "--weight=3"});
    try {
        connection.set_server(1, 99, 3, std::nullopt, no_update);
        FAIL("no error");
    } catch (const api::Error& e) {
        CHECK(e.exit_code() == program.status);
        CHECK(program.err == std::string("lvsctl: ") + e.what() + "\n");
    }
}

TEST_CASE("api::Connection: servers, remove_server and update_all, as the program's") {
    auto db = migrated_with_seed();
    auto options = api_options(db);
    options.timeout = 2;
    auto connection = api::Connection::open(options);

    const auto servers = connection.servers(1);
    REQUIRE(servers.size() == 2);
    CHECK(servers[0].node_id == 43);
    CHECK(servers[0].address == "10.39.84.43");
    CHECK(servers[0].mgmt_address == "10.39.94.43");
    CHECK(servers[0].weight == 32);
    CHECK(servers[0].active);
    CHECK_FALSE(servers[0].address_v6);
    CHECK(servers[1].node_id == 44);
    CHECK_THROWS_AS(connection.servers(99), api::Error);

    // plan --all: the seed's hosts do not exist; the cluster fails, the call does not, and the
    // document and lines are the program's.
    std::vector<std::string> told;
    api::AllOptions all;
    all.dry_run = true;
    all.done = [&](const api::ClusterRun& c) { told.push_back(c.summary); };
    const auto planned = connection.update_all(all);
    REQUIRE(planned.clusters.size() == 1);
    const auto& c = planned.clusters[0];
    CHECK(c.cluster_id == 1);
    CHECK(c.cluster_name == "Web-Cluster");
    CHECK(c.status == "failed");
    CHECK(c.exit_code != 0);
    CHECK(planned.exit_code == c.exit_code);
    CHECK(told == std::vector<std::string>{c.summary});
    REQUIRE_FALSE(c.errors.empty());
    CHECK(c.errors[0].starts_with("cluster 1: "));
    const auto program = lvsctl_cmd({"--db", db.conninfo, "--timeout", "2", "plan", "--all"});
    CHECK(program.status == planned.exit_code);
    CHECK(program.out == c.summary + "\n" + planned.summary + "\n");

    // server remove: the drain cannot reach the LB, so the row stays, and the call says why.
    const auto removed = connection.remove_server(1, 44);
    CHECK(removed.exit_code != 0);
    REQUIRE(removed.update);
    CHECK(removed.what == "apache_h2e_nodes node_id=44: draining, then removing");
    CHECK_FALSE(removed.removed);
    CHECK_FALSE(removed.cleanup);
    CHECK(removed.update->errors.back() ==
          "node_id=44 stays in the database: the LBs did not all let it go; run the hook again");
    CHECK(db.sql("select count(*) from apache_h2e_nodes where node_id = 44") == "1\n");
    // With no_update, the row alone goes.
    api::RemoveServerOptions now;
    now.no_update = true;
    const auto gone = connection.remove_server(1, 44, now);
    CHECK(gone.exit_code == 0);
    CHECK(gone.what == "apache_h2e_nodes node_id=44: removed from cluster 1");
    CHECK(db.sql("select count(*) from apache_h2e_nodes where node_id = 44") == "0\n");
    try {
        connection.remove_server(1, 44, now);
        FAIL("no error");
    } catch (const api::Error& e) {
        CHECK(e.exit_code() == api::exit_code::data);
    }
}

TEST_CASE("api::Connection::import_config: the program's import, as values") {
    ScratchDb db;
    db::Database(db.conninfo).migrate();
    auto options = api_options(db);
    auto connection = api::Connection::open(options);
    const auto seed = lvsctl::testing::read_file(lvsctl::testing::golden("seed-lvs.cf"));
    api::ImportOptions i;
    i.source = "seed-lvs.cf";
    i.no_update = true;
    std::vector<std::string> warnings;
    i.warning = [&](const std::string& w) { warnings.push_back(w); };
    const auto h = connection.import_config(1, seed, i);
    CHECK(h.what.find("apache_h2e_nodes node_id=1: new, for server 10.39.94.43") !=
          std::string::npos);
    CHECK_FALSE(h.update);
    CHECK(warnings.empty());
    // The program renders it back as the file; the API renders the same.
    CHECK(lvsctl::testing::without_serial(connection.render(1).content) == seed);

    // A file that does not parse: 65, nothing written; an unknown format: 64.
    auto text = seed;
    text.replace(text.find("10.39.84.44"), 11, "10.39.84.43");
    try {
        connection.import_config(1, text, i);
        FAIL("no error");
    } catch (const api::Error& e) {
        CHECK(e.exit_code() == api::exit_code::data);
        CHECK(std::string(e.what()).find("is also the address of") != std::string::npos);
    }
    CHECK(connection.clusters().size() == 1);
    i.format = "nginx";
    try {
        connection.import_config(2, seed, i);
        FAIL("no error");
    } catch (const api::Error& e) {
        CHECK(e.exit_code() == api::exit_code::usage);
    }
}
