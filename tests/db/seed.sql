-- The seed article's cluster: two web servers, weight 32, lblc, fwmark 100, one website IP.
insert into h2e_clusters (cluster_id, name, ports, load_monitor)
    values (1, 'Web-Cluster', '{80}', '/usr/sbin/h2e_get_cluster_load.sh');
insert into h2e_load_balancers (cluster_id, role, mgmt_address) values (1, 'primary', '10.39.94.41');
insert into apache_h2e_nodes (node_id, cluster_id, mgmt_address, address, weight)
    values (43, 1, '10.39.94.43', '10.39.84.43', 32),
           (44, 1, '10.39.94.44', '10.39.84.44', 32);
insert into h2e_cluster_ips (cluster_id, address) values (1, '10.39.84.131');
