"""Drives mediaq's web app in Debian's headless Chromium, as a person would.

Run by tests/e2e/webapp.rs against a real server:

    python webapp.py BASE_URL IMAGE1 IMAGE2 TOO_BIG SCREENSHOT_DIR [--trash]

(TOO_BIG: a file over the server's MEDIAQ_MAX_UPLOAD_BYTES.)

Steps: first-run page, register, log out, log in, upload two images through
the <input type="file"> and see their thumbnails load, paste one and drop
one (made in a canvas), a file too large
refused with the server's reason in its row, search the gallery,
open a file page, make it public and copy its links (checking the text of
each), upload a new version with its progress bar, create a public link and
open it logged out, a password-protected, view-only, one-view link (prompt,
wrong password, right password, picture, then used up), delete a file and
(with --trash) restore it from the trash, create folders, upload into one
and move it into another, an API key, then the admin pages signed in with
an administrator's key (asked of the caller: the script prints
"NEED ADMIN KEY" and reads one line from stdin), dark mode and phone width.
Screenshots in light and dark. After every step it fails on any browser
console error (a SEVERE entry of the browser log: failed requests included)
and on any request to a host other than BASE_URL's. Prints one line per
step; exits non-zero with the reason on failure.
"""

import json
import os
import re
import sys
import tempfile
import time
import traceback
import urllib.request
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE, IMAGE1, IMAGE2, TOO_BIG, SHOTS = sys.argv[1:6]
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
        # The app re-renders views: an element found may be replaced
        # before it is read, which just means "look again".
        return WebDriverWait(driver, timeout, poll_frequency=0.1,
                             ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: check(d))
    except TimeoutException:
        fail(f"timed out waiting for {what} (at {driver.current_url})")


def css(driver, selector):
    return driver.find_elements(By.CSS_SELECTOR, selector)


def one(driver, selector, what=None):
    return until(driver, what or selector, lambda d: (css(d, selector) or [None])[0])


def go(driver, hash_path):
    driver.get(f"{BASE}/#{hash_path}")


def fill(driver, form_selector, values):
    fill_only(driver, form_selector, values)
    until(driver, f"submitting {form_selector}", lambda d: one(d, f"{form_selector} button[type=submit]").click() or True)


def fill_only(driver, form_selector, values):
    for name, value in values.items():
        def typed(d):
            field = one(d, f"{form_selector} [name='{name}']")
            field.clear()
            field.send_keys(value)
            return True
        until(driver, f"typing into {form_selector} [name={name}]", typed)


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
    # Once more with the browser started: the app's own time to its first view.
    d.refresh()
    one(d, "#first-run", "the first-run welcome again")
    again = int(until(d, "the first render mark", lambda d: d.execute_script(
        "return document.documentElement.dataset.firstRender")))
    if again > 3000:  # generous: CI boxes are busy; the budget is 1 s
        fail(f"the first view took {again} ms after navigation")
    step(f"first run explains how to make the first admin (first render {ms} ms after navigation, {again} ms on reload)")
    fill(d, "form", {"username": "alice", "password": "correct horse battery"})
    until(d, "the gallery after registering", lambda d: css(d, "input[type=file]"))
    step("registered (open registration logs in at once)")
    one(d, "#logout").click()
    until(d, "the login page", lambda d: d.current_url.endswith("#/login"))
    fill(d, "form", {"username": "alice", "password": "correct horse battery"})
    until(d, "the gallery after logging in", lambda d: css(d, "input[type=file]"))
    step("logged out and in again")
    # A session past its expiresAt: the log-in page, with no refused request.
    d.execute_script("localStorage.setItem('mediaq.expires', new Date(Date.now() - 1000).toISOString())")
    go(d, "/")
    d.refresh()
    until(d, "the login page for an expired session", lambda d: d.current_url.endswith("#/login"))
    checkpoint(d, "opening the app with an expired session")
    fill(d, "form", {"username": "alice", "password": "correct horse battery"})
    until(d, "the gallery after logging in again", lambda d: css(d, "input[type=file]"))
    step("an expired session opens the log-in page without a refused request")


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


def paste_and_drop(d):
    """An image pasted from the clipboard and one dropped on the page
    (made in a canvas: the page cannot read local files) both upload."""
    d.execute_script("""
        const make = (name, color) => new Promise((resolve) => {
          const c = document.createElement('canvas');
          c.width = c.height = 64;
          const g = c.getContext('2d');
          g.fillStyle = color;
          g.fillRect(0, 0, 64, 64);
          c.toBlob((b) => resolve(new File([b], name, { type: 'image/png' })), 'image/png');
        });
        const files = (f) => { const t = new DataTransfer(); t.items.add(f); return t; };
        Promise.all([make('pasted.png', '#c33'), make('dropped.png', '#36c')]).then(([pasted, dropped]) => {
          document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: files(pasted), bubbles: true }));
          document.querySelector('.gallery').dispatchEvent(
            new DragEvent('drop', { dataTransfer: files(dropped), bubbles: true, cancelable: true }));
        });""")
    for name in ("pasted.png", "dropped.png"):
        until(d, f"the {name} upload done", lambda d: [li for li in css(d, ".uploads li[data-state=done]") if name in li.text])
    step("an image pasted from the clipboard and one dropped on the page are uploaded")


def too_big(d):
    """A file over the server's limit: its row shows the server's reason."""
    one(d, "input[type=file]").send_keys(TOO_BIG)
    name = os.path.basename(TOO_BIG)
    row = until(d, "the failed upload's row", lambda d: [r for r in css(d, ".uploads li[data-state=failed]") if name in r.text])
    text = row[0].text
    if "larger than the limit" not in text or "tus:" in text or "{" in text:
        fail(f"the failed upload does not give the server's reason: {text!r}")
    step(f"a file over the limit is refused with the server's reason: {text.splitlines()[-1]!r}")


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


def new_version(d, file_id):
    """Uploads IMAGE2 as a new version of the open file, watching its bar."""
    one(d, "#new-version input[type=file]").send_keys(IMAGE2)
    # The bar's value attribute reflects what the page sets: record the
    # highest seen and whether it was shown, then submit.
    d.execute_script("""
        const p = document.querySelector('#new-version progress');
        window.__bar = {shown: false, max: 0};
        new MutationObserver(() => {
          window.__bar.shown ||= !p.hidden;
          window.__bar.max = Math.max(window.__bar.max, Number(p.value));
        }).observe(p, {attributes: true});""")
    one(d, "#new-version button[type=submit]").click()
    bar = until(d, "the bar to fill", lambda d: (lambda b: b if b and b["shown"] and b["max"] >= 1 else None)(
        d.execute_script("return window.__bar")))
    rows = until(d, "two versions listed", lambda d: (lambda r: r if len(r) == 2 else None)(
        css(d, "#versions tbody tr")))
    if "(current)" not in rows[0].text or not rows[0].text.startswith("2"):
        fail(f"version 2 is not current: {rows[0].text!r}")
    until(d, "the new version in the viewer", lambda d: loaded_images(d, "#viewer-image"))
    step(f"uploaded a new version with a progress bar (reached {bar['max']}); it is current")


def password_link(d, file_id):
    """A password-protected, view-only, one-view link: prompt, wrong and
    right password, the picture, then used up; no failed request."""
    go(d, "/login")
    fill(d, "form", {"username": "alice", "password": "correct horse battery"})
    until(d, "the gallery", lambda d: css(d, "#files li"))
    go(d, f"/files/{file_id}")
    form = "form.link-form"
    fill_only(d, form, {"linkPassword": "link password 1", "maxViews": "1"})
    one(d, f"{form} input[name=viewOnly]").click()
    one(d, f"{form} button[type=submit]").click()
    page = until(d, "the new link", lambda d: (lambda v: v if v else None)(
        one(d, "input[name=link-page]").get_attribute("value")))
    checkpoint(d, "creating a password link")
    d.execute_script("localStorage.clear()")
    d.get(page)
    d.refresh()  # a hash change alone would not reload the app
    one(d, "form#link-password input[name=password]", "the password prompt")
    d.save_screenshot(os.path.join(SHOTS, "webapp-link-password-light.png"))
    checkpoint(d, "opening a password link (the prompt)")
    fill(d, "form#link-password", {"password": "not the password"})
    until(d, "the wrong-password message", lambda d: "Wrong password" in one(d, "form#link-password [role=alert]").text)
    fill(d, "form#link-password", {"password": "link password 1"})
    until(d, "the linked picture behind the password", lambda d: loaded_images(d, "#shared-image"))
    if "view-only" not in one(d, "main").text:
        fail("a view-only link does not say so")
    if css(d, "main a[download], main button") and [b for b in css(d, "main button") if "Download" in b.text]:
        fail("a view-only link offers a download")
    checkpoint(d, "a password link: wrong and right password")
    d.refresh()
    until(d, "the used-up link", lambda d: "Link unavailable" in one(d, "main h1").text)
    checkpoint(d, "a used-up link")
    step("password link: prompt without a failed request, wrong password refused, picture shown, then used up")


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
    fill(d, "form.new-folder", {"folderName": "Holiday"})
    until(d, "the new folder's page", lambda d: "#/folder/" in d.current_url and css(d, "nav.crumbs [aria-current=page]"))
    crumb = one(d, "nav.crumbs [aria-current=page]").text
    if crumb != "Holiday":
        fail(f"breadcrumb {crumb!r}")
    one(d, "input[type=file]").send_keys(IMAGE1)
    until(d, "the thumbnail in the folder", lambda d: loaded_images(d, "#files img"))
    holiday = d.current_url
    step("created a folder, uploaded into it (breadcrumbs, thumbnail)")
    go(d, "/")
    # The folder's view (with its own new-folder form) stays until the
    # root's replaces it: type only into the root's.
    until(d, "the root gallery", lambda d: one(d, ".gallery h1").text == "Files")
    fill(d, "form.new-folder", {"folderName": "Trips"})
    until(d, "the second folder's page", lambda d: "Trips" in one(d, "nav.crumbs [aria-current=page]").text)
    d.get(holiday)
    select = one(d, "#move-folder select")
    until(d, "Trips among the move targets", lambda d: [o for o in css(d, "#move-folder option") if o.text == "Trips"])[0].click()
    one(d, "#move-folder button[type=submit]").click()
    until(d, "the breadcrumbs after the move", lambda d: [c.text for c in css(d, "nav.crumbs li")] == ["All files", "Trips", "Holiday"])
    until(d, "the moved folder's file", lambda d: loaded_images(d, "#files img"))
    d.save_screenshot(os.path.join(SHOTS, "webapp-folder-light.png"))
    del select
    step("moved the folder into another one (breadcrumbs All files / Trips / Holiday)")


def search(d):
    go(d, "/")
    until(d, "the files at the root", lambda d: len(css(d, "#files li")) >= 2)
    name = os.path.basename(IMAGE2).rsplit(".", 1)[0]
    fill_only(d, "form[role=search]", {"q": name[:6]})
    until(d, "the search result", lambda d: len(css(d, "#files li")) == 1 and name[:6] in one(d, "#files li").text)
    d.execute_script("const q = document.querySelector('form[role=search] [name=q]');"
                     "q.value = ''; q.dispatchEvent(new Event('input', {bubbles: true}));")
    Select(one(d, "form[role=search] select[name=kind]")).select_by_value("video")
    until(d, "no videos", lambda d: not css(d, "#files li") and "Nothing matches" in one(d, "p[role=status]").text)
    Select(one(d, "form[role=search] select[name=kind]")).select_by_value("image")
    until(d, "the images again", lambda d: len(css(d, "#files li")) >= 2)
    # Filters changed faster than the list answers: the last one wins.
    kind = Select(one(d, "form[role=search] select[name=kind]"))
    for _ in range(3):
        kind.select_by_value("video")
        kind.select_by_value("image")
    until(d, "the images after quick filter changes", lambda d: len(css(d, "#files li")) >= 2)
    step(f"searching {name[:6]!r} leaves one file in the grid; the kind filter shows no videos, then the images, "
         "also after quick changes")


def admin(d, key):
    one(d, "#logout").click()
    until(d, "the login page", lambda d: d.current_url.endswith("#/login"))
    one(d, "details summary").click()
    fill(d, "form.key-login", {"key": key})
    until(d, "the admin link", lambda d: css(d, "#nav a[href='#/admin']")).pop().click()
    row = until(d, "alice in the users table", lambda d: [r for r in css(d, "tr[data-user-id]") if r.text.startswith("alice")])[0]
    quota = row.find_element(By.CSS_SELECTOR, "input[name=quotaMb]")
    quota.clear()
    quota.send_keys("250")
    row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    until(d, "the quota saved", lambda d: "Quota saved" in one(d, "#toast").text)
    until(d, "the audit log", lambda d: len(css(d, "#audit tbody tr")) > 0)
    stats = one(d, "#stats").text
    if "Users" not in stats or "Files" not in stats:
        fail(f"stats {stats!r}")
    d.save_screenshot(os.path.join(SHOTS, "webapp-admin-light.png"))
    step("admin: signed in with a key, stats and audit log shown, set alice's quota")


def share_with_user(d, file_id):
    """alice shares a file with bob (registered through the API); bob
    finds it under "Shared with me" and sees it read-only."""
    req = urllib.request.Request(f"{BASE}/api/v1/auth/register", method="POST",
                                 data=json.dumps({"username": "bob", "password": "bob's password"}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as res:
        if res.status != 201:
            fail(f"registering bob answered {res.status}")
    go(d, f"/files/{file_id}")
    until(d, "the file page", lambda d: loaded_images(d, "#viewer-image"))
    fill(d, "form.share-form", {"shareWith": "bob"})
    until(d, "bob among the sharees", lambda d: [li for li in css(d, "ul[aria-label='Shared with'] li") if "bob" in li.text])
    one(d, "#logout").click()
    until(d, "the login page", lambda d: d.current_url.endswith("#/login"))
    fill(d, "form", {"username": "bob", "password": "bob's password"})
    until(d, "bob's gallery", lambda d: css(d, "input[type=file]"))
    go(d, "/shared")
    until(d, "the shared file", lambda d: css(d, f"a[href='#/shared/files/{file_id}']")).pop().click()
    until(d, "the shared image", lambda d: loaded_images(d, "#viewer-image"))
    if [b for b in css(d, "button") if b.text in ("Delete", "Make public", "Upload new version")]:
        fail("a read-only shared file offers changes")
    d.save_screenshot(os.path.join(SHOTS, "webapp-shared-file-light.png"))
    step("shared a file with bob; bob sees it under Shared with me, read-only")


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


def dark(d, file_id):
    one(d, "#logout").click()
    until(d, "the login page", lambda d: d.current_url.endswith("#/login"))
    fill(d, "form", {"username": "alice", "password": "correct horse battery"})
    until(d, "alice's gallery", lambda d: len(loaded_images(d, "#files img")) >= 1)
    d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    until(d, "the dark background", lambda d: d.execute_script(
        "return getComputedStyle(document.body).backgroundColor") not in ("rgb(246, 247, 249)", "rgb(255, 255, 255)"))
    d.save_screenshot(os.path.join(SHOTS, "webapp-gallery-dark.png"))
    d.set_window_size(390, 844)
    for path, name in (("/", "gallery"), (f"/files/{file_id}", "file")):
        go(d, path)
        until(d, f"the {name} at phone width", lambda d: loaded_images(d, "#files img, #viewer-image"))
        d.save_screenshot(os.path.join(SHOTS, f"webapp-{name}-phone-dark.png"))
        width = d.execute_script("return document.documentElement.scrollWidth")
        if width > 400:
            fail(f"at phone width the {name} page scrolls sideways ({width}px)")
    step("dark mode; gallery and file page at phone width without sideways scrolling")


def checkpoint(d, view, expected=None):
    """Fails on any console error or foreign request since the last
    checkpoint; `expected` (a regex) names the one failure a step causes
    on purpose."""
    errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"
              and not (expected and re.search(expected, e["message"]))]
    if errors:
        fail(f"browser console errors during {view}: " + json.dumps(errors))
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
        fail(f"requests to hosts other than {HOST} during {view}: {sorted(foreign)}")


def main():
    d = browser()
    try:
        register_and_login(d)
        checkpoint(d, "the first run, registering and logging in")
        ids = upload_two(d)
        checkpoint(d, "uploading two images")
        paste_and_drop(d)
        checkpoint(d, "paste and drop")
        too_big(d)
        checkpoint(d, "an upload over the limit", expected=r"status of 413")
        file_page_links(d, ids[0])
        checkpoint(d, "the file page and its links")
        new_version(d, ids[0])
        checkpoint(d, "uploading a new version")
        public_link(d)
        checkpoint(d, "opening a public link logged out")
        password_link(d, ids[0])
        delete_and_restore(d, ids)
        checkpoint(d, "deleting and restoring")
        search(d)
        checkpoint(d, "searching")
        folder_upload(d)
        checkpoint(d, "folders")
        share_with_user(d, ids[0])
        checkpoint(d, "sharing with a user")
        api_key(d)
        checkpoint(d, "API keys")
        print("NEED ADMIN KEY", flush=True)
        admin(d, sys.stdin.readline().strip())
        checkpoint(d, "the admin page")
        dark(d, ids[0])
        checkpoint(d, "dark mode and phone width")
        step("no console errors; every request went to mediaq")
    except Exception as e:  # noqa: BLE001 - report any failure with a screenshot
        d.save_screenshot(os.path.join(SHOTS, "webapp-failure.png"))
        print(f"FAILED: {e}\n{traceback.format_exc()}", flush=True)
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
