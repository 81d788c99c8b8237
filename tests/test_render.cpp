#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fixtures.h"
#include "lvsctl/error.h"
#include "templates/render.h"

using namespace lvsctl;
namespace fs = std::filesystem;
using lvsctl::testing::golden;
using lvsctl::testing::read_file;

namespace {

const templates::Renderer kRenderer(lvsctl::testing::template_dir());

// Compares with a golden file; LVSCTL_UPDATE_GOLDEN=1 writes it instead (review the diff!).
void check_golden(const std::string& name, const std::string& actual) {
    if (const char* update = std::getenv("LVSCTL_UPDATE_GOLDEN"); update && *update == '1') {
        std::ofstream(golden(name), std::ios::binary) << actual;
    }
    CHECK_MESSAGE(read_file(golden(name)) == actual, "golden file " << name);
}

}  // namespace

TEST_CASE("lvs.cf for the seed article's cluster has the article's layout, line for line") {
    auto c = lvsctl::testing::seed_cluster();
    c.serial = 12;
    const auto text = kRenderer.lvs_cf(c);
    CHECK(text.starts_with("serial_no = 12\n"));
    CHECK(lvsctl::testing::without_serial(text) == read_file(golden("seed-lvs.cf")));
}

TEST_CASE("serial_no follows the cluster's serial") {
    auto c = lvsctl::testing::seed_cluster();
    c.serial = 1;
    const auto one = kRenderer.lvs_cf(c);
    c.serial = 2;
    const auto two = kRenderer.lvs_cf(c);
    CHECK(one != two);
    CHECK(lvsctl::testing::without_serial(one) == lvsctl::testing::without_serial(two));
}

TEST_CASE("golden files") {
    auto dual = lvsctl::testing::dual_stack_cluster();
    dual.serial = 5;
    dual.persistence = 120;
    dual.servers[1].active = false;
    auto seed = lvsctl::testing::seed_cluster();
    seed.serial = 12;
    check_golden("dual-stack-lvs.cf", kRenderer.lvs_cf(dual));
    check_golden("seed-keepalived.conf", kRenderer.keepalived(seed));
    check_golden("dual-stack-keepalived.conf", kRenderer.keepalived(dual));
    // The monitor's settings (docs/monitor.md), checked by keepalived's own parser too.
    auto checked = lvsctl::testing::seed_cluster();
    checked.serial = 3;
    checked.check_interval = 2;
    checked.check_port = 8080;
    checked.check_program = "/usr/lib/lvsctl/check-http --host %h";
    checked.check_use_regex = true;
    checked.quiesce_server = true;
    check_golden("checks-lvs.cf", kRenderer.lvs_cf(checked));
    check_golden("checks-keepalived.conf", kRenderer.keepalived(checked));
    // ha = vrrp (docs/ha.md): the primary with multicast adverts; the backup with nopreempt and
    // unicast adverts; a cluster without website IPs, which gets no instance.
    templates::Renderer::VrrpOptions options{false, false,
                                             "/usr/bin/lvsctl agent vrrp-notify --cluster-id=1"};
    check_golden(
        "vrrp-primary-keepalived.conf",
        kRenderer.keepalived_vrrp(dual, dual.load_balancers[0], dual.website_ips, options));
    options.nopreempt = true;
    options.unicast = true;
    check_golden(
        "vrrp-backup-keepalived.conf",
        kRenderer.keepalived_vrrp(dual, dual.load_balancers[1], dual.website_ips, options));
    check_golden("vrrp-no-ips-keepalived.conf",
                 kRenderer.keepalived_vrrp(dual, dual.load_balancers[0], {}, options));
}

TEST_CASE("keepalived's health check follows send and expect") {
    auto c = lvsctl::testing::seed_cluster();
    SUBCASE("a GET with a status code in expect checks that code") {
        c.check_send = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
        c.check_expect = "HTTP/1.1 200 OK";
        const auto text = kRenderer.keepalived(c);
        CHECK(text.find("path /health\n") != std::string::npos);
        CHECK(text.find("status_code 200\n") != std::string::npos);
        CHECK(text.find("TCP_CHECK") == std::string::npos);
    }
    SUBCASE("no send string: a TCP connect") {
        c.check_send.reset();
        const auto text = kRenderer.keepalived(c);
        CHECK(text.find("HTTP_GET") == std::string::npos);
        CHECK(text.find("TCP_CHECK {\n            connect_port 80\n") != std::string::npos);
    }
    SUBCASE("check_program: a MISC_CHECK with the server's address; quiesce: inhibit") {
        c.check_program = "/usr/lib/lvsctl/check-http --host %h";
        c.quiesce_server = true;
        c.check_port = 8080;
        c.check_interval = 3;
        const auto text = kRenderer.keepalived(c);
        CHECK(text.find("misc_path \"/usr/lib/lvsctl/check-http --host 10.39.84.43\"\n") !=
              std::string::npos);
        CHECK(text.find("misc_path \"/usr/lib/lvsctl/check-http --host 10.39.84.44\"\n") !=
              std::string::npos);
        CHECK(text.find("HTTP_GET") == std::string::npos);
        CHECK(text.find("inhibit_on_failure\n") != std::string::npos);
        CHECK(text.find("delay_loop 3\n") != std::string::npos);
        c.check_program.reset();
        CHECK(kRenderer.keepalived(c).find("connect_port 8080\n") != std::string::npos);
        // A program line that validation would refuse never reaches keepalived.conf.
        c.check_program = "/bin/true\n}\nMISC_CHECK {";
        CHECK_THROWS_AS(kRenderer.keepalived(c), Error);
    }
    SUBCASE("forwarding methods") {
        c.forwarding = Forwarding::tunnel;
        CHECK(kRenderer.keepalived(c).find("lvs_method TUN\n") != std::string::npos);
        CHECK(kRenderer.lvs_cf(c).find("network = tunnel\n") != std::string::npos);
    }
}

TEST_CASE("check_send cannot write keepalived.conf: only a plain request path goes there") {
    auto c = lvsctl::testing::seed_cluster();
    SUBCASE("a send string that would end the block and add a command checker") {
        // The path ends at the first white space: the rest is never written there.
        c.check_send =
            "GET /\n}\n}\nMISC_CHECK {\nmisc_path /bin/touch /tmp/pwned\n} HTTP/1.0\r\n\r\n";
        const auto text = kRenderer.keepalived(c);
        CHECK(text.find("path /\n") != std::string::npos);
        CHECK(text.find("MISC_CHECK") == std::string::npos);
        CHECK(text.find("pwned") == std::string::npos);
        // Without white space, braces are in the path itself: refused, naming the column.
        c.check_send = "GET /}}MISC_CHECK{misc_path=/bin/true} HTTP/1.0\r\n\r\n";
        CHECK_THROWS_WITH_AS(kRenderer.keepalived(c),
                             "h2e_clusters cluster_id=1: column check_send: the request path "
                             "\"/}}MISC_CHECK{misc_path=/bin/true}\" cannot be written in "
                             "keepalived.conf (letters, digits and -._~/?%&=+,;:@$*'() only)",
                             Error);
        // lvs.cf quotes it as nanny reads it: rendering that stays possible.
        CHECK(kRenderer.lvs_cf(c).find("MISC_CHECK") != std::string::npos);
    }
    SUBCASE("braces, quotes and comment characters are refused too") {
        for (const char* send : {"GET /{x} HTTP/1.0", "GET /\"a\" HTTP/1.0", "GET /#x HTTP/1.0",
                                 "GET /!x HTTP/1.0", "GET /\x01 HTTP/1.0"}) {
            c.check_send = send;
            CHECK_THROWS_AS(kRenderer.keepalived(c), Error);
        }
    }
    SUBCASE("an ordinary path, with a query, and HTTP/0.9's bare line") {
        c.check_send = "GET /health?probe=lb&x=1 HTTP/1.0\r\n\r\n";
        CHECK(kRenderer.keepalived(c).find("path /health?probe=lb&x=1\n") != std::string::npos);
        c.check_send = "GET /\r\n";
        CHECK(kRenderer.keepalived(c).find("path /\n") != std::string::npos);
    }
}

TEST_CASE("a provider's edited templates are used, and broken ones are refused") {
    lvsctl::testing::TempDir dir;
    const auto c = lvsctl::testing::seed_cluster();
    const templates::Renderer renderer(dir.path);

    dir.write("lvs.cf.tpl",
              "# edited\n{{#VIRTUAL}}{{VIRTUAL_NAME}}:{{#SERVER}} {{ADDRESS}}"
              "{{/SERVER}}\n{{/VIRTUAL}}");
    CHECK(renderer.lvs_cf(c) == "# edited\nWeb-Cluster-v4: 10.39.84.43 10.39.84.44\n");

    dir.write("lvs.cf.tpl", "{{#VIRTUAL}} never closed");
    try {
        (void)renderer.lvs_cf(c);
        FAIL("a broken template rendered");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::config);
        CHECK(std::string(e.what()) == "template " + (dir.path / "lvs.cf.tpl").string() +
                                           ": not a valid ctemplate template");
    }

    try {
        (void)renderer.keepalived(c);
        FAIL("a missing template rendered");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::config);
        CHECK(std::string(e.what()) ==
              "template " + (dir.path / "keepalived.conf.tpl").string() + ": cannot be read");
    }
}

TEST_CASE("the default template directory is share/lvsctl/templates beside bin/") {
    CHECK(templates::default_directory("/usr/bin/lvsctl") == "/usr/share/lvsctl/templates");
    CHECK(templates::default_directory("/opt/lvsctl/bin/lvsctl") ==
          "/opt/lvsctl/share/lvsctl/templates");
}
