{{!
  piranha's lvs.cf, rendered by lvsctl (ctemplate syntax; whitespace is kept as written).
  Top: SERIAL NETWORK (direct|nat|tunnel) PRIMARY NAME FWMARK PORT PROTOCOL SCHEDULER
       INTERVAL (check_interval: nanny's -t, lvs.cf's timeout) TIMEOUT (check_timeout) REENTRY
       CHECK_PORT (check_port, or the first port) LOAD_SCALE; section BACKUP {ADDRESS}.
       Section GLOBAL_SETTING {KEY, VALUE}: the settings an imported lvs.cf had that lvsctl keeps
       without acting on them (docs/migration.md), VALUE as lvs.cf writes it.
  Section VIRTUAL, once per address family (IPv6 when the cluster has IPv6 website IPs or an
       imported IPv6 virtual): VIRTUAL_NAME FAMILY (inet|inet6) VIRTUAL_ACTIVE
       (0|1); sections IPV6, MARK (shown unless the imported virtual had no fwmark), VIP {ADDRESS,
       DEVICE} (an imported `address = VIP DEVICE`), PERSISTENT {SECONDS}, LOAD_MONITOR
       {COMMAND}, SEND_PROGRAM {COMMAND, QUOTE}, USE_REGEX, QUIESCE_SERVER, SEND {TEXT, QUOTE},
       EXPECT {TEXT, QUOTE} (TEXT has \r \n \t written as in lvs.cf; QUOTE is " or ', the
       one TEXT does not hold), VIRTUAL_SETTING {KEY, VALUE}, SERVER {NAME (lvs.cf's server
       name: the management address unless imported otherwise), NODE_ID, ADDRESS, ACTIVE (0|1),
       WEIGHT, EFFECTIVE_WEIGHT (0 when inactive), section SERVER_SETTING {KEY, VALUE} }.
}}serial_no = {{SERIAL}}
network = {{NETWORK}}
primary = {{PRIMARY}}
{{#BACKUP}}backup_active = 1
backup = {{ADDRESS}}
{{/BACKUP}}{{#GLOBAL_SETTING}}{{KEY}} = {{VALUE}}
{{/GLOBAL_SETTING}}service = lvs{{#VIRTUAL}}

virtual {{VIRTUAL_NAME}} {

    active = {{VIRTUAL_ACTIVE}}
{{#VIP}}    address = {{ADDRESS}} {{DEVICE}}
{{/VIP}}{{#MARK}}    fwmark = {{FWMARK}}
{{/MARK}}{{#LOAD_MONITOR}}    load_monitor = {{COMMAND}}
{{/LOAD_MONITOR}}    port = {{PORT}}
    protocol = {{PROTOCOL}}
{{#PERSISTENT}}    persistent = {{SECONDS}}
{{/PERSISTENT}}    reentry = {{REENTRY}}
    timeout = {{INTERVAL}}
    scheduler = {{SCHEDULER}}
{{#SEND}}    send = {{QUOTE}}{{TEXT}}{{QUOTE}}
{{/SEND}}{{#EXPECT}}    expect = {{QUOTE}}{{TEXT}}{{QUOTE}}
{{/EXPECT}}{{#USE_REGEX}}    use_regex = 1
{{/USE_REGEX}}{{#SEND_PROGRAM}}    send_program = {{QUOTE}}{{COMMAND}}{{QUOTE}}
{{/SEND_PROGRAM}}{{#QUIESCE_SERVER}}    quiesce_server = 1
{{/QUIESCE_SERVER}}{{#VIRTUAL_SETTING}}    {{KEY}} = {{VALUE}}
{{/VIRTUAL_SETTING}}{{#SERVER}}
    server {{NAME}} {
            active = {{ACTIVE}}
            address = {{ADDRESS}}
            weight = {{WEIGHT}}
{{#SERVER_SETTING}}            {{KEY}} = {{VALUE}}
{{/SERVER_SETTING}}    }
{{/SERVER}}
}{{/VIRTUAL}}
