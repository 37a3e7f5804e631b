//go:build linux

package mdnslab

// ZeroconfPublish is a python-zeroconf script that publishes one service:
// argv: address, instance label, type ("_http._tcp.local."), port, host,
// then TXT "key=value" pairs. It prints "registered" once announced and
// unregisters (with goodbyes) when its standard input closes.
const ZeroconfPublish = `
import socket, sys
from zeroconf import IPVersion, ServiceInfo, Zeroconf
addr, label, typ, port, host = sys.argv[1:6]
props = dict(p.split("=", 1) for p in sys.argv[6:])
zc = Zeroconf(interfaces=[addr], ip_version=IPVersion.V4Only)
info = ServiceInfo(typ, label + "." + typ, addresses=[socket.inet_aton(addr)],
                   port=int(port), properties=props, server=host)
zc.register_service(info)
print("registered", flush=True)
sys.stdin.read()
zc.unregister_service(info)
zc.close()
print("closed", flush=True)
`

// ZeroconfBrowse is a python-zeroconf script that browses one type
// (argv: address, type) and prints "add NAME PORT k=v,..." and
// "remove NAME" lines as events arrive.
const ZeroconfBrowse = `
import sys
from zeroconf import IPVersion, ServiceBrowser, ServiceListener, Zeroconf
addr, typ = sys.argv[1:3]
zc = Zeroconf(interfaces=[addr], ip_version=IPVersion.V4Only)
class L(ServiceListener):
    def show(self, zc, t, name, what):
        info = zc.get_service_info(t, name, timeout=2000)
        if info is None:
            print(what, name, "unresolved", flush=True)
            return
        props = ",".join("%s=%s" % (k.decode(), (v or b"").decode()) for k, v in sorted(info.properties.items()))
        print(what, name, info.port, props, ",".join(info.parsed_addresses()), flush=True)
    def add_service(self, zc, t, name):
        self.show(zc, t, name, "add")
    def update_service(self, zc, t, name):
        self.show(zc, t, name, "update")
    def remove_service(self, zc, t, name):
        print("remove", name, flush=True)
b = ServiceBrowser(zc, typ, L())
print("browsing", flush=True)
sys.stdin.read()
zc.close()
`
