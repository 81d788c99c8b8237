#include "db/migrations.h"

namespace lvsctl::db {

namespace {

// Version 1: the tables the hosting platform writes and lvsctl reads, exactly as the contract
// names them, and lvsctl's run log.
constexpr std::string_view kV1 = R"SQL(
create table h2e_clusters (
    cluster_id     integer  primary key,
    name           text     not null unique,
    backend        text     not null default 'ipvs',
    scheduler      text     not null default 'lblc',
    fwmark         integer  not null default 100,
    protocol       text     not null default 'tcp',
    ports          integer[] not null default '{80,443}',
    forwarding     text     not null default 'route',
    persistence    integer  not null default 0,
    check_send     text     default E'GET / HTTP/1.0\r\n\r\n',
    check_expect   text     default 'HTTP',
    check_timeout  integer  not null default 10,
    check_reentry  integer  not null default 10,
    load_monitor   text
);

create table h2e_load_balancers (
    lb_id          serial   primary key,
    cluster_id     integer  not null references h2e_clusters on delete cascade,
    role           text     not null check (role in ('primary', 'backup')),
    mgmt_address   inet     not null,
    ssh_port       integer  not null default 22,
    vip_interface  text     not null default 'eth1',
    unique (cluster_id, role)
);

create table apache_h2e_nodes (
    node_id        integer  primary key,
    cluster_id     integer  not null references h2e_clusters on delete cascade,
    mgmt_address   inet     not null,
    address        inet     not null,
    address_v6     inet,
    ssh_port       integer  not null default 22,
    weight         integer  not null default 32 check (weight between 0 and 65535),
    active         boolean  not null default true
);

create table h2e_cluster_ips (
    cluster_id     integer  not null references h2e_clusters on delete cascade,
    address        inet     not null,
    primary key (cluster_id, address)
);

create table lvsctl_runs (
    run_id         bigserial primary key,
    cluster_id     integer,
    serial         integer,
    started_at     timestamptz,
    finished_at    timestamptz,
    dry_run        boolean,
    result         text,
    report         jsonb
);
)SQL";

// The LB monitor's settings (docs/monitor.md; lvs.cf's keys in brackets).
constexpr std::string_view kV2 = R"SQL(
alter table h2e_clusters
    add column check_interval  integer not null default 10
        check (check_interval between 1 and 86400),        -- [timeout]
    add column check_port      integer
        check (check_port between 1 and 65535),            -- null: the first of ports
    add column check_use_regex boolean not null default false,  -- [use_regex]
    add column check_program   text,                       -- [send_program]
    add column quiesce_server  boolean not null default false,  -- [quiesce_server]
    add column load_scale      integer not null default 10
        check (load_scale between 1 and 1000);
)SQL";

// High availability (docs/ha.md). Clusters that exist keep today's behaviour (`external`: the
// website IPs on every LB, another tool arbitrates); new ones default to keepalived's VRRP.
constexpr std::string_view kV3 = R"SQL(
alter table h2e_clusters
    add column ha              text    not null default 'external'
        check (ha in ('vrrp', 'external')),
    add column vrrp_router_id  integer
        check (vrrp_router_id between 1 and 255),          -- null: the cluster id
    add column vrrp_advert_int integer not null default 1
        check (vrrp_advert_int between 1 and 255);
alter table h2e_clusters alter column ha set default 'vrrp';
)SQL";

// What an imported piranha lvs.cf said beyond the columns (docs/migration.md), written back into
// lvs.cf for the piranha backend: pulse's heartbeat and failover settings, the NAT router, ...
// scope: global and virtual (lvs.cf's blocks), server (a server block, node_id), layout (the
// names and shape of the blocks: virtual_name, virtual_name_v6, address_device, by_address,
// inactive, ipv6_virtual; server_name with node_id).
constexpr std::string_view kV4 = R"SQL(
create table lvsctl_lvscf_settings (
    cluster_id     integer  not null references h2e_clusters on delete cascade,
    scope          text     not null check (scope in ('global', 'virtual', 'server', 'layout')),
    node_id        integer  references apache_h2e_nodes on delete cascade,
    position       integer  not null,
    key            text     not null,
    value          text     not null,
    check (scope <> 'server' or node_id is not null)
);
create index lvsctl_lvscf_settings_cluster on lvsctl_lvscf_settings (cluster_id);
)SQL";

}  // namespace

const std::vector<Migration>& migrations() {
    static const std::vector<Migration> all = {
        {1, "the platform's cluster tables and the run log", kV1},
        {2, "the LB monitor's settings", kV2},
        {3, "high availability: VRRP through keepalived", kV3},
        {4, "the settings of an imported lvs.cf", kV4},
    };
    return all;
}

}  // namespace lvsctl::db
