-- The seed article's cluster on the kernel test bed's hosts (tests/ssh/sshd-hosts): LB host 1
-- with the website IPs on its eth0, web servers hosts 2 and 3 (node ids 43 and 44, weight 32),
-- and one website IP, psql's variable :vip (psql -v vip=10.39.84.131 -f seed_cluster.sql).
insert into h2e_clusters (cluster_id, name, ports) values (1, 'Web-Cluster', '{80}');
insert into h2e_load_balancers (cluster_id, role, mgmt_address, vip_interface)
    values (1, 'primary', '10.200.1.1', 'eth0');
insert into apache_h2e_nodes (node_id, cluster_id, mgmt_address, address, weight)
    values (43, 1, '10.200.1.2', '10.200.1.2', 32), (44, 1, '10.200.1.3', '10.200.1.3', 32);
insert into h2e_cluster_ips (cluster_id, address) values (1, :'vip');
