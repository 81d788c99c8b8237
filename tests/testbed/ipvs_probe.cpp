// ipvs_probe: proves that a C++ binary linked against libnl-3/libnl-genl-3 and libstdc++
// can talk generic netlink to the kernel's IPVS family. selftest.sh builds it and runs it
// through uml-run; it is not part of lvsctl.
//
// Prints "IPVS <major>.<minor>.<patch> conn_tab_size=<n> services=<n>" and exits 0, or a
// reason on stderr and exits 1.
#include <linux/ip_vs.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <cerrno>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

namespace {

struct SockDeleter {
    void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct MsgDeleter {
    void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using Sock = std::unique_ptr<nl_sock, SockDeleter>;
using Msg = std::unique_ptr<nl_msg, MsgDeleter>;

struct Info {
    std::uint32_t version = 0;
    std::uint32_t conn_tab_size = 0;
    bool seen = false;
};

int on_info(nl_msg* msg, void* arg) {
    auto* info = static_cast<Info*>(arg);
    nlattr* attrs[IPVS_INFO_ATTR_MAX + 1] = {};
    if (genlmsg_parse(nlmsg_hdr(msg), 0, attrs, IPVS_INFO_ATTR_MAX, nullptr) != 0)
        return NL_SKIP;
    if (attrs[IPVS_INFO_ATTR_VERSION] != nullptr)
        info->version = nla_get_u32(attrs[IPVS_INFO_ATTR_VERSION]);
    if (attrs[IPVS_INFO_ATTR_CONN_TAB_SIZE] != nullptr)
        info->conn_tab_size = nla_get_u32(attrs[IPVS_INFO_ATTR_CONN_TAB_SIZE]);
    info->seen = true;
    return NL_OK;
}

int on_service(nl_msg* /*msg*/, void* arg) {
    ++*static_cast<int*>(arg);
    return NL_OK;
}

int fail(const std::string& what, int err) {
    std::cerr << "ipvs_probe: " << what << ": " << nl_geterror(err) << '\n';
    return 1;
}

// Sends one request on the socket and runs `handler` on every reply until the ack/done.
int request(nl_sock* sock, int family, std::uint8_t cmd, int flags, nl_recvmsg_msg_cb_t handler,
            void* arg) {
    Msg msg{nlmsg_alloc()};
    if (!msg)
        return -NLE_NOMEM;
    if (genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, cmd,
                    IPVS_GENL_VERSION) == nullptr)
        return -NLE_NOMEM;
    if (int err = nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM, handler, arg); err < 0)
        return err;
    if (int err = nl_send_auto(sock, msg.get()); err < 0)
        return err;
    return nl_recvmsgs_default(sock);
}

}  // namespace

int main() {
    Sock sock{nl_socket_alloc()};
    if (!sock)
        return fail("nl_socket_alloc", -NLE_NOMEM);
    // Without auto-ack the GET_INFO reply is the only message; a dump ends with NLMSG_DONE.
    // (With it, the ack of one request would be read as the answer to the next.)
    nl_socket_disable_auto_ack(sock.get());
    if (int err = genl_connect(sock.get()); err < 0)
        return fail("genl_connect", err);
    const int family = genl_ctrl_resolve(sock.get(), IPVS_GENL_NAME);
    if (family < 0)
        return fail("resolving the generic netlink family " IPVS_GENL_NAME, family);

    Info info;
    if (int err = request(sock.get(), family, IPVS_CMD_GET_INFO, 0, on_info, &info); err < 0)
        return fail("IPVS_CMD_GET_INFO", err);
    if (!info.seen)
        return fail("IPVS_CMD_GET_INFO", -NLE_MSG_TOOSHORT);

    int services = 0;
    if (int err =
            request(sock.get(), family, IPVS_CMD_GET_SERVICE, NLM_F_DUMP, on_service, &services);
        err < 0)
        return fail("IPVS_CMD_GET_SERVICE dump", err);

    std::cout << "IPVS " << (info.version >> 16) << '.' << ((info.version >> 8) & 0xff) << '.'
              << (info.version & 0xff) << " conn_tab_size=" << info.conn_tab_size
              << " services=" << services << '\n';
    return 0;
}
