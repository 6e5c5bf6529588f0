#!/usr/bin/env python3
"""Talqy benchmark: seeds a large consultation, serves it on SQLite and then on PostgreSQL,
drives it with wrk from a separate process, compares with nginx serving the same bytes, and
prints a table (and JSON with --out). Run through bench/run.sh, which installs wrk, nginx
and GNU time and builds the release binary."""

import argparse
import datetime
import http.cookiejar
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PASSWORD = "bench passphrase for talqy"


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout}s")


def wrk(url, duration, connections, threads=2, script="wrk-report.lua", env=None):
    cmd = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{duration}",
           "--timeout", "10s", "-s", os.path.join(HERE, script), url]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    for line in out.stdout.splitlines():
        if line.startswith("WRKJSON "):
            r = json.loads(line[len("WRKJSON "):])
            secs = r["duration_us"] / 1e6
            errors = sum(r["errors"].values())
            return {
                "requests": r["requests"],
                "rps": round(r["requests"] / secs, 1),
                "ok_rps": round((r["requests"] - errors) / secs, 1),
                "errors": r["errors"],
                "p50_ms": round(r["p50_us"] / 1000, 2),
                "p90_ms": round(r["p90_us"] / 1000, 2),
                "p99_ms": round(r["p99_us"] / 1000, 2),
                "max_ms": round(r["max_us"] / 1000, 2),
                "bytes_per_request": round(r["bytes"] / max(r["requests"], 1)),
            }
    raise SystemExit(f"wrk failed: {out.stdout}\n{out.stderr}")


def vm_hwm_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def vm_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


class Session:
    """A signed-in participant (cookie + CSRF token), signed in once: argon2 is slow on purpose."""

    def __init__(self, base, email):
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)
        token = self.csrf(base + "/login")
        data = urllib.parse.urlencode({"csrf_token": token, "email": email,
                                       "password": PASSWORD, "next": "/"}).encode()
        try:
            self.opener.open(base + "/login", data=data, timeout=30)
        except urllib.error.HTTPError as e:
            if e.code != 303:
                raise SystemExit(f"sign-in of {email} failed: {e.code}")
        self.token = self.csrf(base + "/account")
        self.cookie = "; ".join(f"{c.name}={c.value}" for c in self.jar)

    def csrf(self, url):
        with self.opener.open(url, timeout=30) as r:
            html = r.read().decode()
        m = re.search(r'name="csrf_token"\s+value="([^"]+)"', html) or \
            re.search(r'value="([^"]+)"\s+name="csrf_token"', html)
        if not m:
            raise SystemExit(f"no CSRF token on {url}")
        return m.group(1)


def fetch(url, cookie=None):
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.read()


def run_nginx(files, workdir):
    """nginx (Debian's) serving the saved pages as static files, as the current user."""
    www = os.path.join(workdir, "www")
    os.makedirs(www, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(www, name), "wb") as f:
            f.write(data)
    for d in (workdir, www):
        os.chmod(d, 0o755)
    for name in files:
        os.chmod(os.path.join(www, name), 0o644)
    port = free_port()
    conf = os.path.join(workdir, "nginx.conf")
    user = "user root;" if os.geteuid() == 0 else ""
    with open(conf, "w") as f:
        f.write(f"""{user}
worker_processes auto;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  client_body_temp_path {workdir}/body;
  proxy_temp_path {workdir}/proxy;
  fastcgi_temp_path {workdir}/fastcgi;
  uwsgi_temp_path {workdir}/uwsgi;
  scgi_temp_path {workdir}/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {www};
    default_type "text/html; charset=utf-8";
  }}
}}
""")
    proc = subprocess.Popen(["nginx", "-p", workdir, "-c", conf],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(f"http://127.0.0.1:{port}/{next(iter(files))}")
    return proc, port


def timed_export(url, out_path):
    """Downloads an export with GNU time: wall seconds and the client's peak memory."""
    res = subprocess.run(["/usr/bin/time", "-v", "curl", "-sS", "-o", out_path, "-w",
                          "%{http_code} %{time_total}", url],
                         capture_output=True, text=True)
    code, secs = res.stdout.split()
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr)
    return {"status": int(code), "seconds": round(float(secs), 3),
            "bytes": os.path.getsize(out_path),
            "client_peak_mb": round(int(peak.group(1)) / 1024, 1) if peak else None}


def bench_database(args, kind, binary, workdir):
    result = {"database": kind}
    env = dict(os.environ)
    env.update({"TALQY_LOG": "warn", "TALQY_DATA_DIR": workdir, "TALQY_MAIL_TRANSPORT": "file",
                "TALQY_SECRET_KEY": "b" * 64, "TALQY_POOL_SIZE": str(args.pool_size),
                # The posting load comes from one address: lift the hourly posting limits.
                "TALQY_COMMENTS_PER_HOUR_PER_ACCOUNT": "100000",
                "TALQY_COMMENTS_PER_HOUR_PER_IP": "1000000"})
    pg_name = None
    if kind == "sqlite":
        env["TALQY_DATABASE_URL"] = f"sqlite://{workdir}/bench.db"
    else:
        pg_name = f"talqy_bench_{os.getpid()}"
        subprocess.run(["psql", args.postgres + "/postgres", "-qc",
                        f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"], check=True)
        subprocess.run(["psql", args.postgres + "/postgres", "-qc", f"CREATE DATABASE {pg_name}"],
                       check=True)
        env["TALQY_DATABASE_URL"] = f"{args.postgres}/{pg_name}"
    try:
        log(f"{kind}: seeding {args.comments} comments")
        started = time.time()
        seeded = json.loads(subprocess.run(
            [binary, "seed", "--comments", str(args.comments), "--provisions",
             str(args.provisions), "--participants", str(args.participants)],
            env=env, check=True, capture_output=True, text=True).stdout)
        result["seed_seconds"] = round(time.time() - started, 1)
        draft = seeded["draft_id"]
        sized = seeded["sized"]
        port = free_port()
        env["TALQY_BIND"] = f"127.0.0.1:{port}"
        env["TALQY_BASE_URL"] = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=open(os.path.join(workdir, f"server-{kind}.log"), "w"))
        base = f"http://127.0.0.1:{port}"
        try:
            wait_http(base + "/healthz")
            busiest = sized[0]["key"]
            later = max(1, min(args.later_page, (sized[0]["comments"] * 7 // 10) // 50))
            pages = {
                "draft": f"/drafts/{draft}",
                "provision_first_page": f"/drafts/{draft}/provisions/{busiest}",
                "provision_later_page": f"/drafts/{draft}/provisions/{busiest}?page={later}",
            }
            for path in pages.values():  # warm up
                fetch(base + path)
            log(f"{kind}: pages at {args.connections} connections, {args.duration} each")
            result["pages"] = {}
            saved = {}
            for name, path in pages.items():
                body = fetch(base + path)
                saved[f"{name}.html"] = body
                r = wrk(base + path, args.duration, args.connections)
                r["path"] = path
                r["page_bytes"] = len(body)
                result["pages"][name] = r
            log(f"{kind}: nginx serving the same bytes")
            nginx_dir = os.path.join(workdir, f"nginx-{kind}")
            os.makedirs(nginx_dir, exist_ok=True)
            nginx, nport = run_nginx(saved, nginx_dir)
            try:
                for name in pages:
                    r = wrk(f"http://127.0.0.1:{nport}/{name}.html", args.duration,
                            args.connections)
                    ours = result["pages"][name]
                    ours["nginx_rps"] = r["rps"]
                    ours["nginx_p99_ms"] = r["p99_ms"]
                    ours["ratio_to_nginx"] = round(ours["ok_rps"] / r["rps"], 3)
            finally:
                nginx.terminate()
                nginx.wait()

            log(f"{kind}: latency by provision size (1 connection)")
            result["latency_by_size"] = []
            targets = {}
            for want in (100, 1000, 10000):
                best = min(sized, key=lambda s: abs(s["comments"] - want))
                targets[want] = best
            for want, s in targets.items():
                path = f"/drafts/{draft}/provisions/{s['key']}"
                fetch(base + path)
                r = wrk(base + path, args.short_duration, 1, threads=1)
                # The same page rendered for every request: a cookie that names no session
                # keeps it out of the anonymous readers' page cache.
                rendered = wrk(base + path, args.short_duration, 1, threads=1,
                               env={"BENCH_COOKIE": "talqy_session=none"})
                result["latency_by_size"].append({
                    "comments": s["comments"], "path": path, "p50_ms": r["p50_ms"],
                    "p99_ms": r["p99_ms"], "rps": r["rps"], "page_bytes": len(fetch(base + path)),
                    "rendered_p50_ms": rendered["p50_ms"],
                    "rendered_p99_ms": rendered["p99_ms"]})
            small, large = result["latency_by_size"][0], result["latency_by_size"][-1]
            result["latency_growth_10k_over_100"] = round(large["p50_ms"] / small["p50_ms"], 2)
            result["rendered_growth_10k_over_100"] = round(
                large["rendered_p50_ms"] / small["rendered_p50_ms"], 2)

            log(f"{kind}: durable posts at {args.post_connections} connections")
            sessions = [Session(base, f"p{n:05d}@bench.talqy.example")
                        for n in range(1, args.post_connections + 1)]
            creds = os.path.join(workdir, f"creds-{kind}.tsv")
            with open(creds, "w") as f:
                for s in sessions:
                    f.write(f"{s.cookie}\t{urllib.parse.quote(s.token, safe='')}\n")
            post_key = sized[min(5, len(sized) - 1)]["key"]
            r = wrk(base + "/", args.duration, args.post_connections, script="wrk-post.lua",
                    env={"BENCH_CREDS": creds,
                         "BENCH_PATH": f"/drafts/{draft}/provisions/{post_key}/comments",
                         "BENCH_NONCE": f"{os.getpid()}{kind}"})
            result["posts"] = {"connections": args.post_connections,
                               "comments_per_s": r["ok_rps"], "p50_ms": r["p50_ms"],
                               "p99_ms": r["p99_ms"], "errors": r["errors"],
                               "requests": r["requests"]}

            log(f"{kind}: triage queue")
            admin = Session(base, seeded["admin_email"])
            triage = f"/drafts/{draft}/triage?provision={busiest}&status=new"
            fetch(base + triage, admin.cookie)
            r = wrk(base + triage, args.duration, args.connections,
                    env={"BENCH_COOKIE": admin.cookie})
            r["path"] = triage
            result["triage_queue"] = r

            log(f"{kind}: export")
            before = vm_rss_mb(server.pid)
            result["export"] = {
                "csv": timed_export(f"{base}/drafts/{draft}/report.csv",
                                    os.path.join(workdir, "report.csv")),
                "json": timed_export(f"{base}/drafts/{draft}/report.json",
                                     os.path.join(workdir, "report.json")),
                "server_rss_before_mb": before,
                "server_peak_rss_mb": vm_hwm_mb(server.pid),
            }
            result["server_peak_rss_mb"] = vm_hwm_mb(server.pid)
            result["seeded"] = {k: seeded[k] for k in
                                ("comments", "replies", "dispositions", "participants",
                                 "organizations", "provisions")}
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
    finally:
        if pg_name:
            subprocess.run(["psql", args.postgres + "/postgres", "-qc",
                            f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"])
    return result


def table(results):
    lines = []
    row = lambda *c: lines.append("| " + " | ".join(str(x) for x in c) + " |")
    row("figure", *[r["database"] for r in results])
    row(*["---"] * (len(results) + 1))
    for name in ("draft", "provision_first_page", "provision_later_page"):
        row(f"{name}: req/s, p50 / p99 ms", *[
            f"{r['pages'][name]['ok_rps']}, {r['pages'][name]['p50_ms']} / {r['pages'][name]['p99_ms']}"
            for r in results])
        row(f"{name}: nginx req/s (ours / nginx)", *[
            f"{r['pages'][name]['nginx_rps']} ({r['pages'][name]['ratio_to_nginx'] * 100:.1f} %)"
            for r in results])
    for i in range(len(results[0]["latency_by_size"])):
        n = results[0]["latency_by_size"][i]["comments"]
        row(f"provision with {n} comments: p50 / p99 ms (1 conn)", *[
            f"{r['latency_by_size'][i]['p50_ms']} / {r['latency_by_size'][i]['p99_ms']}"
            for r in results])
    for i in range(len(results[0]["latency_by_size"])):
        n = results[0]["latency_by_size"][i]["comments"]
        row(f"provision with {n} comments, rendered each time (no page cache): p50 / p99 ms", *[
            f"{r['latency_by_size'][i]['rendered_p50_ms']} / {r['latency_by_size'][i]['rendered_p99_ms']}"
            for r in results])
    row("p50 growth, largest / 100 comments", *[f"{r['latency_growth_10k_over_100']}x"
                                                 for r in results])
    row("p50 growth when rendered each time", *[f"{r['rendered_growth_10k_over_100']}x"
                                                for r in results])
    row("durable posts: comments/s, p99 ms", *[
        f"{r['posts']['comments_per_s']}, {r['posts']['p99_ms']}" for r in results])
    row("triage queue (provision + status): req/s, p99 ms", *[
        f"{r['triage_queue']['ok_rps']}, {r['triage_queue']['p99_ms']}" for r in results])
    for fmt in ("csv", "json"):
        row(f"export {fmt}: seconds, MB", *[
            f"{r['export'][fmt]['seconds']}, {r['export'][fmt]['bytes'] / 1e6:.1f}"
            for r in results])
    row("server peak RSS MB", *[r["server_peak_rss_mb"] for r in results])
    row("seeding seconds", *[r["seed_seconds"] for r in results])
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--binary", default=os.path.join(ROOT, "target/release/talqy"))
    p.add_argument("--databases", default="sqlite,postgres")
    p.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES",
                                                        "postgres://postgres@127.0.0.1:5432"))
    p.add_argument("--duration", default="10s", help="wrk duration of each load run")
    p.add_argument("--short-duration", default="5s", help="duration of the 1-connection runs")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--post-connections", type=int, default=16)
    p.add_argument("--pool-size", type=int, default=16)
    p.add_argument("--comments", type=int, default=20000)
    p.add_argument("--provisions", type=int, default=200)
    p.add_argument("--participants", type=int, default=2000)
    p.add_argument("--later-page", type=int, default=100)
    p.add_argument("--out", help="write the figures as JSON to this file")
    args = p.parse_args()

    results = []
    with tempfile.TemporaryDirectory(prefix="talqy-bench-") as workdir:
        for kind in args.databases.split(","):
            results.append(bench_database(args, kind.strip(), args.binary, workdir))
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                    "cpu": cpu_model()},
        "settings": {k: v for k, v in vars(args).items() if k not in ("binary", "out")},
        "results": results,
    }
    print(table(results))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)
        log(f"wrote {args.out}")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
