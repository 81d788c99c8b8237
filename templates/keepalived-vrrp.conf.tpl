{{!
  keepalived.conf for a cluster with ha = vrrp (docs/ha.md), rendered by lvsctl for each of its two
  LBs (ctemplate syntax; whitespace is kept). VRRP only: IPVS and the firewall marks are the
  lvsctl agent's, identical on both LBs, so there is no virtual_server block here.
  Variables: NAME, CLUSTER_ID, SERIAL, ROLE (primary|backup), INSTANCE (the vrrp_instance's name),
  INTERFACE (the LB's vip_interface), ROUTER_ID, ADVERT_INT, STATE (MASTER|BACKUP), PRIORITY,
  SELF and PEER (this LB's and the other LB's mgmt_address), NOTIFY (the command keepalived runs
  on every state change; it records the state for `lvsctl status`).
  Sections: INSTANCE (absent while the cluster has no website IP: keepalived wants at least one),
  NOPREEMPT (--vrrp-nopreempt: both LBs start as BACKUP, a returning primary does not take over),
  UNICAST (--vrrp-unicast: adverts to the peer instead of multicast), FIRST_IP and WEBSITE_IP
  {ADDRESS, PREFIX}: the first website IP goes in the adverts, the others (thousands fit) in
  virtual_ipaddress_excluded.
}}# keepalived.conf of cluster {{NAME}} ({{ROLE}} LB), serial {{SERIAL}}, rendered by lvsctl.
# VRRP only: lvsctl's agent programs IPVS and the firewall marks.
global_defs {
    router_id lvsctl-{{CLUSTER_ID}}-{{ROLE}}
    script_user root
    enable_script_security
{{#INSTANCE}}    # The IPVS connection sync daemon follows the instance: master while MASTER, backup while
    # BACKUP, so that established connections survive a failover.
    lvs_sync_daemon {{INTERFACE}} {{INSTANCE_NAME}} id {{ROUTER_ID}}
{{/INSTANCE}}}
{{#INSTANCE}}
vrrp_instance {{INSTANCE_NAME}} {
    state {{STATE}}
    interface {{INTERFACE}}
    virtual_router_id {{ROUTER_ID}}
    priority {{PRIORITY}}
    advert_int {{ADVERT_INT}}
{{#NOPREEMPT}}    nopreempt
{{/NOPREEMPT}}{{#UNICAST}}    unicast_src_ip {{SELF}}
    unicast_peer {
        {{PEER}}
    }
{{/UNICAST}}    notify "{{NOTIFY}}"
    virtual_ipaddress {
{{#FIRST_IP}}        {{ADDRESS}}/{{PREFIX}} dev {{INTERFACE}}
{{/FIRST_IP}}    }
    virtual_ipaddress_excluded {
{{#WEBSITE_IP}}        {{ADDRESS}}/{{PREFIX}} dev {{INTERFACE}}
{{/WEBSITE_IP}}    }
}
{{/INSTANCE}}