#!/usr/bin/python3
# web_view_browser.py URL -- COMMAND...: `lvsctl serve`'s cluster page in a real headless
# Chromium driven by Selenium (run by web_view_test.sh, inside user-mode Linux). Opens
# URL/cluster/1 (the seed cluster: LB 10.200.1.1, real servers 10.200.1.2 and .3 at weight 32,
# converged once), marks the page's window, runs COMMAND (a hook setting 10.200.1.2's weight to
# 10), and waits for the page to show the new weight and run without being reloaded; then
# URL/. Prints TAP-like "ok"/"not ok" lines; exits 1 on any failure, after a screenshot.
# Selenium comes with Debian's python3-selenium: run it with /usr/bin/python3.
import os
import shutil
import subprocess
import sys
import tempfile

from selenium import webdriver
from selenium.common.exceptions import (StaleElementReferenceException, TimeoutException,
                                        WebDriverException)
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

LB, CHANGED, OTHER = "10.200.1.1", "10.200.1.2", "10.200.1.3"
failures = 0
shot = False  # a screenshot was taken


def check(what, ok):
    global failures
    print(("ok - " if ok else "not ok - ") + what, flush=True)
    if not ok:
        failures += 1
    return ok


def row(driver, address):
    """The real server's row in the LB's table, or None."""
    found = driver.find_elements(
        By.CSS_SELECTOR,
        f'section.host.lb[data-host="{LB}"] table.real-servers tr.real-server[data-address="{address}"]')
    return found[0] if found else None


def cells(driver, address):
    """(state, weight, configured) of the row's cells, or None. The page's script replaces the
    fragment under us: a stale element is read again."""
    for _ in range(5):
        try:
            r = row(driver, address)
            if r is None:
                return None
            return tuple(r.find_element(By.CSS_SELECTOR, "td." + c).text.strip()
                         for c in ("state", "weight", "configured"))
        except StaleElementReferenceException:
            continue
    return None


def runs(driver):
    """[(run id, result)] of the runs table, newest first."""
    for _ in range(5):
        try:
            return [(int(r.find_element(By.CSS_SELECTOR, "td.run-id").text.strip()),
                     r.find_element(By.CSS_SELECTOR, "td.result").text.strip())
                    for r in driver.find_elements(By.CSS_SELECTOR, "table.runs tr.run")]
        except StaleElementReferenceException:
            continue
        except ValueError:
            return []
    return []


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print("usage: web_view_browser.py URL -- COMMAND...", file=sys.stderr)
        return 2
    url, command = sys.argv[1].rstrip("/"), sys.argv[3:]
    # The profile in a tmpfs of the guest when there is one (TMPDIR), removed afterwards.
    profile = tempfile.mkdtemp(prefix="lvsctl-chromium.")
    o = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-proxy-server", "--window-size=1280,1024", f"--user-data-dir={profile}"):
        o.add_argument(a)
    driver = None
    try:
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
        driver.set_page_load_timeout(120)
        run_checks(driver, url, command)
    except Exception as e:  # the browser or the hook failed in a way no check expects
        first = (getattr(e, "msg", None) or str(e)).strip().split("\n")[0]
        check(f"the browser test ran to its end ({type(e).__name__}: {first})", False)
    finally:
        if driver is not None:
            screenshot(driver)
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return 1 if failures else 0


def screenshot(driver):
    """After a failure, once: the page as it is, in a new directory under /var/tmp (not under
    the test's own directories: sshd-hosts removes LVSCTL_TEST_SSH_DIR at its end)."""
    global shot
    if not failures or shot:
        return
    shot = True
    d = tempfile.mkdtemp(prefix="lvsctl-web-view.", dir="/var/tmp")
    try:
        driver.save_screenshot(os.path.join(d, "page.png"))
        with open(os.path.join(d, "page.html"), "w") as f:
            f.write(driver.page_source)
        print(f"# the page at the failure ({driver.current_url}): {d}/page.png and page.html", flush=True)
    except WebDriverException as e:
        print(f"# no screenshot: {e}", flush=True)


def first_load(driver, target):
    """The first page: Chromium's first renderer can take minutes to start in UML while CI runs
    other UML suites beside it ("Timed out receiving message from renderer"); once more before
    that counts as a failure. The page itself is what the checks below judge."""
    try:
        driver.get(target)
    except TimeoutException:
        print("# the first page load timed out; once more", flush=True)
        driver.get(target)


def run_checks(driver, url, command):
    first_load(driver, url + "/cluster/1")
    check(f"the page's title names cluster 1 ({driver.title!r})", "cluster 1" in driver.title)
    check("the content is in main#view", len(driver.find_elements(By.CSS_SELECTOR, "main#view")) == 1)
    for address in (CHANGED, OTHER):
        c = cells(driver, address)
        check(f"LB {LB}: real server {address} with kernel and configured weight 32 and a state ({c})",
              c is not None and c[0] != "" and c[1:] == ("32", "32"))
    before = runs(driver)
    check(f"the runs table has a converged run ({before[:3]})", any(r == "converged" for _, r in before))
    newest = before[0][0] if before else 0

    # A property of this window: still there after the change only if the page was not reloaded.
    driver.execute_script("window.lvsctlMarker = 42")
    hook = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)
    said = "; ".join(hook.stderr.split("\n")).strip("; ")
    check(f"the hook {' '.join(command[-7:])}: exit 0 ({said})", hook.returncode == 0)

    try:
        WebDriverWait(driver, 30, poll_frequency=0.5).until(
            lambda d: (cells(d, CHANGED) or ("", "", ""))[1:] == ("10", "10"))
        changed = True
    except WebDriverException:  # TimeoutException is one
        changed = False
    check(f"within 30 s {CHANGED}'s kernel and configured weight read 10 ({cells(driver, CHANGED)})", changed)
    try:
        WebDriverWait(driver, 30, poll_frequency=0.5).until(
            lambda d: (runs(d) or [(0, "")])[0][0] > newest)
        newer = True
    except WebDriverException:
        newer = False
    after = runs(driver)
    check(f"the hook's run is the newest row of the runs table (was {newest}, now {after[:1]})", newer)
    c = cells(driver, OTHER)
    check(f"{OTHER} unchanged at 32 ({c})", c is not None and c[1:] == ("32", "32"))
    marker = driver.execute_script("return window.lvsctlMarker")
    check(f"refreshed in place, not reloaded (window.lvsctlMarker {marker!r})", marker == 42)
    refreshed = driver.execute_script("return document.body.dataset.refreshed")
    check(f"document.body.dataset.refreshed counts the refreshes ({refreshed!r})",
          refreshed is not None and refreshed.isdigit() and int(refreshed) >= 1)
    # Read in one script: the fragment may be replaced between finding an element and reading it.
    gathered = driver.execute_script(
        "const p = document.querySelector('main#view p.gathered'); return p && p.dataset.unix")
    check(f"p.gathered has the gather's unix time ({gathered!r})",
          gathered is not None and gathered.isdigit())

    screenshot(driver)  # the cluster's page, when it failed
    driver.get(url + "/")
    links = driver.find_elements(By.CSS_SELECTOR, 'a.cluster[href="/cluster/1"]')
    check("/ links cluster 1", len(links) == 1)


if __name__ == "__main__":
    sys.exit(main())
