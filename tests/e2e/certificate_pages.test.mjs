// The public certificate pages (issue 5) in a real browser: Debian's
// Chromium, headless, driven by playwright-core. The printable certificate
// (/certificates/<number>), its QR code (decoded with zbarimg), the
// verification form and results (/verify), and escaping of what a volunteer's
// name may hold. Screenshots are kept as test artifacts.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { chromium } from "playwright-core";

import { STATE_DIR, URL_BASE, buildRoleTree, idNumber, key } from "./lib.mjs";
import {
  Category,
  DAY,
  PUBLIC_URL,
  certs,
  issue,
  recordShift,
  registerVolunteer,
  resultName,
  sec,
  ts,
} from "./certificates_lib.mjs";
import { alterLeaf } from "./eddsa_jcs.mjs";

const CHROMIUM = process.env.VLEDGER_CHROMIUM || "/usr/bin/chromium";
const ZBARIMG = process.env.VLEDGER_ZBARIMG || "/usr/bin/zbarimg";
const ARTIFACTS = process.env.VLEDGER_E2E_ARTIFACTS || path.join(STATE_DIR, "artifacts");
const INSTALL_HINT = "run scripts/install-deps.sh test (it installs chromium, fonts-noto-cjk and zbar-tools)";

function zbarimg(file) {
  return new Promise((resolve) => {
    execFile(ZBARIMG, ["--raw", "-q", file], { timeout: 20000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

let browser;
let context;
let tree;
let D;
let good; // { certificate, doc } of 张伟明's certificate
let xss; // the certificate of a volunteer whose name holds markup
const NAME = "张伟明";
const XSS_NAME = "<script>window.__xss=1</script>张三";

before(async () => {
  // Fail, never skip, when the tools are missing.
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: ${INSTALL_HINT}`);
  assert.ok(existsSync(ZBARIMG), `${ZBARIMG} is missing: ${INSTALL_HINT}`);
  mkdirSync(ARTIFACTS, { recursive: true });
  console.log(`# certificate page artifacts: ${ARTIFACTS}`);

  tree = await buildRoleTree("PGS");
  D = Object.fromEntries(Object.entries(tree.tokens).map(([role, t]) => [role, t.secret]));
  const now = sec(Date.now());
  const vol = await registerVolunteer(D.officeCommunity, tree.orgs.team, { name: NAME, idNumber: idNumber() });
  // 150 + 60 = 210 minutes: 3.5 hours.
  await recordShift(D.officeCommunity, { volunteerId: vol.id, org: tree.orgs.team, category: Category.ELDERLY_CARE, startMs: now - 5 * DAY, minutes: 150 });
  await recordShift(D.officeCommunity, { volunteerId: vol.id, org: tree.orgs.siblingTeam, category: Category.DISINFECTION, startMs: now - 3 * DAY, minutes: 60 });
  good = await issue(D.officeCommunity, { volunteerId: vol.id, from: ts(now - 10 * DAY), to: ts(now - 1000) });
  assert.equal(good.doc.credentialSubject.totalMinutes, 210);

  const bad = await registerVolunteer(D.officeCommunity, tree.orgs.team, { name: XSS_NAME });
  await recordShift(D.officeCommunity, { volunteerId: bad.id, org: tree.orgs.team, category: Category.OTHER, startMs: now - 2 * DAY, minutes: 30 });
  xss = await issue(D.officeCommunity, { volunteerId: bad.id, from: ts(now - 10 * DAY), to: ts(now - 1000), title: "<b>title</b> & \"quotes\"" });

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
  context = await browser.newContext({ deviceScaleFactor: 2, viewport: { width: 1000, height: 1400 }, locale: "zh-CN" });
});

after(async () => {
  if (browser) await browser.close();
});

/** A new page that records every request it makes. */
async function newPage() {
  const page = await context.newPage();
  page.requests = [];
  page.on("request", (r) => page.requests.push(r.url()));
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(String(e)));
  return page;
}

async function statusOf(page) {
  const s = page.locator("[data-testid=status]");
  assert.equal(await s.count(), 1, "exactly one data-testid=status");
  return { text: (await s.innerText()).trim(), status: await s.getAttribute("data-status") };
}

/** Asserts the page shows `want` (VALID, REVOKED, INVALID, NOT_FOUND) and no other verdict. */
async function expectStatus(page, want) {
  const { text, status } = await statusOf(page);
  assert.equal(status, want, `data-status on ${page.url()}: ${text}`);
  assert.ok(text.includes(want.replace("_", " ")) || text.includes(want), `status text ${JSON.stringify(text)} lacks ${want}`);
  for (const other of ["VALID", "REVOKED", "INVALID", "NOT_FOUND"]) {
    if (other !== want) {
      assert.ok(!new RegExp(`\\b${other}\\b`).test(text), `status text ${JSON.stringify(text)} also says ${other}`);
    }
  }
}

function assertSameOrigin(page) {
  const foreign = page.requests.filter((u) => !(u.startsWith(URL_BASE + "/") || u === URL_BASE || u.startsWith("data:")));
  assert.deepEqual(foreign, [], "the page loaded something from another origin");
}

describe("the certificate page", () => {
  it("shows the Chinese name, the total hours, the number and VALID; loads nothing from elsewhere; screenshot saved", async () => {
    const page = await newPage();
    const number = good.certificate.number;
    const res = await page.goto(`${URL_BASE}/certificates/${number}`);
    assert.equal(res.status(), 200);
    await expectStatus(page, "VALID");
    assert.equal((await page.locator("[data-testid=volunteer-name]").innerText()).trim(), NAME);
    const hours = (await page.locator("[data-testid=total-hours]").innerText()).trim();
    assert.match(hours, /(^|[^\d.])3\.5([^\d]|$)/, `total hours ${JSON.stringify(hours)}: want 3.5`);
    assert.equal((await page.locator("[data-testid=certificate-number]").innerText()).trim(), number);
    const body = await page.locator("body").innerText();
    assert.ok(body.includes(good.doc.credentialSubject.maskedIdNumber), "the masked identity number is shown");
    assert.ok(body.includes(tree.orgs.community.name), "the issuing organisation is shown");
    assert.equal(await page.locator("[data-testid=qr]").evaluate((e) => e.tagName.toLowerCase()), "svg", "the QR code is an inline svg");
    const href = await page.locator("[data-testid=download]").getAttribute("href");
    assert.equal(new URL(href, URL_BASE).href, `${URL_BASE}/certificates/${number}/credential.json`);
    assert.equal(await page.locator("script").count(), 0, "the page has scripts");
    assertSameOrigin(page);
    assert.deepEqual(page.errors, []);

    const shot = path.join(ARTIFACTS, `certificate-${number}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 20000, `${shot} is suspiciously small`);
    console.log(`# screenshot: ${shot}`);
    await page.close();
  });

  it("its QR code decodes (zbarimg) to the verification URL", async () => {
    const page = await newPage();
    const number = good.certificate.number;
    await page.goto(`${URL_BASE}/certificates/${number}`);
    const qr = page.locator("[data-testid=qr]");
    const box = await qr.boundingBox();
    assert.ok(box && box.width >= 80 && box.height >= 80, `QR code box ${JSON.stringify(box)}`);
    const file = path.join(ARTIFACTS, `qr-${number}.png`);
    // The element with a white margin around it, at device scale 2.
    const pad = 16;
    await page.screenshot({ path: file, clip: { x: Math.max(0, box.x - pad), y: Math.max(0, box.y - pad), width: box.width + 2 * pad, height: box.height + 2 * pad } });
    const z = await zbarimg(file);
    assert.equal(z.code, 0, `zbarimg found no code in ${file}: ${z.stderr}`);
    assert.equal(z.stdout.trim(), `${PUBLIC_URL}/verify/${number}`);
    await page.close();
  });

  it("credential.json is the credential; status follows it; HTML headers; unknown numbers are 404", async () => {
    const number = good.certificate.number;
    const page = await fetch(`${URL_BASE}/certificates/${number}`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    const csp = page.headers.get("content-security-policy");
    assert.ok(csp, "no Content-Security-Policy header");
    assert.match(csp, /(^|;)\s*default-src 'none'\s*(;|$)/, `CSP ${csp}`);
    assert.doesNotMatch(csp, /script-src|unsafe-eval|\*/, `CSP ${csp}`);
    const html = await page.text();
    assert.ok(html.includes(NAME), "the HTML does not hold the name");

    const cred = await fetch(`${URL_BASE}/certificates/${number}/credential.json`);
    assert.equal(cred.status, 200);
    assert.match(cred.headers.get("content-type") || "", /json/);
    assert.deepEqual(await cred.json(), good.doc);

    const st = await fetch(`${URL_BASE}/certificates/${number}/status`);
    assert.equal(st.status, 200);
    const stText = await st.text();
    assert.match(stText, /VALID/);
    assert.doesNotMatch(stText, /REVOKED/);

    for (const p of ["/certificates/VLC-2026-0000-0000-0000", "/certificates/nonsense", "/certificates/VLC-2026-0000-0000-0000/credential.json"]) {
      const r = await fetch(URL_BASE + p);
      assert.equal(r.status, 404, p);
      await r.arrayBuffer();
    }
  });
});

describe("the verify page", () => {
  const viaNumber = async (page, number) => {
    await page.goto(`${URL_BASE}/verify`);
    await page.locator("[data-testid=verify-number-input]").fill(number);
    await Promise.all([page.waitForLoadState("load"), page.locator("[data-testid=verify-submit-number]").click()]);
    await page.waitForSelector("[data-testid=status]");
  };
  const viaFile = async (page, name, text) => {
    await page.goto(`${URL_BASE}/verify`);
    await page.locator("[data-testid=verify-file-input]").setInputFiles({ name, mimeType: "application/json", buffer: Buffer.from(text) });
    await Promise.all([page.waitForNavigation(), page.locator("[data-testid=verify-submit-file]").click()]);
    await page.waitForSelector("[data-testid=status]");
  };

  it("a good number is VALID; an unknown one NOT_FOUND", async () => {
    const page = await newPage();
    await viaNumber(page, good.certificate.number);
    await expectStatus(page, "VALID");
    assert.equal(new URL(page.url()).pathname, `/verify/${good.certificate.number}`);
    assert.equal((await page.locator("[data-testid=volunteer-name]").innerText()).trim(), NAME);
    await viaNumber(page, "VLC-2026-0000-0000-0000");
    await expectStatus(page, "NOT_FOUND");
    assertSameOrigin(page);
    await page.close();
  });

  it("the downloaded file is VALID; an altered one INVALID", async () => {
    const page = await newPage();
    await viaFile(page, `${good.certificate.number}.json`, good.certificate.credential);
    await expectStatus(page, "VALID");
    const altered = alterLeaf(good.doc, ["credentialSubject", "totalMinutes"]);
    assert.equal(altered.credentialSubject.totalMinutes, 211);
    await viaFile(page, "altered.json", JSON.stringify(altered));
    await expectStatus(page, "INVALID");
    const why = (await certs(null).verifyCertificate({ credential: JSON.stringify(altered) })).reason;
    assert.notEqual(why, "");
    assert.ok((await page.locator("body").innerText()).includes(why), `the page does not give the reason ${JSON.stringify(why)}`);
    await page.screenshot({ path: path.join(ARTIFACTS, "verify-altered.png"), fullPage: true });
    await viaFile(page, "junk.json", "not json at all");
    await expectStatus(page, "INVALID");
    assertSameOrigin(page);
    await page.close();
  });

  it("after RevokeCertificate: REVOKED with the reason, on the verify page and the certificate page", async () => {
    const number = good.certificate.number;
    const reason = "证书信息有误 wrong details";
    await certs(D.officeCommunity).revokeCertificate({ number, reason, idempotencyKey: key("rvk") });
    assert.equal(resultName((await certs(null).verifyCertificate({ number })).result), "REVOKED");
    const page = await newPage();
    await viaNumber(page, number);
    await expectStatus(page, "REVOKED");
    assert.ok((await page.locator("body").innerText()).includes(reason), "the revocation reason is not shown");
    await viaFile(page, `${number}.json`, good.certificate.credential);
    await expectStatus(page, "REVOKED");
    await page.goto(`${URL_BASE}/certificates/${number}`);
    await expectStatus(page, "REVOKED");
    assert.ok((await page.locator("body").innerText()).includes(reason), "the certificate page does not show the reason");
    await page.screenshot({ path: path.join(ARTIFACTS, `certificate-${number}-revoked.png`), fullPage: true });
    const st = await (await fetch(`${URL_BASE}/certificates/${number}/status`)).text();
    assert.match(st, /REVOKED/);
    await page.close();
  });
});

describe("escaping", () => {
  it("a name holding <script> renders as text on the certificate and verify pages", async () => {
    const page = await newPage();
    for (const url of [`${URL_BASE}/certificates/${xss.certificate.number}`, `${URL_BASE}/verify/${xss.certificate.number}`]) {
      await page.goto(url);
      await expectStatus(page, "VALID");
      assert.equal((await page.locator("[data-testid=volunteer-name]").innerText()).trim(), XSS_NAME, url);
      assert.ok((await page.locator("body").innerText()).includes("<script>window.__xss=1</script>"), `${url}: the literal markup is not shown`);
      assert.equal(await page.evaluate(() => typeof window.__xss), "undefined", `${url}: the name's script ran`);
      const scripts = await page.evaluate(() => [...document.querySelectorAll("script")].map((s) => s.outerHTML));
      assert.deepEqual(scripts, [], `${url}: script elements in the DOM`);
      assert.equal(await page.locator("h1 b").count(), 0, `${url}: the title's markup became an element`);
    }
    // Uploaded: the same credential as a file.
    await page.goto(`${URL_BASE}/verify`);
    await page.locator("[data-testid=verify-file-input]").setInputFiles({ name: "x.json", mimeType: "application/json", buffer: Buffer.from(xss.certificate.credential) });
    await Promise.all([page.waitForNavigation(), page.locator("[data-testid=verify-submit-file]").click()]);
    await expectStatus(page, "VALID");
    assert.equal(await page.evaluate(() => typeof window.__xss), "undefined");
    assert.equal(await page.locator("script").count(), 0);
    await page.screenshot({ path: path.join(ARTIFACTS, "certificate-xss-name.png"), fullPage: true });
    await page.close();
  });
});
