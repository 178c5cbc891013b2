//! A real browser driven by the W3C WebDriver protocol: Debian's Chromium
//! through its chromedriver. The protocol is a handful of JSON requests
//! over loopback HTTP, written here by hand rather than through a client
//! crate (fantoccini, thirtyfour), which would bring a second HTTP stack
//! and TLS into the tests for five verbs.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// An element, by the id WebDriver gave it.
pub struct Element(String);

/// A browser session; the driver and the browser stop when it drops.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn request(port: u16, method: &str, path: &str, body: Option<&Value>) -> Option<(u16, Value)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    // chromedriver says `Connection:close` and keeps the socket open: the
    // answer is read by its Content-Length, not to the end.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).ok()?;
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let length: usize =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    let mut payload = vec![0u8; length];
    stream.read_exact(&mut payload).ok()?;
    Some((status, serde_json::from_slice(&payload).unwrap_or(Value::Null)))
}

impl Browser {
    /// Chromium, headless, with a window of `width` × `height`; `None`
    /// (the test is skipped, a failure in CI) without Chromium or its driver.
    pub fn start(width: u32, height: u32) -> Option<Self> {
        let chromium = bulkhead_test::program::CHROMIUM.require()?;
        let chromedriver = bulkhead_test::program::CHROMEDRIVER.require()?;
        let port = crate::serve::free_port();
        let driver = std::process::Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while request(port, "GET", "/status", None).is_none_or(|(_, v)| v["value"]["ready"] != true) {
            assert!(start.elapsed() < Duration::from_secs(30), "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                         format!("--window-size={width},{height}"), "--no-first-run", "--disable-extensions",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
            }
        }}});
        let (status, created) = request(port, "POST", "/session", Some(&capabilities)).expect("chromedriver answers");
        assert_eq!(status, 200, "no browser session: {created}");
        let session = created["value"]["sessionId"].as_str().expect("a session id").to_string();
        Some(Self { driver, port, session })
    }

    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let (status, answer) = request(self.port, method, &path, body.as_ref()).expect("chromedriver answers");
        assert_eq!(status, 200, "{method} {path}: {answer}");
        answer["value"].clone()
    }

    /// Opens `url`.
    pub fn open(&self, url: &str) {
        self.command("POST", "/url", Some(json!({"url": url})));
    }

    /// Runs `script` in the page (its `return` is the answer).
    pub fn run(&self, script: &str) -> Value {
        self.command("POST", "/execute/sync", Some(json!({"script": script, "args": []})))
    }

    /// Waits up to `limit` for `condition` (a JavaScript expression) to be true.
    pub fn wait_for(&self, condition: &str, limit: Duration) {
        let start = Instant::now();
        while self.run(&format!("return Boolean({condition});")) != true {
            assert!(
                start.elapsed() < limit,
                "the page never showed `{condition}` within {limit:?}:\n{}",
                self.run("return document.body.innerText;")
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The element `css` selects (the first).
    pub fn find(&self, css: &str) -> Element {
        let found = self.command("POST", "/element", Some(json!({"using": "css selector", "value": css})));
        Element(found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {found}")).to_string())
    }

    /// Clicks `element` as a person would (scrolled into view, at its centre).
    pub fn click(&self, element: &Element) {
        self.command("POST", &format!("/element/{}/click", element.0), Some(json!({})));
    }

    /// Types `text` into `element`.
    pub fn type_into(&self, element: &Element, text: &str) {
        self.command("POST", &format!("/element/{}/value", element.0), Some(json!({"text": text})));
    }

    /// The visible text of `element`.
    pub fn text(&self, element: &Element) -> String {
        self.command("GET", &format!("/element/{}/text", element.0), None).as_str().unwrap_or_default().to_string()
    }

    /// A PNG of `element` alone, written to `name` in the screenshots
    /// folder (under the target directory); its path.
    pub fn screenshot(&self, element: &Element, name: &str) -> PathBuf {
        let png = self.command("GET", &format!("/element/{}/screenshot", element.0), None);
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().expect("base64")).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
        let dir = screenshots();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

/// Where screenshots go: beside the test binary, so CI keeps them with the build.
pub fn screenshots() -> PathBuf {
    std::env::current_exe().unwrap().parent().unwrap().join("screenshots")
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = request(self.port, "DELETE", &format!("/session/{}", self.session), None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
