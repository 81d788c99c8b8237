{{!
  piranha's lvs.cf, rendered by lvsctl (ctemplate syntax; whitespace is kept as written).
  Top: SERIAL NETWORK (direct|nat|tunnel) PRIMARY NAME FWMARK PORT PROTOCOL SCHEDULER
       INTERVAL (check_interval: nanny's -t, lvs.cf's timeout) TIMEOUT (check_timeout) REENTRY
       CHECK_PORT (check_port, or the first port) LOAD_SCALE; section BACKUP {ADDRESS}.
  Section VIRTUAL, once per address family: VIRTUAL_NAME FAMILY (inet|inet6); sections IPV6,
       PERSISTENT {SECONDS}, LOAD_MONITOR {COMMAND}, SEND_PROGRAM {COMMAND}, USE_REGEX,
       QUIESCE_SERVER, SEND {TEXT}, EXPECT {TEXT} (TEXT has
       \r \n \t written as in lvs.cf), SERVER {NAME (management address), NODE_ID, ADDRESS,
       ACTIVE (0|1), WEIGHT, EFFECTIVE_WEIGHT (0 when inactive)}.
}}serial_no = {{SERIAL}}
network = {{NETWORK}}
primary = {{PRIMARY}}
{{#BACKUP}}backup_active = 1
backup = {{ADDRESS}}
{{/BACKUP}}service = lvs{{#VIRTUAL}}

virtual {{VIRTUAL_NAME}} {

    active = 1
    fwmark = {{FWMARK}}
{{#LOAD_MONITOR}}    load_monitor = {{COMMAND}}
{{/LOAD_MONITOR}}    port = {{PORT}}
    protocol = {{PROTOCOL}}
{{#PERSISTENT}}    persistent = {{SECONDS}}
{{/PERSISTENT}}    reentry = {{REENTRY}}
    timeout = {{INTERVAL}}
    scheduler = {{SCHEDULER}}
{{#SEND}}    send = "{{TEXT}}"
{{/SEND}}{{#EXPECT}}    expect = "{{TEXT}}"
{{/EXPECT}}{{#USE_REGEX}}    use_regex = 1
{{/USE_REGEX}}{{#SEND_PROGRAM}}    send_program = "{{COMMAND}}"
{{/SEND_PROGRAM}}{{#QUIESCE_SERVER}}    quiesce_server = 1
{{/QUIESCE_SERVER}}{{#SERVER}}
    server {{NAME}} {
            active = {{ACTIVE}}
            address = {{ADDRESS}}
            weight = {{WEIGHT}}
    }
{{/SERVER}}
}{{/VIRTUAL}}
