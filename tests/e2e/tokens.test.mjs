// Tokens: creation rules, secrets, revocation, listing without secrets, and
// authentication failures.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { before, describe, it } from "node:test";

import {
  ADMIN_PATH,
  ADMIN_TOKEN,
  Code,
  FORMATS,
  Kind,
  Role,
  STATE_DIR,
  admin,
  assertConnectErrorBody,
  createOrg,
  createToken,
  expectCode,
  key,
  listAllTokens,
  rawPost,
  safeJson,
  timestampFromDate,
  tsSeconds,
  uid,
} from "./lib.mjs";

const BAD_ROLE = [Code.InvalidArgument, Code.FailedPrecondition];
const ROLE_FIELDS = ["role", "organizationId"];

function assertSecret(secret) {
  assert.equal(typeof secret, "string");
  const body = secret.startsWith("vlt_") ? secret.slice(4) : secret;
  // 256 random bits are at least 43 base64url characters.
  assert.ok(body.length >= 43, `secret too short for 256 bits: ${secret.length} chars`);
  assert.match(secret, /^[\x21-\x7e]+$/, "secret must be printable ASCII without spaces");
}

describe("bootstrap admin token", () => {
  it("admin.token holds the secret on one line", () => {
    const text = readFileSync(path.join(STATE_DIR, "admin.token"), "utf8");
    const lines = text.split("\n").filter((l) => l.length > 0);
    assert.equal(lines.length, 1);
    assert.equal(lines[0].trim(), ADMIN_TOKEN);
    assertSecret(ADMIN_TOKEN);
  });
});

for (const format of FORMATS) {
  describe(`tokens (${format})`, () => {
    const c = admin({ format });
    let district, subdistrict, community, team, employer;

    before(async () => {
      district = await createOrg(c, { name: `TD ${uid()}`, kind: Kind.DISTRICT });
      subdistrict = await createOrg(c, { name: `TS ${uid()}`, kind: Kind.SUBDISTRICT, parentId: district.id });
      community = await createOrg(c, { name: `TC ${uid()}`, kind: Kind.COMMUNITY, parentId: subdistrict.id });
      team = await createOrg(c, { name: `TT ${uid()}`, kind: Kind.TEAM, parentId: community.id });
      employer = await createOrg(c, { name: `TE ${uid()}`, kind: Kind.EMPLOYER });
    });

    it("creates a token of every role on a fitting organisation", async () => {
      const cases = [
        [Role.ADMIN, ""],
        [Role.OFFICE, district.id],
        [Role.OFFICE, subdistrict.id],
        [Role.OFFICE, community.id],
        [Role.TEAM_LEADER, team.id],
        [Role.EMPLOYER, employer.id],
        [Role.AUDITOR, ""],
      ];
      const secrets = new Set();
      for (const [role, organizationId] of cases) {
        const description = `role ${role} ${uid()}`;
        const res = await c.createToken({ organizationId, role, description, idempotencyKey: key() });
        assert.match(res.token.id, /^tok_./);
        assert.equal(res.token.organizationId, organizationId);
        assert.equal(res.token.role, role);
        assert.equal(res.token.description, description);
        assert.ok(res.token.createTime, "createTime missing");
        assert.ok(Math.abs(tsSeconds(res.token.createTime) - Date.now() / 1000) < 120);
        assert.equal(res.token.expireTime, undefined, "no expireTime was asked for");
        assert.equal(res.token.revokeTime, undefined);
        assertSecret(res.secret);
        assert.ok(!secrets.has(res.secret), "secret repeated");
        secrets.add(res.secret);
      }
    });

    it("a new admin token works for calls", async () => {
      const { secret } = await createToken(c, { role: Role.ADMIN });
      const res = await admin({ format, token: secret }).listOrganizations({ pageSize: 1 });
      assert.equal(res.organizations.length, 1);
    });

    it("expireTime is returned as given", async () => {
      const when = new Date(Date.now() + 3600_000);
      when.setMilliseconds(0);
      const { token } = await createToken(c, { role: Role.AUDITOR, expireTime: timestampFromDate(when) });
      assert.equal(tsSeconds(token.expireTime), when.getTime() / 1000);
    });

    it("a role on an organisation of the wrong kind is rejected naming role or organizationId", async () => {
      const cases = [
        [Role.OFFICE, team.id],
        [Role.OFFICE, employer.id],
        [Role.OFFICE, ""],
        [Role.TEAM_LEADER, community.id],
        [Role.TEAM_LEADER, employer.id],
        [Role.TEAM_LEADER, ""],
        [Role.EMPLOYER, district.id],
        [Role.EMPLOYER, team.id],
        [Role.EMPLOYER, ""],
      ];
      const before = (await listAllTokens(c)).length;
      for (const [role, organizationId] of cases) {
        await expectCode(c.createToken({ organizationId, role, idempotencyKey: key() }), BAD_ROLE, ROLE_FIELDS);
      }
      assert.equal((await listAllTokens(c)).length, before, "a rejected CreateToken wrote a token");
    });

    it("other bad CreateToken requests name their field", async () => {
      await expectCode(c.createToken({ role: Role.UNSPECIFIED, idempotencyKey: key() }), Code.InvalidArgument, "role");
      await expectCode(c.createToken({ role: 42, idempotencyKey: key() }), Code.InvalidArgument, "role");
      await expectCode(c.createToken({ role: Role.ADMIN }), Code.InvalidArgument, "idempotencyKey");
      await expectCode(
        c.createToken({ role: Role.ADMIN, expireTime: timestampFromDate(new Date(Date.now() - 60_000)), idempotencyKey: key() }),
        Code.InvalidArgument,
        "expireTime",
      );
      await expectCode(
        c.createToken({ role: Role.TEAM_LEADER, organizationId: `org_${uid(12)}`, idempotencyKey: key() }),
        Code.NotFound,
        "organizationId",
      );
    });

    it("a revoked token is unauthenticated; revokeTime is set", async () => {
      const { token, secret } = await createToken(c, { role: Role.ADMIN, description: "to revoke" });
      const victim = admin({ format, token: secret });
      await victim.listOrganizations({ pageSize: 1 });
      const res = await c.revokeToken({ id: token.id, idempotencyKey: key() });
      assert.equal(res.token.id, token.id);
      assert.ok(res.token.revokeTime, "revokeTime not set");
      assert.ok(Math.abs(tsSeconds(res.token.revokeTime) - Date.now() / 1000) < 120);
      await expectCode(victim.listOrganizations({ pageSize: 1 }), Code.Unauthenticated);
      await expectCode(victim.getOrganization({ id: district.id }), Code.Unauthenticated);
      await expectCode(victim.createOrganization({ name: `x ${uid()}`, kind: Kind.EMPLOYER, idempotencyKey: key() }), Code.Unauthenticated);
      const listed = (await listAllTokens(c)).find((t) => t.id === token.id);
      assert.ok(listed, "revoked token not listed");
      assert.ok(listed.revokeTime, "listed token has no revokeTime");
    });

    it("RevokeToken: unknown id is not_found, missing key is invalid_argument", async () => {
      await expectCode(c.revokeToken({ id: `tok_${uid(12)}`, idempotencyKey: key() }), Code.NotFound);
      const { token } = await createToken(c, { role: Role.AUDITOR });
      await expectCode(c.revokeToken({ id: token.id }), Code.InvalidArgument, "idempotencyKey");
    });

    it("ListTokens never shows a secret", async () => {
      const made = [];
      for (let i = 0; i < 3; i++) made.push(await createToken(c, { role: Role.OFFICE, organizationId: subdistrict.id, description: `ls ${i}` }));
      const all = await listAllTokens(c);
      const ids = new Set(all.map((t) => t.id));
      for (const m of made) assert.ok(ids.has(m.token.id), `token ${m.token.id} not listed`);
      const text = safeJson(all);
      assert.ok(!/"secret"/i.test(text), "a listed token has a secret field");
      for (const m of made) assert.ok(!text.includes(m.secret), "a secret appears in ListTokens");
      assert.ok(!text.includes(ADMIN_TOKEN), "the admin secret appears in ListTokens");
      for (const t of all) assert.match(t.id, /^tok_./);
      const filtered = await listAllTokens(c, { organizationId: subdistrict.id });
      assert.ok(filtered.length >= 3);
      for (const t of filtered) assert.equal(t.organizationId, subdistrict.id);
      const fIds = filtered.map((t) => t.id);
      assert.equal(new Set(fIds).size, fIds.length, "a token listed twice");
    });

    it("ListTokens pages and rejects bad paging", async () => {
      const all = await listAllTokens(c, { pageSize: 500 });
      const small = await listAllTokens(c, { pageSize: 2 });
      assert.deepEqual(new Set(small.map((t) => t.id)), new Set(all.map((t) => t.id)));
      assert.equal(small.length, all.length);
      await expectCode(c.listTokens({ pageSize: -5 }), Code.InvalidArgument, "pageSize");
      await expectCode(c.listTokens({ pageSize: 501 }), Code.InvalidArgument, "pageSize");
      await expectCode(c.listTokens({ pageToken: "not a token!" }), Code.InvalidArgument, "pageToken");
    });
  });
}

describe("ListTokens on the wire", () => {
  let secret;
  before(async () => {
    secret = (await createToken(admin(), { role: Role.AUDITOR, description: "wire" })).secret;
  });

  it("the JSON body has no secret", async () => {
    const res = await rawPost(`${ADMIN_PATH}/ListTokens`, JSON.stringify({ pageSize: 500 }));
    assert.equal(res.status, 200, res.text);
    assert.ok(!res.text.includes('"secret"'), "JSON has a secret key");
    assert.ok(!res.text.includes(secret));
    assert.ok(!res.text.includes(ADMIN_TOKEN));
  });

  it("the binary body has no secret", async () => {
    const res = await rawPost(`${ADMIN_PATH}/ListTokens`, Buffer.alloc(0), { contentType: "application/proto" });
    assert.equal(res.status, 200, res.text);
    assert.ok(!res.bytes.includes(Buffer.from(secret)));
    assert.ok(!res.bytes.includes(Buffer.from(ADMIN_TOKEN)));
  });
});

for (const format of FORMATS) {
  describe(`authentication (${format})`, () => {
    it("no token is unauthenticated", async () => {
      const c = admin({ format, token: null });
      await expectCode(c.listOrganizations({}), Code.Unauthenticated);
      await expectCode(c.createOrganization({ name: `x ${uid()}`, kind: Kind.DISTRICT, idempotencyKey: key() }), Code.Unauthenticated);
      await expectCode(c.listTokens({}), Code.Unauthenticated);
    });

    it("a forged token is unauthenticated", async () => {
      const forged = `vlt_${Buffer.from(uid(32), "hex").toString("base64url")}`;
      await expectCode(admin({ format, token: forged }).listOrganizations({}), Code.Unauthenticated);
      await expectCode(admin({ format, token: `${ADMIN_TOKEN}x` }).listOrganizations({}), Code.Unauthenticated);
      await expectCode(admin({ format, token: ADMIN_TOKEN.slice(0, -1) }).listOrganizations({}), Code.Unauthenticated);
      await expectCode(admin({ format, token: "" }).listOrganizations({}), Code.Unauthenticated);
    });
  });
}

describe("authentication on the wire", () => {
  const body = JSON.stringify({ pageSize: 1 });
  const path = `${ADMIN_PATH}/ListOrganizations`;

  it("missing Authorization → 401 unauthenticated", async () => {
    assertConnectErrorBody(await rawPost(path, body, { token: null }), "unauthenticated", 401);
  });

  it("a non-Bearer scheme → 401 unauthenticated", async () => {
    const res = await rawPost(path, body, { token: null, headers: { Authorization: `Basic ${Buffer.from(`a:${ADMIN_TOKEN}`).toString("base64")}` } });
    assertConnectErrorBody(res, "unauthenticated", 401);
    const res2 = await rawPost(path, body, { token: null, headers: { Authorization: ADMIN_TOKEN } });
    assertConnectErrorBody(res2, "unauthenticated", 401);
  });

  it("a forged vlt_ token → 401 unauthenticated", async () => {
    const res = await rawPost(path, body, { token: `vlt_${"A".repeat(43)}` });
    assertConnectErrorBody(res, "unauthenticated", 401);
  });

  it("the Bearer scheme is case-insensitive (RFC 7235)", async () => {
    const res = await rawPost(path, body, { token: null, headers: { Authorization: `bearer ${ADMIN_TOKEN}` } });
    assert.equal(res.status, 200, res.text);
  });
});
