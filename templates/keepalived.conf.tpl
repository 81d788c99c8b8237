{{!
  keepalived.conf's virtual servers, rendered by lvsctl (ctemplate syntax; whitespace is kept).
  The variables of lvs.cf.tpl, and in VIRTUAL: LVS_METHOD (DR|NAT|TUN), PROTOCOL_UPPER (keepalived
  ignores a protocol on fwmark services: the marks select it); in
  SERVER: sections HTTP_GET {PATH, STATUS}, TCP_CHECK or MISC_CHECK {COMMAND} (check_program,
  %h replaced by the server's address), chosen from the cluster's check settings; INHIBIT
  (quiesce_server: weight 0 instead of removal). delay_loop is the cluster's check_interval,
  connect_timeout its check_timeout, connect_port its check port. WEBSITE_IPS and PORTS (the
  cluster's, separated by spaces) are only in a comment, which import reads back (lvsctl's
  comments: the first line, the primary line, the website IPs line and each server's node line;
  docs/migration-keepalived-ipvsadm.md).
}}# keepalived.conf for cluster {{NAME}}, serial {{SERIAL}}, rendered by lvsctl.
# primary {{PRIMARY}}{{#BACKUP}}, backup {{ADDRESS}}{{/BACKUP}}
# website IPs: {{WEBSITE_IPS}}; ports: {{PORTS}}; protocol: {{PROTOCOL}}{{#VIRTUAL}}

virtual_server fwmark {{FWMARK}} {
{{#IPV6}}    ip_family inet6
{{/IPV6}}    delay_loop {{INTERVAL}}
    lvs_sched {{SCHEDULER}}
    lvs_method {{LVS_METHOD}}
{{#PERSISTENT}}    persistence_timeout {{SECONDS}}
{{/PERSISTENT}}{{#SERVER}}
    # node {{NODE_ID}}, managed at {{NAME}}
    real_server {{ADDRESS}} {
        weight {{EFFECTIVE_WEIGHT}}
{{#INHIBIT}}        inhibit_on_failure
{{/INHIBIT}}{{#HTTP_GET}}        HTTP_GET {
            url {
                path {{PATH}}
                status_code {{STATUS}}
            }
            connect_port {{CHECK_PORT}}
            connect_timeout {{TIMEOUT}}
        }
{{/HTTP_GET}}{{#TCP_CHECK}}        TCP_CHECK {
            connect_port {{CHECK_PORT}}
            connect_timeout {{TIMEOUT}}
        }
{{/TCP_CHECK}}{{#MISC_CHECK}}        MISC_CHECK {
            misc_path "{{COMMAND}}"
            misc_timeout {{TIMEOUT}}
        }
{{/MISC_CHECK}}    }
{{/SERVER}}}{{/VIRTUAL}}
