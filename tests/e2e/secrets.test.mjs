// Bearer secrets are shown once, in the CreateToken response, and nowhere
// else: not in the database (only a hash is kept, and idempotency records
// must not keep the answer's secret), not in the daemon's or PostgreSQL's log.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { before, describe, it } from "node:test";

import { ADMIN_TOKEN, FORMATS, PG_CONNINFO, Role, STATE_DIR, admin, createToken, expectCode, Code, key, uid } from "./lib.mjs";

const PG_BINDIR = process.env.VLEDGER_PG_BINDIR || "/usr/lib/postgresql/15/bin";

function pgDumpData() {
  return new Promise((resolve, reject) => {
    execFile(
      path.join(PG_BINDIR, "pg_dump"),
      ["--data-only", "--no-owner", "--dbname", PG_CONNINFO],
      { maxBuffer: 256 << 20, timeout: 30000 },
      (err, stdout, stderr) => (err ? reject(new Error(`pg_dump: ${err.message} ${stderr}`)) : resolve(stdout)),
    );
  });
}

// A secret as text, and as the hex PostgreSQL prints for bytea.
function assertAbsent(haystack, secrets, where) {
  const lower = haystack.toLowerCase();
  for (const s of secrets) {
    assert.ok(!haystack.includes(s), `a secret (${s.slice(0, 8)}…) appears in ${where}`);
    const hex = Buffer.from(s, "utf8").toString("hex");
    assert.ok(!lower.includes(hex), `a secret (${s.slice(0, 8)}…) appears hex-encoded in ${where}`);
  }
}

describe("secrets are kept nowhere", () => {
  const secrets = [ADMIN_TOKEN];
  const ids = [];

  before(async () => {
    for (const format of FORMATS) {
      const c = admin({ format });
      const req = { role: Role.ADMIN, description: `secret ${format} ${uid()}`, idempotencyKey: key() };
      const res = await c.createToken(req);
      secrets.push(res.secret);
      ids.push(res.token.id);
      // Use it, retry its creation (answered from the idempotency record),
      // fail a call with it after revocation.
      await admin({ format, token: res.secret }).listOrganizations({ pageSize: 1 });
      const again = await c.createToken(req);
      assert.equal(again.secret, "");
      const other = await createToken(c, { role: Role.AUDITOR });
      secrets.push(other.secret);
      await c.revokeToken({ id: other.token.id, idempotencyKey: key() });
      await expectCode(admin({ format, token: other.secret }).listTokens({}), Code.Unauthenticated);
    }
  });

  it("the database holds no secret (pg_dump of all data)", async () => {
    const dump = await pgDumpData();
    assert.ok(dump.includes("COPY"), "pg_dump printed no data");
    for (const id of ids) assert.ok(dump.includes(id), `token ${id} not in the dump: the dump is not what we think`);
    assertAbsent(dump, secrets, "the database");
  });

  it("vledgerd's log holds no secret", () => {
    const log = path.join(STATE_DIR, "vledgerd.log");
    assert.ok(existsSync(log), `${log} missing`);
    assertAbsent(readFileSync(log, "utf8"), secrets, "vledgerd.log");
  });

  it("PostgreSQL's log holds no secret", () => {
    const log = path.join(STATE_DIR, "pg", "postgres.log");
    if (!existsSync(log)) return;
    assertAbsent(readFileSync(log, "utf8"), secrets, "pg/postgres.log");
  });
});

describe("idempotency across encodings", () => {
  it("a retry in the other encoding is the same request", async () => {
    const req = { name: `enc ${uid()}`, kind: 1, idempotencyKey: key() };
    const viaJson = (await admin({ format: "json" }).createOrganization(req)).organization;
    const viaBinary = (await admin({ format: "binary" }).createOrganization(req)).organization;
    assert.equal(viaBinary.id, viaJson.id);
  });
});
