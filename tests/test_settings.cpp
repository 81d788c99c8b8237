#include <doctest/doctest.h>

#include "lvsctl/error.h"
#include "lvsctl/settings.h"

using namespace lvsctl;

namespace {
std::string config_error(const std::string& text) {
    try {
        Settings s;
        for (const auto& e : parse_config(text, "/etc/x.conf")) {
            apply_config_entry(s, e, "/etc/x.conf");
        }
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::config);
        return e.what();
    }
    FAIL("accepted: " << text);
    return {};
}
}  // namespace

TEST_CASE("a config file sets the global options") {
    Settings s;
    const auto entries = parse_config(
        "# lvsctl\n\ndb = host=/run/postgresql dbname=poa\nssh-user = lvs\n; other comment\n"
        "known-hosts = \"/etc/lvsctl/known hosts\"\ntimeout = 5\nparallel = 64\njson = true\n",
        "x");
    for (const auto& e : entries) {
        apply_config_entry(s, e, "x");
    }
    CHECK(s.db == std::optional<std::string>("host=/run/postgresql dbname=poa"));
    CHECK(s.ssh_user == "lvs");
    CHECK(s.known_hosts == "/etc/lvsctl/known hosts");
    CHECK(s.timeout == 5);
    CHECK(s.parallel == 64);
    CHECK(s.json);
    CHECK(s.agent == "lvsctl");  // untouched default
    CHECK(entries[0].line == 3);
}

TEST_CASE("a bad config file names the line and is exit 78") {
    CHECK(config_error("colour = blue\n") == "config /etc/x.conf line 1: unknown key \"colour\"");
    CHECK(config_error("\ntimeout\n") == "config /etc/x.conf line 2: expected `key = value`");
    CHECK(config_error("timeout = soon\n") ==
          "config /etc/x.conf line 1: timeout = \"soon\": expected a whole number from 1 to 86400");
    CHECK(config_error("parallel = 0\n") ==
          "config /etc/x.conf line 1: parallel = \"0\": expected a whole number from 1 to 4096");
    CHECK(config_error("[global]\n") ==
          "config /etc/x.conf line 1: sections are not used; write `key = value` lines only");
    CHECK(config_error("ssh-user = a\nssh-user = b\n") ==
          "config /etc/x.conf line 2: ssh-user is set twice");
    CHECK(config_error("agent =\n") == "config /etc/x.conf line 1: agent has no value");
    CHECK(config_error("json = maybe\n") ==
          "config /etc/x.conf line 1: json = \"maybe\": expected true or false");
}

TEST_CASE("a password in the db setting never appears in an error") {
    const auto message = config_error("db = password=hunter2 host=x\ndb = password=hunter2\n");
    CHECK(message.find("hunter2") == std::string::npos);
}

TEST_CASE("a password in a connection string is found, in either form") {
    CHECK(has_password("host=db user=lvsctl password=secret"));
    CHECK(has_password("host=db password = 'it''s \\' x' dbname=poa"));
    CHECK(has_password("postgresql://lvsctl:secret@db/poa"));
    CHECK(has_password("postgres://db/poa?sslmode=require&password=secret"));
    CHECK_FALSE(has_password("host=db user=lvsctl dbname=poa"));
    CHECK_FALSE(has_password("host=db application_name='password=x'"));
    CHECK_FALSE(has_password("postgresql://lvsctl@db/poa?passfile=/etc/lvsctl/pgpass"));
    CHECK_FALSE(has_password(""));
}
