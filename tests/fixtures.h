// Clusters used across the unit tests.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "lvsctl/model.h"

namespace lvsctl::testing {

inline IpAddress ip(const char* text) {
    auto parsed = IpAddress::parse(text);
    if (!parsed) {
        throw std::invalid_argument(std::string("bad test address ") + text);
    }
    return *parsed;
}

// The cluster of the seed article: two servers, weight 32, lblc, fwmark 100, port 80.
inline Cluster seed_cluster() {
    Cluster c;
    c.id = 1;
    c.name = "Web-Cluster";
    c.ports = {80};
    c.load_monitor = "/usr/sbin/h2e_get_cluster_load.sh";
    c.load_balancers.push_back({Role::primary, ip("10.39.94.41"), 22, "eth1"});
    c.servers.push_back(
        {43, ip("10.39.94.43"), ip("10.39.84.43"), std::nullopt, 22, 32, true, std::nullopt, {}});
    c.servers.push_back(
        {44, ip("10.39.94.44"), ip("10.39.84.44"), std::nullopt, 22, 32, true, std::nullopt, {}});
    c.website_ips.push_back(ip("10.39.84.131"));
    return c;
}

// The seed cluster with a backup LB, IPv6 on both servers and an IPv6 website IP.
inline Cluster dual_stack_cluster() {
    auto c = seed_cluster();
    c.load_balancers.push_back({Role::backup, ip("10.39.94.42"), 22, "eth1"});
    c.servers[0].address_v6 = ip("2001:db8:84::43");
    c.servers[1].address_v6 = ip("2001:db8:84::44");
    c.website_ips.push_back(ip("2001:db8:84::131"));
    return c;
}

inline std::filesystem::path source_dir() {
    return LVSCTL_SOURCE_DIR;
}
inline std::filesystem::path golden(const std::string& name) {
    return source_dir() / "tests" / "golden" / name;
}
inline std::filesystem::path template_dir() {
    return source_dir() / "templates";
}

inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path.string());
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Every line but `serial_no = N`, which changes with every configuration.
inline std::string without_serial(const std::string& text) {
    std::istringstream in(text);
    std::string out;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("serial_no = ", 0) != 0) {
            out += line + "\n";
        }
    }
    return out;
}

// A temporary directory, removed with everything in it when the test ends.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "lvsctl-test-XXXXXX").string();
        path = ::mkdtemp(pattern.data());
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() { std::filesystem::remove_all(path); }
    std::filesystem::path write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name, std::ios::binary) << text;
        return path / name;
    }
};

// Every field of a cluster, one per line: two clusters are the same cluster when these are equal
// (and a failing CHECK shows where they differ).
inline std::string describe(const Cluster& c) {
    std::string out;
    auto line = [&](const std::string& key, const std::string& value) {
        out += key + " = " + value + "\n";
    };
    auto opt = [](const std::optional<std::string>& v) { return v ? "\"" + *v + "\"" : "null"; };
    line("name", c.name);
    line("backend", c.backend);
    line("scheduler", c.scheduler);
    line("fwmark", std::to_string(c.fwmark));
    line("protocol", c.protocol);
    std::string ports;
    for (auto p : c.ports) {
        ports += std::to_string(p) + " ";
    }
    line("ports", ports);
    line("forwarding", std::string(to_string(c.forwarding)));
    line("persistence", std::to_string(c.persistence));
    line("check_send", opt(c.check_send));
    line("check_expect", opt(c.check_expect));
    line("check_timeout", std::to_string(c.check_timeout));
    line("check_interval", std::to_string(c.check_interval));
    line("check_reentry", std::to_string(c.check_reentry));
    line("check_port", c.check_port ? std::to_string(*c.check_port) : "null");
    line("check_use_regex", std::to_string(c.check_use_regex));
    line("check_program", opt(c.check_program));
    line("load_monitor", opt(c.load_monitor));
    line("quiesce_server", std::to_string(c.quiesce_server));
    line("ha", std::string(to_string(c.ha)));
    for (const auto& lb : c.load_balancers) {
        line("lb " + std::string(to_string(lb.role)),
             lb.mgmt_address.str() + " " + lb.vip_interface);
    }
    for (const auto& s : c.servers) {
        std::string settings;
        for (const auto& kv : s.lvscf_settings) {
            settings += " " + kv.key + "=" + kv.value;
        }
        line("server " + std::to_string(s.node_id),
             s.mgmt_address.str() + " " + s.address.str() + " " +
                 (s.address_v6 ? s.address_v6->str() : "-") + " w" + std::to_string(s.weight) +
                 (s.active ? " active" : " inactive") + " name " + opt(s.lvscf_name) + settings);
    }
    for (const auto& ip : c.website_ips) {
        line("website_ip", ip.str());
    }
    for (const auto& kv : c.lvscf.global) {
        line("lvscf global " + kv.key, kv.value);
    }
    for (const auto& kv : c.lvscf.virtual_settings) {
        line("lvscf virtual " + kv.key, kv.value);
    }
    line("lvscf virtual_name", opt(c.lvscf.virtual_name));
    line("lvscf virtual_name_v6", opt(c.lvscf.virtual_name_v6));
    line("lvscf address_device", opt(c.lvscf.address_device));
    line("lvscf by_address", std::to_string(c.lvscf.by_address));
    line("lvscf inactive", std::to_string(c.lvscf.inactive));
    line("lvscf ipv6_virtual", std::to_string(c.lvscf.ipv6_virtual));
    return out;
}

}  // namespace lvsctl::testing
