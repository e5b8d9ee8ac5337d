// Idempotency keys: a retry returns the first answer and writes nothing, a
// different request under the same key is already_exists, keys are per token.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  ADMIN_PATH,
  Code,
  FORMATS,
  Kind,
  Role,
  admin,
  assertConnectErrorBody,
  createOrg,
  createToken,
  expectCode,
  key,
  listAllOrgs,
  orgCount,
  rawPost,
  tsSeconds,
  uid,
} from "./lib.mjs";

async function countNamed(name) {
  return (await listAllOrgs(admin())).filter((o) => o.name === name).length;
}

for (const format of FORMATS) {
  describe(`idempotency (${format})`, () => {
    const c = admin({ format });

    it("the same key and request returns the same organisation and creates nothing new", async () => {
      const req = { name: `Idem ${uid()}`, kind: Kind.DISTRICT, idempotencyKey: key() };
      const first = (await c.createOrganization(req)).organization;
      const count = await orgCount();
      const second = (await c.createOrganization(req)).organization;
      const third = (await c.createOrganization({ ...req })).organization;
      assert.equal(second.id, first.id);
      assert.equal(third.id, first.id);
      assert.equal(second.name, first.name);
      assert.equal(tsSeconds(second.createTime), tsSeconds(first.createTime));
      assert.equal(await orgCount(), count, "a retry created an organisation");
      assert.equal(await countNamed(req.name), 1);
    });

    it("the same key with a different request is already_exists naming idempotencyKey", async () => {
      const req = { name: `Idem2 ${uid()}`, kind: Kind.DISTRICT, idempotencyKey: key() };
      const first = (await c.createOrganization(req)).organization;
      const count = await orgCount();
      const otherName = `${req.name} changed`;
      await expectCode(c.createOrganization({ ...req, name: otherName }), Code.AlreadyExists, "idempotencyKey");
      await expectCode(c.createOrganization({ ...req, kind: Kind.EMPLOYER }), Code.AlreadyExists, "idempotencyKey");
      assert.equal(await orgCount(), count);
      assert.equal(await countNamed(otherName), 0);
      // The original is still answered.
      assert.equal((await c.createOrganization(req)).organization.id, first.id);
    });

    it("keys are per caller token", async () => {
      const other = admin({ format, token: (await createToken(c, { role: Role.ADMIN, description: "idem peer" })).secret });
      const req = { name: `Idem3 ${uid()}`, kind: Kind.DISTRICT, idempotencyKey: key() };
      const mine = (await c.createOrganization(req)).organization;
      const theirs = (await other.createOrganization(req)).organization;
      assert.notEqual(theirs.id, mine.id, "another token's key answered from my record");
      assert.equal(await countNamed(req.name), 2);
      // A different request under the same key is fine for another token.
      const req2 = { ...req, name: `${req.name} b` };
      const other2 = admin({ format, token: (await createToken(c, { role: Role.ADMIN })).secret });
      const theirs2 = (await other2.createOrganization(req2)).organization;
      assert.equal(theirs2.name, req2.name);
    });

    it("CreateToken retried with the same key returns the same token without the secret", async () => {
      const req = { role: Role.AUDITOR, description: `idem tok ${uid()}`, idempotencyKey: key() };
      const first = await c.createToken(req);
      assert.ok(first.secret.length > 0);
      const again = await c.createToken(req);
      assert.equal(again.token.id, first.token.id);
      assert.equal(again.secret, "", "a retried CreateToken must not return the secret again");
      await expectCode(c.createToken({ ...req, role: Role.ADMIN }), Code.AlreadyExists, "idempotencyKey");
    });

    it("RevokeToken retried with the same key answers the same", async () => {
      const { token } = await createToken(c, { role: Role.AUDITOR });
      const req = { id: token.id, idempotencyKey: key() };
      const first = (await c.revokeToken(req)).token;
      const again = (await c.revokeToken(req)).token;
      assert.equal(first.id, token.id);
      assert.equal(again.id, token.id);
      assert.ok(first.revokeTime, "revokeTime not set");
      assert.equal(tsSeconds(again.revokeTime), tsSeconds(first.revokeTime));
    });
  });
}

describe("idempotency under concurrency", () => {
  const c = admin();

  it("10 concurrent retries of one request create one organisation and all get its id", async () => {
    const req = { name: `Race ${uid()}`, kind: Kind.DISTRICT, idempotencyKey: key() };
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => c.createOrganization(req)));
    const failures = results.filter((r) => r.status === "rejected").map((r) => `${Code[r.reason.code]}: ${r.reason.rawMessage}`);
    assert.deepEqual(failures, [], "concurrent retries failed");
    const ids = new Set(results.map((r) => r.value.organization.id));
    assert.equal(ids.size, 1, `retries answered different ids: ${[...ids]}`);
    assert.equal(await countNamed(req.name), 1);
  });

  it("20 concurrent creates with distinct keys all succeed with distinct ids", async () => {
    const parent = await createOrg(c, { name: `Par ${uid()}`, kind: Kind.DISTRICT });
    const made = await Promise.all(
      Array.from({ length: 20 }, (_, i) => createOrg(admin({ format: i % 2 ? "json" : "binary" }), { name: `Par${i} ${uid()}`, kind: Kind.SUBDISTRICT, parentId: parent.id })),
    );
    assert.equal(new Set(made.map((o) => o.id)).size, 20);
    assert.equal((await listAllOrgs(c, { parentId: parent.id })).length, 20);
  });

  it("already_exists on the wire is HTTP 409", async () => {
    const k = key();
    const body = { name: `W ${uid()}`, kind: "ORGANIZATION_KIND_DISTRICT", idempotencyKey: k };
    const ok = await rawPost(`${ADMIN_PATH}/CreateOrganization`, JSON.stringify(body));
    assert.equal(ok.status, 200, ok.text);
    const res = await rawPost(`${ADMIN_PATH}/CreateOrganization`, JSON.stringify({ ...body, name: `${body.name}x` }));
    assertConnectErrorBody(res, "already_exists", 409, "idempotencyKey");
  });
});
