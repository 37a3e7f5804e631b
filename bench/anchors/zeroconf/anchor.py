"""bench's python-zeroconf anchor; see the anchors package comment (doc.go)
for its command line. Runs on Debian's python3-zeroconf."""

import argparse
import asyncio
import signal
import socket
import sys
import threading
import time

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceListener, Zeroconf
from zeroconf.asyncio import AsyncZeroconf

TYPE = "_bench._udp.local."


def duration(s):
    """Seconds from a Go-style duration: 3s, 500ms or a bare number."""
    for suffix, scale in (("ms", 0.001), ("s", 1.0)):
        if s.endswith(suffix):
            return float(s[: -len(suffix)]) * scale
    return float(s)


def instance(name):
    return name[: -len("." + TYPE)] if name.endswith("." + TYPE) else name


def info_line(info):
    addrs = info.parsed_addresses(IPVersion.V4Only)
    return "%s %s %d" % (instance(info.name), addrs[0] if addrs else "-", info.port)


class Collector(ServiceListener):
    """Collects the names a ServiceBrowser reports."""

    def __init__(self, on_add=None):
        self.names = []
        self.lock = threading.Lock()
        self.on_add = on_add

    def add_service(self, zc, type_, name):
        with self.lock:
            if name not in self.names:
                self.names.append(name)
        if self.on_add:
            self.on_add(zc, type_, name)

    def remove_service(self, zc, type_, name):
        pass

    def update_service(self, zc, type_, name):
        pass


async def announce(args):
    addr = socket.inet_aton(args.addr)
    azc = AsyncZeroconf(ip_version=IPVersion.V4Only)
    infos = []
    for s in args.services.split(","):
        name, port = s.split(":")
        infos.append(ServiceInfo(TYPE, "%s.%s" % (name, TYPE), addresses=[addr], port=int(port),
                                 properties={"bench": None}, server=args.host + ".local."))
    tasks = [await azc.async_register_service(i) for i in infos]
    await asyncio.gather(*tasks)
    print("announcing", len(infos), "services", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    await azc.async_unregister_all_services()
    await azc.async_close()
    return 0


def listing(args):
    zc = Zeroconf(ip_version=IPVersion.V4Only)
    c = Collector()
    ServiceBrowser(zc, TYPE, c)
    time.sleep(args.timeout)
    with c.lock:
        names = list(c.names)
    n = 0
    for name in names:
        info = zc.get_service_info(TYPE, name, timeout=200)
        if info:
            print(info_line(info))
            n += 1
    sys.stdout.flush()
    zc.close()
    return 0 if n else 1


def resolve(args):
    zc = Zeroconf(ip_version=IPVersion.V4Only)
    info = zc.get_service_info(TYPE, "%s.%s" % (args.name, TYPE), timeout=int(args.timeout * 1000))
    if info is None:
        zc.close()
        return 1
    addrs = info.parsed_addresses(IPVersion.V4Only)
    print("%s:%d" % (addrs[0] if addrs else "-", info.port), flush=True)
    zc.close()
    return 0


def watch(args):
    zc = Zeroconf(ip_version=IPVersion.V4Only)

    def up(zc, type_, name):
        print("up", instance(name), flush=True)

    ServiceBrowser(zc, TYPE, Collector(up))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    zc.close()
    return 0


def main():
    p = argparse.ArgumentParser(prog="anchor.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("announce")
    a.add_argument("-host", required=True)
    a.add_argument("-addr", required=True)
    a.add_argument("-services", required=True)
    li = sub.add_parser("list")
    li.add_argument("-timeout", type=duration, default=3.0, help="browse window (3s)")
    r = sub.add_parser("resolve")
    r.add_argument("-timeout", type=duration, default=3.0, help="give up after (3s)")
    r.add_argument("name")
    sub.add_parser("watch")
    args = p.parse_args()
    if args.cmd == "announce":
        return asyncio.run(announce(args))
    return {"list": listing, "resolve": resolve, "watch": watch}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
