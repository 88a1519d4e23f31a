"""Drives mediaq's web app in Debian's headless Chromium, as a person would.

Run by tests/e2e/webapp.rs against a real server:

    python webapp.py BASE_URL IMAGE1 IMAGE2 SCREENSHOT_DIR [--trash]

Steps: first-run page, register, log out, log in, upload two images through
the <input type="file"> and see their thumbnails load, open a file page,
make it public and copy its links (checking the text of each), create a
public link and open it logged out, delete a file and (with --trash)
restore it from the trash. Screenshots in light and dark. Fails on any
browser console error and on any request to a host other than BASE_URL's.
Prints one line per step; exits non-zero with the reason on failure.
"""

import json
import os
import re
import sys
import tempfile
import time
import urllib.request
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BASE, IMAGE1, IMAGE2, SHOTS = sys.argv[1:5]
TRASH = "--trash" in sys.argv
HOST = urlsplit(BASE).netloc
WAIT = 60


def step(text):
    print(f"ok: {text}", flush=True)


def fail(text):
    raise AssertionError(text)


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,900",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='mediaq-chromium-')}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=opts)


def until(driver, what, check, timeout=WAIT):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: check(d))
    except TimeoutException:
        fail(f"timed out waiting for {what} (at {driver.current_url})")


def css(driver, selector):
    return driver.find_elements(By.CSS_SELECTOR, selector)


def one(driver, selector, what=None):
    return until(driver, what or selector, lambda d: (css(d, selector) or [None])[0])


def go(driver, hash_path):
    driver.get(f"{BASE}/#{hash_path}")


def fill(driver, form_selector, values):
    for name, value in values.items():
        field = one(driver, f"{form_selector} [name='{name}']")
        field.clear()
        field.send_keys(value)
    one(driver, f"{form_selector} button[type=submit]").click()


def loaded_images(driver, selector):
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".filter(i => i.complete && i.naturalWidth > 0).map(i => i.getAttribute('src'))", selector)


THUMB = re.compile(r"^" + re.escape(BASE) + r"/images/([A-Za-z0-9]+)/[^/?]+\.th\.(jpg|png)\?expires=\d+&signature=[0-9a-f]+$")


def register_and_login(d):
    go(d, "/register")
    one(d, "#first-run", "the first-run welcome")
    d.save_screenshot(os.path.join(SHOTS, "webapp-first-run-light.png"))
    ms = int(d.execute_script("return document.documentElement.dataset.firstRender"))
    step(f"first run explains how to make the first admin (first render {ms} ms after navigation)")
    fill(d, "form", {"username": "alice", "password": "correct horse battery"})
    until(d, "the gallery after registering", lambda d: css(d, "input[type=file]"))
    step("registered (open registration logs in at once)")
    one(d, "#logout").click()
    until(d, "the login page", lambda d: d.current_url.endswith("#/login"))
    fill(d, "form", {"username": "alice", "password": "correct horse battery"})
    until(d, "the gallery after logging in", lambda d: css(d, "input[type=file]"))
    step("logged out and in again")


def upload_two(d):
    chooser = one(d, "input[type=file]")
    chooser.send_keys(f"{IMAGE1}\n{IMAGE2}")
    srcs = until(d, "two thumbnails loaded", lambda d: (lambda s: s if len(s) >= 2 else None)(
        loaded_images(d, ".uploads img")))
    ids = []
    for src in srcs:
        m = THUMB.match(src)
        if not m:
            fail(f"thumbnail src {src!r} is not a signed /images/{{id}}/{{name}}.th.{{ext}} URL")
        ids.append(m.group(1))
    until(d, "both files in the grid", lambda d: len(loaded_images(d, "#files img")) >= 2)
    step(f"uploaded two images through the file input; thumbnails load: {ids}")
    return ids


def file_page_links(d, file_id):
    one(d, f"#files li[data-file-id='{file_id}'] a").click()
    one(d, "#viewer-image", "the private image in the viewer")
    until(d, "the viewer image loaded", lambda d: loaded_images(d, "#viewer-image"))
    one(d, "#toggle-public").click()
    direct = one(d, "input[name=direct]").get_attribute("value")
    if not re.match(re.escape(BASE) + r"/images/" + file_id + r"/[^/?]+\.(jpg|png)$", direct):
        fail(f"direct link {direct!r}")
    viewer = one(d, "input[name=viewer]").get_attribute("value")
    if not re.match(re.escape(BASE) + r"/image/[^/?]+\." + file_id + r"$", viewer):
        fail(f"viewer link {viewer!r}")
    expected = {
        "markdown": f"[![", "html": f'<a href="{viewer}"><img src="{direct}" alt="',
        "bbcode": f"[url={viewer}][img]{direct}[/img][/url]",
    }
    for name, start in expected.items():
        value = one(d, f"input[name={name}]").get_attribute("value")
        if not value.startswith(start) or (name == "markdown" and not value.endswith(f"]({direct})]({viewer})")):
            fail(f"{name} code {value!r}")
    for button in css(d, "#embed-codes button[aria-label^=Copy]"):
        button.click()
        until(d, "the copy confirmation", lambda d: "Cop" in button.text and button.text != "Copy")
    for url in (direct, viewer):
        with urllib.request.urlopen(url) as res:
            if res.status != 200:
                fail(f"{url} answered {res.status}")
    step("file page: made public, copied direct/viewer/Markdown/HTML/BBCode, links answer 200")
    d.save_screenshot(os.path.join(SHOTS, "webapp-file-light.png"))


def public_link(d):
    one(d, "button.primary[type=submit]", "the create-link button")
    buttons = [b for b in css(d, "button[type=submit]") if b.text == "Create public link"]
    buttons[0].click()
    page = one(d, "input[name=link-page]").get_attribute("value")
    if not re.match(re.escape(BASE) + r"/#/l/[A-Za-z0-9]{32}$", page):
        fail(f"link page {page!r}")
    d.execute_script("localStorage.clear()")
    d.get(page)
    until(d, "the linked image, logged out", lambda d: loaded_images(d, "#shared-image"))
    if css(d, "#logout"):
        fail("the link page shows a logged-in user")
    step("public link opens logged out and shows the image")


def delete_and_restore(d, ids):
    go(d, "/login")
    fill(d, "form", {"username": "alice", "password": "correct horse battery"})
    until(d, "the gallery", lambda d: len(loaded_images(d, "#files img")) >= 2)
    d.save_screenshot(os.path.join(SHOTS, "webapp-gallery-light.png"))
    victim = ids[1]
    one(d, f"#files li[data-file-id='{victim}'] a").click()
    until(d, "the delete button", lambda d: [b for b in css(d, "button.danger") if b.text == "Delete"])[0].click()
    one(d, "dialog[open] button.danger").click()
    until(d, "the gallery without the deleted file",
          lambda d: css(d, "#files li") and not css(d, f"#files li[data-file-id='{victim}']"))
    step("deleted a file from its page")
    if not TRASH:
        step("trash restore skipped: GET /api/v1/trash does not answer on this server yet")
        return
    go(d, "/trash")
    restore = until(d, "the trashed file", lambda d: css(d, f"tr[data-trash-id='{victim}'] button"))
    restore[0].click()
    until(d, "the trash without it", lambda d: not css(d, f"tr[data-trash-id='{victim}']"))
    go(d, "/")
    until(d, "the restored file in the gallery", lambda d: css(d, f"#files li[data-file-id='{victim}'] img"))
    step("restored it from the trash")


def folder_upload(d):
    go(d, "/")
    fill(d, "form.row", {"folderName": "Holiday"})
    until(d, "the new folder's page", lambda d: "#/folder/" in d.current_url and css(d, "nav.crumbs [aria-current=page]"))
    crumb = one(d, "nav.crumbs [aria-current=page]").text
    if crumb != "Holiday":
        fail(f"breadcrumb {crumb!r}")
    one(d, "input[type=file]").send_keys(IMAGE1)
    until(d, "the thumbnail in the folder", lambda d: loaded_images(d, "#files img"))
    step("created a folder, uploaded into it (breadcrumbs, thumbnail)")


def api_key(d):
    go(d, "/keys")
    fill(d, "form", {"keyName": "laptop"})
    key = one(d, "input[name=api-key]").get_attribute("value")
    if not re.match(r"^mq_[A-Za-z0-9]{40}$", key):
        fail(f"new key {key!r}")
    buttons = [b for b in css(d, "button") if ".sxcu" in b.text]
    if not buttons:
        fail("no ShareX download for the new key")
    until(d, "the key in the list", lambda d: [c for c in css(d, "td") if c.text == "laptop"])
    d.save_screenshot(os.path.join(SHOTS, "webapp-keys-light.png"))
    step("created an API key (shown once, with its .sxcu download)")


def dark(d):
    d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    go(d, "/")
    until(d, "the gallery in dark", lambda d: len(loaded_images(d, "#files img")) >= 1)
    bg = d.execute_script("return getComputedStyle(document.body).backgroundColor")
    d.save_screenshot(os.path.join(SHOTS, "webapp-gallery-dark.png"))
    if bg in ("rgb(246, 247, 249)", "rgb(255, 255, 255)"):
        fail(f"dark mode kept a light background {bg}")
    d.set_window_size(390, 844)
    d.save_screenshot(os.path.join(SHOTS, "webapp-gallery-phone-dark.png"))
    width = d.execute_script("return document.documentElement.scrollWidth")
    if width > 400:
        fail(f"at phone width the page scrolls sideways ({width}px)")
    step("dark mode and phone width render")


def check_logs(d):
    errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
    if errors:
        fail("browser console errors: " + json.dumps(errors))
    foreign = set()
    for entry in d.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") != "Network.requestWillBeSent":
            continue
        url = msg["params"]["request"]["url"]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "ws", "wss"):
            continue  # data:, blob:, and the browser's own chrome:// pages
        if parts.netloc != HOST:
            foreign.add(url)
    if foreign:
        fail(f"requests to hosts other than {HOST}: {sorted(foreign)}")
    step("no console errors; every request went to mediaq")


def main():
    d = browser()
    try:
        register_and_login(d)
        ids = upload_two(d)
        file_page_links(d, ids[0])
        public_link(d)
        delete_and_restore(d, ids)
        folder_upload(d)
        api_key(d)
        dark(d)
        check_logs(d)
    except Exception as e:  # noqa: BLE001 - report any failure with a screenshot
        d.save_screenshot(os.path.join(SHOTS, "webapp-failure.png"))
        print(f"FAILED: {e}", flush=True)
        try:
            print("console: " + json.dumps(d.get_log("browser")), flush=True)
        except Exception:  # noqa: BLE001
            pass
        sys.exit(1)
    finally:
        d.quit()
    print("PASSED", flush=True)


if __name__ == "__main__":
    main()
