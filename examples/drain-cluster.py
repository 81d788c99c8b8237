#!/usr/bin/python3
"""drain-cluster: take every web server of an lvsctl cluster out of service one at a time, as a
provider's rolling maintenance would (a kernel update, an Apache restart), through the Python
module lvsctl (docs/library.md, "Python").

For each web server of the cluster, in node_id order:
  1. its weight is set to 0 (`lvsctl server set --weight 0`: the LBs stop sending it new
     connections; the ones it has go on);
  2. the LBs are read (`lvsctl status --json`) every --interval seconds until none has an active
     connection to it, or --timeout passes;
  3. --run's command, if given, runs (with LVSCTL_CLUSTER_ID, LVSCTL_NODE_ID, LVSCTL_ADDRESS and
     LVSCTL_MGMT_ADDRESS in its environment);
  4. its weight is set back, unless --leave-drained.
A server whose weight is already 0, or that is inactive, is skipped.

Exit codes: 0 done; 1 --run's command failed (the script stops; that server stays at weight 0);
3 a server still had active connections after --timeout (the script stops; its weight is set
back unless --leave-drained); 64 bad arguments; otherwise the exit code of lvsctl's error or of
a hook whose update failed (docs/exit-codes.md: 65 unknown cluster, 69 no database, 75 the
cluster is locked, ...).
"""
import argparse
import ipaddress
import os
import subprocess
import sys
import time

import lvsctl

PROGRAM = "drain-cluster"


class Stop(Exception):
    """Ends the script: a message for stderr and an exit code."""

    def __init__(self, message, exit_code):
        super().__init__(message)
        self.exit_code = exit_code


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog=PROGRAM, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--config", metavar="PATH",
                        help="lvsctl's config file (default /etc/lvsctl/lvsctl.conf if it "
                             "exists); LVSCTL_DB overrides its db, as for lvsctl")
    parser.add_argument("--cluster-id", type=int, required=True, metavar="N")
    parser.add_argument("--node-id", type=int, action="append", metavar="ID",
                        help="drain only this server (repeatable; default: every one)")
    parser.add_argument("--timeout", type=float, default=300, metavar="S",
                        help="how long a server's active connections may take to end "
                             "(default 300)")
    parser.add_argument("--interval", type=float, default=2, metavar="S",
                        help="seconds between two reads of the LBs (default 2)")
    parser.add_argument("--leave-drained", action="store_true",
                        help="leave each server at weight 0 instead of setting its weight back")
    parser.add_argument("--run", metavar="COMMAND",
                        help="a shell command to run while each server is drained")
    parser.add_argument("--lock-timeout", type=int, metavar="S",
                        help="seconds each weight change waits for the cluster's lock")
    # argparse exits 2 on bad arguments; lvsctl's convention is 64 (EX_USAGE).
    parser.error = lambda message: (parser.print_usage(sys.stderr),
                                    print(f"{PROGRAM}: {message}", file=sys.stderr),
                                    sys.exit(64))
    args = parser.parse_args(argv)
    if args.timeout < 0 or args.interval <= 0:
        parser.error("--timeout must be >= 0 and --interval > 0")
    return args


def say(line):
    print(line, flush=True)


def addresses(server):
    """The server's real-server addresses, normalized (IPv6 has several spellings)."""
    return {str(ipaddress.ip_address(a)) for a in (server.address, server.address_v6) if a}


def active_connections(connection, cluster_id, server):
    """The active connections of `server` summed over the cluster's LBs, and the LBs that could
    not be read (their count is unknown), from status's --json document (docs/commands.md)."""
    wanted = addresses(server)
    total, unread = 0, []
    for host in connection.status(cluster_id).json()["hosts"]:
        if not host["host"].startswith("lb "):
            continue
        if "error" in host:
            unread.append(f"{host['host']} ({host['error']})")
            continue
        for service in host.get("services", []):
            for destination in service.get("destinations", []):
                if str(ipaddress.ip_address(destination["address"])) in wanted:
                    total += destination.get("active_conns", 0)
    return total, unread


def set_weight(connection, cluster_id, server, weight):
    hook = connection.set_server(cluster_id, server.node_id, weight=weight)
    if hook.exit_code != 0:
        errors = "; ".join(hook.update.errors if hook.update else []) or "see lvsctl's run log"
        raise Stop(f"node {server.node_id}: weight {weight} is in the database, but updating the "
                   f"LBs failed (exit {hook.exit_code}): {errors}", hook.exit_code)


def wait_drained(connection, args, server):
    """Returns when no LB has an active connection to `server`; Stop(3) after --timeout."""
    start = time.monotonic()
    while True:
        total, unread = active_connections(connection, args.cluster_id, server)
        waited = time.monotonic() - start
        if total == 0 and not unread:
            say(f"node {server.node_id}: no active connection after {waited:.0f} s")
            return
        if waited >= args.timeout:
            why = f"{total} active connection(s)" + (
                f"; not read: {', '.join(unread)}" if unread else "")
            raise Stop(f"node {server.node_id}: still {why} after {args.timeout:g} s", 3)
        say(f"node {server.node_id}: waiting, {total} active connection(s)"
            + (f", {len(unread)} LB(s) not read" if unread else ""))
        time.sleep(args.interval)


def run_command(args, server):
    env = dict(os.environ, LVSCTL_CLUSTER_ID=str(args.cluster_id),
               LVSCTL_NODE_ID=str(server.node_id), LVSCTL_ADDRESS=server.address,
               LVSCTL_MGMT_ADDRESS=server.mgmt_address)
    status = subprocess.run(args.run, shell=True, env=env, check=False).returncode
    if status != 0:
        raise Stop(f"node {server.node_id}: --run exited {status}; the server stays at weight 0",
                   1)


def drain(connection, args):
    servers = sorted(connection.servers(args.cluster_id), key=lambda s: s.node_id)
    if args.node_id:
        missing = set(args.node_id) - {s.node_id for s in servers}
        if missing:
            raise Stop(f"cluster {args.cluster_id} has no server with node_id "
                       f"{', '.join(map(str, sorted(missing)))}", 65)
        servers = [s for s in servers if s.node_id in args.node_id]
    for server in servers:
        if not server.active or server.weight == 0:
            say(f"node {server.node_id} ({server.address}): out of service already, skipped")
            continue
        say(f"node {server.node_id} ({server.address}): weight {server.weight} -> 0")
        set_weight(connection, args.cluster_id, server, 0)
        try:
            wait_drained(connection, args, server)
            if args.run:
                run_command(args, server)
        except Stop as stop:
            if stop.exit_code == 3 and not args.leave_drained:
                set_weight(connection, args.cluster_id, server, server.weight)
                stop.args = (f"{stop.args[0]}; its weight is {server.weight} again",)
            raise
        except KeyboardInterrupt:
            raise Stop(f"interrupted: node {server.node_id} is at weight 0 (lvsctl server set "
                       f"--cluster-id={args.cluster_id} --node-id={server.node_id} "
                       f"--weight={server.weight} restores it)", 130)
        if args.leave_drained:
            say(f"node {server.node_id}: left at weight 0")
        else:
            set_weight(connection, args.cluster_id, server, server.weight)
            say(f"node {server.node_id}: weight 0 -> {server.weight}")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        options = lvsctl.load_options(args.config or "/etc/lvsctl/lvsctl.conf",
                                      must_exist=args.config is not None)
        if args.lock_timeout is not None:
            options.lock_timeout = args.lock_timeout
        with lvsctl.connect(options=options) as connection:
            drain(connection, args)
    except lvsctl.Error as e:
        print(f"{PROGRAM}: {e}", file=sys.stderr)
        return e.exit_code
    except Stop as e:
        print(f"{PROGRAM}: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
