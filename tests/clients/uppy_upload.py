"""Uppy 5 (`uppy` bundle, `@uppy/aws-s3`) in headless Chromium, driven by
selenium: a page served from another origin than mediaq picks FILES and
uploads them (single PUT under 10 MiB, multipart above). With
--s3-proxy PORT=UPSTREAM it also runs a CORS-adding proxy in front of the
test S3 server (which has no CORS of its own), standing in for the bucket
CORS an operator configures; the Host header passes unchanged, so
presigned signatures still verify. Prints the JSON of Uppy's result.

usage: uppy_upload.py ENDPOINT KEY UPPY_DIST [--s3-proxy PORT=UPSTREAM] FILES...
"""
import http.client
import http.server
import json
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, PUT, POST, DELETE, HEAD",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Expose-Headers": "ETag",
}


def cors_proxy(port, upstream):
    target = urllib.parse.urlsplit(upstream)

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_OPTIONS(self):
            self.send_response(200)
            for k, v in CORS.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("origin", "referer")}
            conn.request(self.command, self.path, body=body, headers=headers)
            res = conn.getresponse()
            data = res.read()
            self.send_response(res.status)
            for k, v in res.getheaders():
                if k.lower() not in ("transfer-encoding", "content-length", "connection") and not k.lower().startswith("access-control"):
                    self.send_header(k, v)
            for k, v in CORS.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def serve_page(dist):
    root = Path(tempfile.mkdtemp(prefix="uppy-page-"))
    shutil.copy(Path(__file__).parent / "uppy" / "index.html", root / "index.html")
    shutil.copy(Path(dist) / "uppy.min.mjs", root / "uppy.min.mjs")

    class Static(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Static)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://localhost:{server.server_address[1]}/index.html"


def main():
    endpoint, key, dist, *rest = sys.argv[1:]
    if rest and rest[0] == "--s3-proxy":
        port, upstream = rest[1].split("=", 1)
        cors_proxy(int(port), upstream)
        rest = rest[2:]
    files = [str(Path(f).resolve()) for f in rest]
    page = serve_page(dist)
    opts = webdriver.ChromeOptions()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='uppy-chromium-')}"):
        opts.add_argument(flag)
    opts.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        fragment = urllib.parse.urlencode({"endpoint": endpoint, "key": key})
        driver.get(f"{page}#{fragment}")
        deadline = time.time() + 30
        while not driver.execute_script("return window.uppyReady === true"):
            if time.time() > deadline:
                raise SystemExit("the page did not load Uppy")
            time.sleep(0.1)
        driver.find_element(By.ID, "files").send_keys("\n".join(files))
        deadline = time.time() + 240
        while (result := driver.execute_script("return window.uppyResult")) is None:
            if time.time() > deadline:
                logs = driver.get_log("browser") if hasattr(driver, "get_log") else []
                raise SystemExit(f"Uppy did not finish; browser log: {logs}")
            time.sleep(0.2)
        print(json.dumps(result), flush=True)
        if result["failed"]:
            print(json.dumps(driver.get_log("browser")), file=sys.stderr)
    finally:
        driver.quit()


main()
