#!/usr/bin/env python3
"""DNS benchmark: weft's DNS server against dnsmasq, NSD and a do-nothing responder, side by side
in one run on loopback (run through bench/run-dns-bench.sh, which installs and builds).

dnsperf saturates before fast servers do on a 2-core machine, so servers are ranked by server CPU
time per answered query (server pinned to core 0, dnsperf to core 1, CPU time of the server's
whole process tree from /proc/PID/schedstat), relative to the do-nothing responder measured in
the same run. Loads: hits (api.internal A), NXDOMAIN (unknown names under internal.), NODATA
(api.internal AAAA), forwarded (names of an upstream dnsmasq; NSD is authoritative-only).
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gossip_bench import free_ports  # noqa: E402  (one port picker for every bench)


def free_port():
    return free_ports(1)[0]


def tree_cpu_ns(pid):
    """CPU time (ns) of a process and all its descendants."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except OSError:
            pass
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
        stack.extend(children.get(p, []))
    return total


def wait_answers(port, name, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+time=1", "+tries=1", "+short", name],
                           capture_output=True, text=True)
        if r.stdout.strip():
            return True
        time.sleep(0.2)
    return False


def dnsperf(port, queries_file, seconds):
    r = subprocess.run(["taskset", "-c", "1", "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", queries_file,
                        "-l", str(seconds), "-c", "4", "-q", "200"], capture_output=True, text=True)
    m = re.search(r"Queries completed:\s+(\d+)", r.stdout)
    q = re.search(r"Queries per second:\s+([\d.]+)", r.stdout)
    if not m:
        sys.exit("dnsperf failed:\n" + r.stdout + r.stderr)
    return int(m.group(1)), float(q.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weft", default="build/weft")
    ap.add_argument("--null", required=True, help="the do-nothing responder binary")
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="weft-dns-bench-")
    procs = []

    def start(cmd, name):
        log = open(os.path.join(work, name + ".log"), "w")
        p = subprocess.Popen(["taskset", "-c", "0"] + cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(p)
        return p

    try:
        # Upstream for forwarded names (not measured), on core 1 with dnsperf.
        up = free_port()
        procs.append(subprocess.Popen(["taskset", "-c", "1", "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
                                       "--no-resolv", "--no-hosts", "--pid-file=", "--bind-interfaces",
                                       "--listen-address=127.0.0.1", f"--port={up}", "--address=/fwd.test/192.0.2.9",
                                       "--cache-size=0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))
        servers = {}
        # The do-nothing responder.
        port = free_port()
        servers["null responder"] = (start([args.null, "127.0.0.1", str(port)], "null"), port, True)
        # weft: one founder agent, three instances of api.
        port, control = free_port(), free_port()
        d = os.path.join(work, "weft")
        subprocess.run([args.weft, "init", "--data-dir", d, "--name", "m0", "--advertise", f"127.0.0.1:{control}"],
                       check=True, capture_output=True)
        p = start([args.weft, "agent", "--data-dir", d, "--bind", f"127.0.0.1:{control}", "--wg-backend", "none",
                   "--dns-listen", f"127.0.0.1:{port}", "--dns-upstream", f"127.0.0.1:{up}"], "weft")
        for i in range(2, 5):
            for _ in range(100):
                r = subprocess.run([args.weft, "service", "add", "api", f"10.210.0.{i}", "--data-dir", d], capture_output=True)
                if r.returncode == 0:
                    break
                time.sleep(0.1)
        servers["weft"] = (p, port, True)
        # dnsmasq, the same names; forwarding with its cache off like weft (which has none).
        port = free_port()
        p = start(["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--pid-file=",
                   "--bind-interfaces", "--listen-address=127.0.0.1", f"--port={port}", "--local=/internal/",
                   "--address=/api.internal/10.210.0.2", f"--server=/fwd.test/127.0.0.1#{up}", "--cache-size=0"], "dnsmasq")
        servers["dnsmasq"] = (p, port, True)
        # NSD, authoritative for internal. (no forwarding), rate limiting off.
        port = free_port()
        z = os.path.join(work, "nsd")
        os.makedirs(z)
        with open(os.path.join(z, "internal.zone"), "w") as f:
            f.write("$ORIGIN internal.\n$TTL 5\n@ IN SOA ns.internal. hostmaster.internal. 1 3600 600 86400 5\n"
                    "@ IN NS ns.internal.\nns IN A 10.210.0.1\napi IN A 10.210.0.2\napi IN A 10.210.0.3\napi IN A 10.210.0.4\n")
        with open(os.path.join(z, "nsd.conf"), "w") as f:
            f.write(f'server:\n  ip-address: 127.0.0.1@{port}\n  port: {port}\n  username: ""\n  chroot: ""\n'
                    f'  zonesdir: "{z}"\n  pidfile: "{z}/nsd.pid"\n  database: ""\n  xfrdfile: "{z}/xfrd.state"\n'
                    f'  zonelistfile: "{z}/zone.list"\n  logfile: "{z}/nsd.log"\n  rrl-ratelimit: 0\n  server-count: 1\n'
                    f'  verbosity: 0\nremote-control:\n  control-enable: no\nzone:\n  name: internal\n  zonefile: internal.zone\n')
        servers["NSD"] = (start(["nsd", "-d", "-c", os.path.join(z, "nsd.conf")], "nsd"), port, False)

        loads = {"hits": ["api.internal A"], "NXDOMAIN": [f"n{i}.internal A" for i in range(10000)],
                 "NODATA": ["api.internal AAAA"], "forwarded": [f"w{i}.fwd.test A" for i in range(10000)]}
        files = {}
        for load, lines in loads.items():
            files[load] = os.path.join(work, load + ".txt")
            with open(files[load], "w") as f:
                f.write("\n".join(lines) + "\n")
        for name, (p, port, _) in servers.items():
            if not wait_answers(port, "api.internal"):
                sys.exit(f"{name} does not answer on {port}; logs in {work}")
        results = {}
        for load in loads:
            for name, (p, port, forwards) in servers.items():
                if load == "forwarded" and not forwards:
                    continue
                before = tree_cpu_ns(p.pid)
                answered, qps = dnsperf(port, files[load], args.seconds)
                cpu = tree_cpu_ns(p.pid) - before
                results[(load, name)] = (cpu / max(answered, 1), qps)
                print(f"{load:10} {name:15} {answered:>9} answered, {qps:>9.0f} q/s, {cpu / max(answered, 1):7.0f} ns CPU/query",
                      flush=True)
        print("\n| load | server | q/s (dnsperf-bound) | server CPU ns/query | x do-nothing responder |")
        print("|---|---|---|---|---|")
        for load in loads:
            base = results[(load, "null responder")][0]
            for name in servers:
                if (load, name) in results:
                    ns, qps = results[(load, name)]
                    print(f"| {load} | {name} | {qps:.0f} | {ns:.0f} | {ns / base:.2f} |")
    finally:
        for p in procs:  # only what this script started, by PID (each in its own session)
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
