//! Sites as network namespaces: a hub namespace holds a bridge (and the
//! client, where `dig` runs); each site namespace is cabled to it with two
//! addresses, one for its DNS instance and one for its ingress. Nothing
//! leaves the namespaces: the host's own network is never touched.

use std::process::{Child, Command, Stdio};

/// A health endpoint in Python: `python3 -c HEALTH_SERVER ADDRESS PORT`
/// answers 200 on every path.
pub const HEALTH_SERVER: &str = "import http.server,sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b'ok')
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
";

/// A hub and its sites, removed on drop.
pub struct Sites {
    prefix: String,
    /// The /24's third octet: `10.<net>.0.0/24`.
    net: u8,
    count: usize,
    children: Vec<Child>,
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("{}: {e}", args.join(" ")))
}

fn must(args: &[&str]) {
    let out = run(args);
    assert!(out.status.success(), "{}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

impl Sites {
    /// `count` sites on `10.<net>.0.0/24`, or `None` (a skip, a failure
    /// under CI) when namespaces cannot be made or `dig` is missing.
    pub fn new(name: &str, net: u8, count: usize) -> Option<Self> {
        let probe = format!("bhprobe{}", std::process::id());
        let can = run(&["ip", "netns", "add", &probe]).status.success();
        if can {
            let _ = run(&["ip", "netns", "del", &probe]);
        }
        if !can {
            bulkhead_test::skip("cannot create network namespaces (needs root and `ip`)");
            return None;
        }
        bulkhead_test::program::DIG.require()?;
        let prefix = format!("bh{name}{}", std::process::id() % 100_000);
        let sites = Self { prefix, net, count, children: Vec::new() };
        let hub = sites.hub();
        must(&["ip", "netns", "add", &hub]);
        sites.exec(&hub, &["ip", "link", "set", "lo", "up"]);
        sites.exec(&hub, &["ip", "link", "add", "br0", "type", "bridge"]);
        sites.exec(&hub, &["ip", "addr", "add", &format!("10.{net}.0.1/24"), "dev", "br0"]);
        sites.exec(&hub, &["ip", "link", "set", "br0", "up"]);
        for i in 1..=count {
            let ns = sites.site(i);
            must(&["ip", "netns", "add", &ns]);
            let cable = format!("vh{i}");
            sites.exec(&hub, &["ip", "link", "add", &cable, "type", "veth", "peer", "name", "eth0", "netns", &ns]);
            sites.exec(&hub, &["ip", "link", "set", &cable, "master", "br0"]);
            sites.exec(&hub, &["ip", "link", "set", &cable, "up"]);
            sites.exec(&ns, &["ip", "link", "set", "lo", "up"]);
            sites.exec(&ns, &["ip", "addr", "add", &format!("{}/24", sites.dns(i)), "dev", "eth0"]);
            sites.exec(&ns, &["ip", "addr", "add", &format!("{}/24", sites.ingress(i)), "dev", "eth0"]);
            sites.exec(&ns, &["ip", "link", "set", "eth0", "up"]);
        }
        Some(sites)
    }

    /// The hub namespace's name.
    pub fn hub(&self) -> String {
        format!("{}-hub", self.prefix)
    }

    /// Site `i`'s namespace (from 1).
    pub fn site(&self, i: usize) -> String {
        format!("{}-s{i}", self.prefix)
    }

    /// Site `i`'s DNS address.
    pub fn dns(&self, i: usize) -> String {
        format!("10.{}.0.{}", self.net, 10 + i)
    }

    /// Site `i`'s ingress address.
    pub fn ingress(&self, i: usize) -> String {
        format!("10.{}.0.{}", self.net, 20 + i)
    }

    /// An extra address on the hub's bridge (for servers run there).
    pub fn hub_address(&self, last: u8) -> String {
        let address = format!("10.{}.0.{last}", self.net);
        self.exec(&self.hub(), &["ip", "addr", "add", &format!("{address}/24"), "dev", "br0"]);
        address
    }

    /// Runs a command in a namespace; panics when it fails.
    pub fn exec(&self, ns: &str, args: &[&str]) {
        let mut all = vec!["ip", "netns", "exec", ns];
        all.extend_from_slice(args);
        must(&all);
    }

    /// Starts a long-running process in a namespace; killed on drop.
    pub fn spawn(&mut self, ns: &str, program: &std::path::Path, args: &[String], log: &std::path::Path) {
        let log = std::fs::File::create(log).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(program)
            .args(args)
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn in namespace");
        self.children.push(child);
    }

    /// Starts an HTTP health endpoint on site `i`'s ingress: 200 on every path.
    pub fn health_server(&mut self, i: usize, port: u16, log: &std::path::Path) {
        let ns = self.site(i);
        let args = vec!["-c".to_string(), HEALTH_SERVER.to_string(), self.ingress(i), port.to_string()];
        self.spawn(&ns, std::path::Path::new("python3"), &args, log);
    }

    /// Cuts site `i` off (its cable down): its DNS instance and ingress vanish.
    pub fn kill(&self, i: usize) {
        self.exec(&self.site(i), &["ip", "link", "set", "eth0", "down"]);
    }

    /// Cables site `i` back.
    pub fn revive(&self, i: usize) {
        self.exec(&self.site(i), &["ip", "link", "set", "eth0", "up"]);
    }

    /// Site `from` can no longer reach `address` (nor its replies come back).
    pub fn block(&self, from: usize, address: &str) {
        self.exec(&self.site(from), &["ip", "route", "add", "blackhole", &format!("{address}/32")]);
    }

    /// Undoes [`Sites::block`].
    pub fn unblock(&self, from: usize, address: &str) {
        self.exec(&self.site(from), &["ip", "route", "del", "blackhole", &format!("{address}/32")]);
    }

    /// `dig` from the hub: the full output.
    pub fn dig(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.hub(), "dig", "+time=1", "+tries=1"])
            .args(args)
            .output()
            .expect("dig");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sends `count` queries for `name` to `server` over UDP from the hub, in
    /// quick runs of 25 (a burst, paced so the server's socket buffer never
    /// overflows; the client's own is enlarged with SO_RCVBUFFORCE, as it
    /// reads the answers only after the burst), and returns how many answers
    /// came back within 3 s and how many of them were truncated (TC).
    pub fn burst(&self, server: &str, name: &str, count: usize) -> (usize, usize) {
        let script = "import socket,struct,sys,time\n\
server,name,count=sys.argv[1],sys.argv[2],int(sys.argv[3])\n\
q=b''.join(bytes([len(l)])+l.encode() for l in name.split('.'))+b'\\0'+struct.pack('>HH',1,1)\n\
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(0.2)\n\
s.setsockopt(socket.SOL_SOCKET,33,1<<23)\n\
for i in range(count):\n    \
s.sendto(struct.pack('>HHHHHH',i,0,1,0,0,0)+q,(server,53))\n    \
if i%25==24: time.sleep(0.005)\n\
got=tc=0; end=time.time()+3\n\
while time.time()<end:\n    \
try: d=s.recv(4096)\n    \
except socket.timeout: continue\n    \
got+=1; tc+=(d[2]>>1)&1\n\
print(got,tc)\n";
        let out = Command::new("ip")
            .args(["netns", "exec", &self.hub(), "python3", "-c", script, server, name, &count.to_string()])
            .output()
            .expect("python3");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut numbers = text.split_whitespace().map(|n| n.parse::<usize>().unwrap_or(0));
        (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0))
    }

    /// The addresses `server` answers for `name` (`dig +short`).
    pub fn addresses(&self, server: &str, name: &str, rtype: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .dig(&["+short", &format!("@{server}"), name, rtype])
            .lines()
            .filter(|l| !l.starts_with(';') && !l.is_empty())
            .map(String::from)
            .collect();
        v.sort();
        v
    }
}

impl Drop for Sites {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for i in 1..=self.count {
            let _ = run(&["ip", "netns", "del", &self.site(i)]);
        }
        let _ = run(&["ip", "netns", "del", &self.hub()]);
    }
}
