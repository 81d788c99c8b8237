// A host as lvsctl's steps see it over SSH, in memory: it answers the commands the steps send
// the way a Linux host does (ip's "Command failed -:N" lines and exit status 1 for refused
// batch lines, cat's exit 1 for a missing file, 127 for a missing program), and counts them.
#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "lvsctl/error.h"
#include "lvsctl/manage/transport.h"
#include "lvsctl/vip_plan.h"

namespace lvsctl::testing {

// Every command run on any fake host, in order: "10.39.94.43: ip".
struct Journal {
    std::mutex mutex;
    std::vector<std::string> entries;
};

struct FakeHostState {
    std::vector<InterfaceAddress> lo;
    std::map<std::string, int> sysctls{{"net.ipv4.conf.all.arp_ignore", 0},
                                       {"net.ipv4.conf.all.arp_announce", 0}};
    std::map<std::string, std::string> files;
    std::vector<std::vector<std::string>> commands;  // every argv run, in order
    std::string agent_show;                          // what `lvsctl agent show` prints
    std::string agent_answer;                        // what `lvsctl agent apply` prints
    int agent_status = 0;
    std::string agent_input;
    bool lost = false;  // the connection drops at the next command
    // A command whose name (argv[0], the script name of `sh -c`, or `agent VERB`) is this does
    // its work and then never answers: the session times out (ExitCode::unreachable).
    std::string stall_on;
    // A command of this name throws a std::exception that is not an lvsctl Error.
    std::string throw_on;
    std::chrono::seconds extra_time{0};      // what the last run_for_longer asked for
    std::set<std::string> programs{"true"};  // other programs there, which succeed
};

class FakeHost : public Transport {
  public:
    explicit FakeHost(FakeHostState& state, Journal* journal = nullptr, std::string name = {})
        : s_(state), journal_(journal), name_(std::move(name)) {}

    ProcessResult run_for_longer(std::chrono::seconds extra, const std::vector<std::string>& argv,
                                 const std::string& input) override {
        s_.extra_time = extra;
        return run(argv, input);
    }

    ProcessResult run(const std::vector<std::string>& argv, const std::string& input) override {
        if (s_.lost) {
            throw Error(ExitCode::unreachable, "ssh root@fake: connection lost");
        }
        s_.commands.push_back(argv);
        const auto name = argv.size() > 2 && argv[1] == "agent" ? "agent " + argv[2]
                          : argv.size() > 3 && argv[0] == "sh"  ? argv[3]
                                                                : argv[0];
        if (journal_ != nullptr) {
            const std::lock_guard lock(journal_->mutex);
            journal_->entries.push_back(name_ + ": " + name);
        }
        if (name == s_.throw_on) {
            throw std::out_of_range("vector::_M_range_check: __n (which is 3) >= this->size()");
        }
        auto result = execute(argv, input);
        if (name == s_.stall_on) {
            s_.lost = true;
            throw Error(ExitCode::unreachable,
                        "ssh root@fake:22: " + argv[0] + " did not finish within 30 s");
        }
        return result;
    }

  private:
    ProcessResult execute(const std::vector<std::string>& argv, const std::string& input) {
        if (argv.size() >= 5 && argv[0] == "sh" && argv[3] == "lvsctl-read") {
            return read(argv[4]);
        }
        if (argv.size() >= 6 && argv[0] == "sh" && argv[3] == "lvsctl-upload") {
            s_.files[argv[4]] = input;
            return {0, "", ""};
        }
        if (argv.size() == 9 && argv[0] == "sh" && argv[3] == "lvsctl-record-batch") {
            const auto n = std::stoul(argv[7]);
            s_.files[argv[4]] = input.substr(0, n);
            return batch(input.substr(n));
        }
        if (argv.size() == 7 && argv[0] == "sh" && argv[3] == "lvsctl-record-append-batch") {
            const auto n = std::stoul(argv[5]);
            s_.files[argv[4]] += input.substr(0, n);
            return batch(input.substr(n));
        }
        if (argv == std::vector<std::string>{"ip", "-force", "-batch", "-"}) {
            return batch(input);
        }
        if (!argv.empty() && argv[0] == "sysctl") {
            for (std::size_t i = 3; i < argv.size(); ++i) {
                const auto eq = argv[i].find('=');
                s_.sysctls[argv[i].substr(0, eq)] = std::stoi(argv[i].substr(eq + 1));
            }
            return {0, "", ""};
        }
        if (argv.size() == 3 && argv[0] == "cat") {
            const auto it = s_.files.find(argv[2]);
            if (it == s_.files.end()) {
                return {1, "", "cat: " + argv[2] + ": No such file or directory\n"};
            }
            return {0, it->second, ""};
        }
        if (argv.size() >= 3 && argv[1] == "agent" && argv[2] == "show") {
            return {s_.agent_show.empty() ? 127 : 0, s_.agent_show, ""};
        }
        if (argv.size() == 3 && argv[1] == "agent" && argv[2] == "apply") {
            s_.agent_input = input;
            return {s_.agent_status, s_.agent_answer, ""};
        }
        if (argv.size() == 4 && argv[0] == "rm" && argv[1] == "-f") {
            s_.files.erase(argv[3]);
            return {0, "", ""};
        }
        if (!argv.empty() && s_.programs.contains(argv[0])) {
            return {0, "", ""};
        }
        return {127, "", "sh: 1: " + argv[0] + ": not found\n"};
    }

    ProcessResult read(const std::string& record) {
        std::string out;
        for (const auto& a : s_.lo) {
            out += "1: lo    " + std::string(a.address.is_v4() ? "inet " : "inet6 ") +
                   a.address.str() + "/" + std::to_string(a.prefix) +
                   " scope global lo\\       valid_lft forever preferred_lft forever\n";
        }
        out += "@@lvsctl-sysctl\n" + std::to_string(s_.sysctls["net.ipv4.conf.all.arp_ignore"]) +
               "\n" + std::to_string(s_.sysctls["net.ipv4.conf.all.arp_announce"]) + "\n";
        if (const auto it = s_.files.find(record); it != s_.files.end()) {
            out += it->second;
        }
        return {0, out, ""};
    }

    ProcessResult batch(const std::string& input) {
        ProcessResult r{0, "", ""};
        std::istringstream in(input);
        int n = 0;
        for (std::string line; std::getline(in, line);) {
            ++n;
            std::istringstream words(line);
            std::string object, verb, spec, dev, name;
            words >> object >> verb >> spec >> dev >> name;
            const auto slash = spec.find('/');
            const InterfaceAddress a{*IpAddress::parse(spec.substr(0, slash)),
                                     std::stoi(spec.substr(slash + 1))};
            const auto it = std::find_if(s_.lo.begin(), s_.lo.end(), [&](const auto& x) {
                return x.address == a.address && x.prefix == a.prefix;
            });
            if (verb == "add" && it == s_.lo.end()) {
                s_.lo.push_back(a);
            } else if (verb == "del" && it != s_.lo.end()) {
                s_.lo.erase(it);
            } else {
                r.status = 1;
                r.err += verb == "add" ? "Error: ipv4: Address already assigned.\n"
                                       : "Error: ipv4: Address not found.\n";
                r.err += "Command failed -:" + std::to_string(n) + "\n";
            }
        }
        return r;
    }

    FakeHostState& s_;
    Journal* journal_ = nullptr;
    std::string name_;
};

// Hands out FakeHosts by address; an address with no state is unreachable.
class FakeConnector : public Connector {
  public:
    std::map<IpAddress, FakeHostState> hosts;
    std::map<IpAddress, ExitCode> refuse;  // connect fails with this code
    Journal journal;

    // How often each address was connected to (refused and unreachable ones too).
    int connections(const IpAddress& address) {
        const std::lock_guard lock(mutex_);
        return connects_[address];
    }

    std::unique_ptr<Transport> connect(const IpAddress& address, std::uint16_t) override {
        {
            const std::lock_guard lock(mutex_);
            ++connects_[address];
        }
        if (const auto r = refuse.find(address); r != refuse.end()) {
            throw Error(r->second, "ssh root@" + address.str() + ":22: refused");
        }
        const auto it = hosts.find(address);
        if (it == hosts.end()) {
            throw Error(ExitCode::unreachable,
                        "ssh root@" + address.str() + ":22: connect: Connection refused");
        }
        return std::make_unique<FakeHost>(it->second, &journal, address.str());
    }

  private:
    std::mutex mutex_;
    std::map<IpAddress, int> connects_;
};

}  // namespace lvsctl::testing
