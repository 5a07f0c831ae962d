#!/usr/bin/env python3
"""Gossip benchmark: weft agents side by side with HashiCorp memberlist (LAN defaults), both as
separate processes on 127.0.0.1, measured the same way in the same run from the events each
node logs with millisecond timestamps.

  join   N nodes all joining through one seed at once: time until every node knows all N
  kill   kill -9 of one node: time until every other node reports it dead
  leave  graceful leave of one node: time until every other node reports it left
  rest   control traffic per node at rest: bytes of IP packets sent from the nodes' ports per
         second (iptables counters, headers included, UDP and TCP), alike for both

Usage: bench/gossip_bench.py --weft build/weft --memberlist DRIVER --nodes 12 --trials 10
Sends traffic only to 127.0.0.1; stops every process it started, by PID.
"""
import argparse, json, os, random, re, signal, socket, statistics, subprocess, sys, tempfile, time

WEFT_EVENT = re.compile(r"^\[(\d+-\d+-\d+ \d+:\d+:\d+\.\d+)\] \[\w+\] member (\S+) (?:\([0-9a-f]+\) )?(joined|alive|suspect|dead|left)")
ML_EVENT = re.compile(r"^(\d+) (JOIN|DEAD|LEFT) (\S+)")


def free_ports(n):
    ports = set()
    while len(ports) < n:
        p = random.randint(20000, 32000)  # below the ephemeral range the agents connect from
        ok = True
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                ok = False
            s.close()
        if ok:
            ports.add(p)
    return sorted(ports)


def weft_ts(text):
    t = time.strptime(text[:19], "%Y-%m-%d %H:%M:%S")
    return time.mktime(t) + int(text[20:23]) / 1000.0


class Cluster:
    def __init__(self, system, args, n, tmp):
        self.system, self.args, self.n, self.tmp = system, args, n, tmp
        self.ports = free_ports(n)
        self.procs = {}
        self.names = [f"n{i}" for i in range(n)]

    def log(self, i):
        return os.path.join(self.tmp, f"{self.system}-{i}.log")

    def spawn(self, i, cmd):
        out = open(self.log(i), "a")
        self.procs[i] = subprocess.Popen(cmd, stdout=out, stderr=out if self.system == "weft" else subprocess.DEVNULL)

    def start_seed(self):
        if self.system == "weft":
            d = os.path.join(self.tmp, "n0")
            r = subprocess.run([self.args.weft, "init", "--data-dir", d, "--name", "n0", "--advertise",
                                f"127.0.0.1:{self.ports[0]}"], capture_output=True, text=True, check=True)
            self.token = r.stdout.strip().splitlines()[-1]
            self.spawn(0, [self.args.weft, "agent", "--data-dir", d, "--bind", f"127.0.0.1:{self.ports[0]}"])
        else:
            self.spawn(0, [self.args.memberlist, "-name", "n0", "-port", str(self.ports[0])])
        deadline = time.time() + 10
        while time.time() < deadline:
            s = socket.socket()
            try:
                s.connect(("127.0.0.1", self.ports[0]))
                s.close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("seed did not come up")

    def start_joiners(self):
        for i in range(1, self.n):
            if self.system == "weft":
                d = os.path.join(self.tmp, f"n{i}")
                self.spawn(i, [self.args.weft, "agent", "--data-dir", d, "--name", f"n{i}", "--bind",
                               f"127.0.0.1:{self.ports[i]}", "--token", self.token])
            else:
                self.spawn(i, [self.args.memberlist, "-name", f"n{i}", "-port", str(self.ports[i]), "-join",
                               f"127.0.0.1:{self.ports[0]}"])

    def events(self, i):
        """(time, name, event) seen by node i; event in joined/dead/left."""
        out = []
        try:
            with open(self.log(i)) as f:
                for line in f:
                    if self.system == "weft":
                        m = WEFT_EVENT.match(line)
                        if m:
                            ev = {"joined": "joined", "dead": "dead", "left": "left"}.get(m.group(3))
                            if ev:
                                out.append((weft_ts(m.group(1)), m.group(2), ev))
                    else:
                        m = ML_EVENT.match(line)
                        if m:
                            ev = {"JOIN": "joined", "DEAD": "dead", "LEFT": "left"}[m.group(2)]
                            out.append((int(m.group(1)) / 1000.0, m.group(3), ev))
        except FileNotFoundError:
            pass
        return out

    def wait_all(self, nodes, predicate, limit):
        """Seconds until predicate(events of node) holds for every node in nodes, from now on
        polling; returns the latest event time that made it hold, or None."""
        deadline = time.time() + limit
        while time.time() < deadline:
            done = [predicate(self.events(i)) for i in nodes]
            if all(t is not None for t in done):
                return max(done)
            time.sleep(0.05)
        return None

    def stop(self, i, sig=signal.SIGTERM):
        p = self.procs.pop(i, None)
        if p:
            p.send_signal(sig)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop_all(self):
        for i in list(self.procs):
            self.stop(i, signal.SIGKILL)

    def bytes_out(self, i):
        if self.system == "weft":
            r = subprocess.run(["curl", "-s", "--unix-socket", os.path.join(self.tmp, f"n{i}", "api.sock"),
                                "http://weft/metrics"], capture_output=True, text=True)
            m = re.search(r"^weft_bytes_out_total (\d+)", r.stdout, re.M)
            return int(m.group(1)) if m else None
        return None


def knows_all(n, self_name, count_self):
    def pred(events):
        seen, last = set(), None
        for t, name, ev in events:
            if ev == "joined" and name not in seen:
                seen.add(name)
                last = t
        want = n if count_self else n - 1
        return last if len(seen) >= want else None
    return pred


def event_about(target, kinds, after):
    def pred(events):
        for t, name, ev in events:
            if name == target and ev in kinds and t >= after:
                return t
        return None
    return pred


def iptables_bytes(ports):
    """Bytes sent from the given local ports (UDP+TCP), via counting rules we add and remove."""
    total = 0
    out = subprocess.run(["iptables", "-L", "OUTPUT", "-v", "-x", "-n"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "weft-bench" in line:
            total += int(line.split()[1])
    return total


def trial(system, args, n, scenario_rest):
    tmp = tempfile.mkdtemp(prefix=f"gossip-bench-{system}-")
    c = Cluster(system, args, n, tmp)
    result = {}
    try:
        c.start_seed()
        t0 = time.time()
        c.start_joiners()
        count_self = system == "memberlist"  # memberlist reports its own join too
        t = c.wait_all(range(n), knows_all(n, None, count_self), 120)
        result["join"] = None if t is None else max(0.0, t - t0)
        if t is None or args.join_only:
            return result
        time.sleep(1.0)
        victim = random.randrange(1, n)
        t1 = time.time()
        c.stop(victim, signal.SIGKILL)
        others = [i for i in range(n) if i != victim]
        t = c.wait_all(others, event_about(f"n{victim}", ("dead",), t1), 120)
        result["kill"] = None if t is None else t - t1
        leaver = random.choice([i for i in others if i != 0])
        rest = [i for i in others if i != leaver]
        t2 = time.time()
        c.stop(leaver, signal.SIGTERM) if system == "memberlist" else subprocess.run(
            [args.weft, "leave", "--data-dir", os.path.join(tmp, f"n{leaver}")], capture_output=True)
        # memberlist 0.2.2 hands NotifyLeave a Node whose State field is not updated, so a
        # graceful leave prints as DEAD there; for it, any leave notification counts.
        kinds = ("left",) if system == "weft" else ("left", "dead")
        t = c.wait_all(rest, event_about(f"n{leaver}", kinds, t2), 60)
        result["leave"] = None if t is None else t - t2
        if scenario_rest:
            live = rest
            ports = [c.ports[i] for i in live]
            # Both systems measured alike: bytes of IP packets leaving their ports (iptables
            # counters), headers included, UDP and TCP.
            if True:
                for p in ports:
                    for proto in ("udp", "tcp"):
                        subprocess.run(["iptables", "-I", "OUTPUT", "-o", "lo", "-p", proto, "--sport", str(p),
                                        "-m", "comment", "--comment", "weft-bench"], check=True)
                b0 = iptables_bytes(ports)
                time.sleep(args.rest_seconds)
                b1 = iptables_bytes(ports)
                for p in ports:
                    for proto in ("udp", "tcp"):
                        subprocess.run(["iptables", "-D", "OUTPUT", "-o", "lo", "-p", proto, "--sport", str(p),
                                        "-m", "comment", "--comment", "weft-bench"])
            result["rest_bytes_per_node_s"] = (b1 - b0) / len(live) / args.rest_seconds
        return result
    finally:
        c.stop_all()
        subprocess.run(["rm", "-rf", tmp])


def summary(values):
    v = [x for x in values if x is not None]
    if not v:
        return "n/a"
    v.sort()
    p50 = statistics.median(v)
    return f"p50 {p50:.2f} s, max {v[-1]:.2f} s, {len(values) - len(v)} timed out"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weft", required=True)
    ap.add_argument("--memberlist")
    ap.add_argument("--nodes", type=int, nargs="+", default=[12, 32])
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--rest-seconds", type=float, default=20)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--join-only", action="store_true", help="measure only the join (for many trials)")
    args = ap.parse_args()
    systems = ["weft"] + (["memberlist"] if args.memberlist else [])
    report = {}
    for n in args.nodes:
        for system in systems:
            runs = [trial(system, args, n, k == 0 and not args.join_only) for k in range(args.trials)]
            joins = [r.get("join") for r in runs]
            report[f"{system}/{n}"] = {
                "join": joins, "kill": [r.get("kill") for r in runs], "leave": [r.get("leave") for r in runs],
                "rest_bytes_per_node_s": runs[0].get("rest_bytes_per_node_s"),
                "joins_over_2s": sum(1 for j in joins if j is None or j > 2.0)}
            r = report[f"{system}/{n}"]
            print(f"{system:10s} N={n:3d}  join all-see-all: {summary(r['join'])} ({r['joins_over_2s']}/{len(joins)} over 2 s)"
                  f" | kill -9 seen dead: {summary(r['kill'])} | leave seen: {summary(r['leave'])}"
                  f" | at rest: {r['rest_bytes_per_node_s'] or float('nan'):.0f} B/s/node", flush=True)
    print_table(report, args.nodes)
    if args.json:
        print(json.dumps(report))


def p50(values):
    v = sorted(x for x in values if x is not None)
    return statistics.median(v) if v else None


def print_table(report, sizes):
    """weft's figures next to memberlist's from the same run, as one markdown table."""
    def cell(x, fmt="{:.2f}"):
        return "n/a" if x is None else fmt.format(x)
    print("\n| figure | weft | anchor | ratio |")
    print("|---|---|---|---|")
    for n in sizes:
        w, m = report.get(f"weft/{n}"), report.get(f"memberlist/{n}")
        rows = [(f"{n} nodes join through one seed, all see all, s p50", p50(w["join"]), m and p50(m["join"]), "{:.2f}"),
                (f"{n} nodes: kill -9 seen dead by all, s p50", p50(w["kill"]), m and p50(m["kill"]), "{:.2f}"),
                (f"{n} nodes: leave seen by all, s p50", p50(w["leave"]), m and p50(m["leave"]), "{:.2f}"),
                (f"{n} nodes: control traffic at rest, B/s/node", w["rest_bytes_per_node_s"],
                 m and m["rest_bytes_per_node_s"], "{:.0f}")]
        for name, a, b, fmt in rows:
            ratio = f"{a / b:.2f}" if a is not None and b else ""
            anchor = f"memberlist: {cell(b, fmt)}" if m else ""
            print(f"| {name} | {cell(a, fmt)} | {anchor} | {ratio} |")


if __name__ == "__main__":
    main()
