// Connect-Timeout-Ms: a call held up by a table lock answers
// deadline_exceeded on time, and its transaction is rolled back.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, describe, it } from "node:test";

import {
  ADMIN_PATH,
  Code,
  FORMATS,
  Kind,
  PG_CONNINFO,
  PSQL,
  admin,
  assertConnectErrorBody,
  assertNoOrgNamed,
  createOrg,
  expectCode,
  key,
  orgCount,
  psqlBackground,
  rawPost,
  sleep,
  uid,
} from "./lib.mjs";

function psqlQuery(sql) {
  return new Promise((resolve, reject) => {
    execFile(PSQL, ["-X", "-At", "-v", "ON_ERROR_STOP=1", PG_CONNINFO, "-c", sql], { timeout: 10000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`psql: ${err.message} ${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

/** Holds ACCESS EXCLUSIVE on organizations for `seconds`; resolves once held. */
async function lockOrganizations(seconds) {
  const held = psqlBackground(
    `BEGIN; LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE; SELECT 'locked'; SELECT pg_sleep(${seconds}); COMMIT;`,
    "locked",
  );
  const probe =
    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation " +
    "WHERE c.relname = 'organizations' AND l.mode = 'AccessExclusiveLock' AND l.granted";
  const t0 = Date.now();
  for (;;) {
    if ((await psqlQuery(probe)) !== "0") break;
    if (Date.now() - t0 > 10000) throw new Error("the lock was never granted");
    const exited = await Promise.race([held.done.then(() => true), sleep(50).then(() => false)]);
    if (exited) throw new Error(`psql exited early: ${(await held.done).err}`);
  }
  return held;
}

describe("deadlines", () => {
  const children = [];
  after(() => {
    for (const c of children) c.kill("SIGKILL");
  });

  it("psql reaches the embedded PostgreSQL", async () => {
    assert.equal(await psqlQuery("SELECT to_regclass('organizations') IS NOT NULL"), "t");
  });

  it("a call under a table lock answers deadline_exceeded in time and writes nothing", async () => {
    const countBefore = await orgCount();
    const rawName = `deadline-raw-${uid()}`;
    const held = await lockOrganizations(4);
    children.push(held.child);

    // The server must answer on its own: no client-side timer here.
    const t0 = Date.now();
    const res = await rawPost(
      `${ADMIN_PATH}/CreateOrganization`,
      JSON.stringify({ name: rawName, kind: "ORGANIZATION_KIND_DISTRICT", idempotencyKey: key() }),
      { headers: { "Connect-Timeout-Ms": "300" } },
    );
    const elapsed = Date.now() - t0;
    assertConnectErrorBody(res, "deadline_exceeded", 504);
    assert.ok(elapsed >= 250, `answered after ${elapsed} ms, before the deadline`);
    assert.ok(elapsed < 1500, `deadline_exceeded came after ${elapsed} ms (want ~300)`);

    // A read blocked by the lock as well.
    const t2 = Date.now();
    const list = await rawPost(`${ADMIN_PATH}/ListOrganizations`, JSON.stringify({ pageSize: 5 }), {
      headers: { "Connect-Timeout-Ms": "300" },
    });
    assertConnectErrorBody(list, "deadline_exceeded", 504);
    assert.ok(Date.now() - t2 < 1500, `ListOrganizations deadline_exceeded came after ${Date.now() - t2} ms`);

    // And through the Connect clients.
    const clientNames = [];
    for (const format of FORMATS) {
      const n = `deadline-${format}-${uid()}`;
      clientNames.push(n);
      const t1 = Date.now();
      await expectCode(
        admin({ format }).createOrganization({ name: n, kind: Kind.DISTRICT, idempotencyKey: key() }, { timeoutMs: 300 }),
        Code.DeadlineExceeded,
      );
      assert.ok(Date.now() - t1 < 1500);
    }

    const done = await held.done;
    assert.equal(done.code, 0, `psql failed: ${done.err}`);
    // Give an aborted-but-queued insert every chance to show up.
    await sleep(300);
    await assertNoOrgNamed(rawName);
    for (const n of clientNames) await assertNoOrgNamed(n);
    assert.equal(await orgCount(), countBefore);
  });

  it("the daemon is healthy after the aborted calls", async () => {
    const c = admin();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => createOrg(c, { name: `after-${i}-${uid()}`, kind: Kind.EMPLOYER })));
    assert.equal(results.length, 8);
  });

  it("a generous Connect-Timeout-Ms does not get in the way", async () => {
    const n = `timely-${uid()}`;
    const res = await rawPost(
      `${ADMIN_PATH}/CreateOrganization`,
      JSON.stringify({ name: n, kind: "ORGANIZATION_KIND_EMPLOYER", idempotencyKey: key() }),
      { headers: { "Connect-Timeout-Ms": "10000" } },
    );
    assert.equal(res.status, 200, res.text);
    const o = await admin({ format: "json" }).createOrganization({ name: `t2-${uid()}`, kind: Kind.EMPLOYER, idempotencyKey: key() }, { timeoutMs: 10000 });
    assert.match(o.organization.id, /^org_/);
  });

  it("a malformed Connect-Timeout-Ms is invalid_argument", async () => {
    const res = await rawPost(
      `${ADMIN_PATH}/ListOrganizations`,
      JSON.stringify({ pageSize: 1 }),
      { headers: { "Connect-Timeout-Ms": "soon" } },
    );
    assertConnectErrorBody(res, "invalid_argument", 400);
  });
});
