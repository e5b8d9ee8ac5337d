// What each role may do: an office's rights reach its subtree only; team
// leaders, employers and auditors cannot create organisations; expired
// tokens stop working.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

import {
  ADMIN_PATH,
  Code,
  FORMATS,
  Kind,
  Role,
  admin,
  assertConnectErrorBody,
  assertNoOrgNamed,
  createOrg,
  createToken,
  expectCode,
  key,
  listAllOrgs,
  rawPost,
  sleep,
  timestampFromDate,
  uid,
} from "./lib.mjs";

for (const format of FORMATS) {
  describe(`office scoping (${format})`, () => {
    const root = admin({ format });
    let d1, s1, d2, s2, c2, t2, employer, office, officeSecret;

    before(async () => {
      d1 = await createOrg(root, { name: `SD1 ${uid()}`, kind: Kind.DISTRICT });
      s1 = await createOrg(root, { name: `SS1 ${uid()}`, kind: Kind.SUBDISTRICT, parentId: d1.id });
      d2 = await createOrg(root, { name: `SD2 ${uid()}`, kind: Kind.DISTRICT });
      s2 = await createOrg(root, { name: `SS2 ${uid()}`, kind: Kind.SUBDISTRICT, parentId: d2.id });
      c2 = await createOrg(root, { name: `SC2 ${uid()}`, kind: Kind.COMMUNITY, parentId: s2.id });
      t2 = await createOrg(root, { name: `ST2 ${uid()}`, kind: Kind.TEAM, parentId: c2.id });
      employer = await createOrg(root, { name: `SE ${uid()}`, kind: Kind.EMPLOYER });
      officeSecret = (await createToken(root, { role: Role.OFFICE, organizationId: s1.id, description: "office s1" })).secret;
      office = admin({ format, token: officeSecret });
    });

    it("an office builds its subtree and can read it", async () => {
      const community = await createOrg(office, { name: `OC ${uid()}`, kind: Kind.COMMUNITY, parentId: s1.id });
      assert.equal(community.parentId, s1.id);
      const team = await createOrg(office, { name: `OT ${uid()}`, kind: Kind.TEAM, parentId: community.id });
      assert.equal(team.parentId, community.id);
      for (const o of [s1, community, team]) {
        assert.equal((await office.getOrganization({ id: o.id })).organization.id, o.id);
      }
      const kids = await listAllOrgs(office, { parentId: community.id });
      assert.deepEqual(kids.map((o) => o.id), [team.id]);
      // Listing everything it may see: the subtree and nothing else.
      const visible = await listAllOrgs(office);
      const ids = new Set(visible.map((o) => o.id));
      assert.ok(ids.has(community.id) && ids.has(team.id), "office does not see its own subtree");
      for (const o of [d1, d2, s2, c2, t2, employer]) assert.ok(!ids.has(o.id), `office sees ${o.name} outside its subtree`);
    });

    it("an office cannot create outside its subtree", async () => {
      const n = `Out ${uid()}`;
      await expectCode(office.createOrganization({ name: n, kind: Kind.COMMUNITY, parentId: s2.id, idempotencyKey: key() }), Code.PermissionDenied);
      await expectCode(office.createOrganization({ name: n, kind: Kind.TEAM, parentId: c2.id, idempotencyKey: key() }), Code.PermissionDenied);
      await expectCode(office.createOrganization({ name: n, kind: Kind.SUBDISTRICT, parentId: d1.id, idempotencyKey: key() }), Code.PermissionDenied);
      await expectCode(office.createOrganization({ name: n, kind: Kind.DISTRICT, idempotencyKey: key() }), Code.PermissionDenied);
      await expectCode(office.createOrganization({ name: n, kind: Kind.EMPLOYER, idempotencyKey: key() }), Code.PermissionDenied);
      await assertNoOrgNamed(n);
    });

    it("an office cannot read outside its subtree", async () => {
      for (const o of [d1, d2, s2, c2, t2, employer]) {
        await expectCode(office.getOrganization({ id: o.id }), Code.PermissionDenied);
      }
    });

    it("listing another office's children does not leak them", async () => {
      let res;
      try {
        res = await listAllOrgs(office, { parentId: s2.id });
      } catch (err) {
        assert.equal(Code[err.code], Code[Code.PermissionDenied]);
        return;
      }
      assert.deepEqual(res.map((o) => o.id), [], "office listed organisations outside its subtree");
    });

    it("an office may create office and team-leader tokens in its subtree only", async () => {
      const community = await createOrg(office, { name: `OC2 ${uid()}`, kind: Kind.COMMUNITY, parentId: s1.id });
      const team = await createOrg(office, { name: `OT2 ${uid()}`, kind: Kind.TEAM, parentId: community.id });
      const tl = await createToken(office, { role: Role.TEAM_LEADER, organizationId: team.id });
      assert.equal(tl.token.organizationId, team.id);
      const of = await createToken(office, { role: Role.OFFICE, organizationId: community.id });
      assert.equal(of.token.role, Role.OFFICE);
      // The sub-office reaches its community but not s1 itself.
      const sub = admin({ format, token: of.secret });
      assert.equal((await sub.getOrganization({ id: team.id })).organization.id, team.id);
      await expectCode(sub.getOrganization({ id: s1.id }), Code.PermissionDenied);
      await expectCode(office.createToken({ role: Role.TEAM_LEADER, organizationId: t2.id, idempotencyKey: key() }), Code.PermissionDenied);
      await expectCode(office.createToken({ role: Role.OFFICE, organizationId: s2.id, idempotencyKey: key() }), Code.PermissionDenied);
    });

    it("an office may not create admin or auditor tokens", async () => {
      await expectCode(office.createToken({ role: Role.ADMIN, idempotencyKey: key() }), Code.PermissionDenied);
      await expectCode(office.createToken({ role: Role.ADMIN, organizationId: s1.id, idempotencyKey: key() }), Code.PermissionDenied);
      await expectCode(office.createToken({ role: Role.AUDITOR, idempotencyKey: key() }), Code.PermissionDenied);
      await expectCode(office.createToken({ role: Role.AUDITOR, organizationId: s1.id, idempotencyKey: key() }), Code.PermissionDenied);
    });

    it("an office cannot revoke a token outside its subtree", async () => {
      const { token } = await createToken(root, { role: Role.OFFICE, organizationId: s2.id });
      await expectCode(office.revokeToken({ id: token.id, idempotencyKey: key() }), Code.PermissionDenied);
      // Still valid afterwards.
      const peer = await createToken(root, { role: Role.ADMIN });
      await expectCode(office.revokeToken({ id: peer.token.id, idempotencyKey: key() }), Code.PermissionDenied);
      await admin({ format, token: peer.secret }).listOrganizations({ pageSize: 1 });
    });

    it("team leader, employer and auditor tokens cannot create organisations", async () => {
      const community = await createOrg(root, { name: `RC ${uid()}`, kind: Kind.COMMUNITY, parentId: s1.id });
      const team = await createOrg(root, { name: `RT ${uid()}`, kind: Kind.TEAM, parentId: community.id });
      const tl = admin({ format, token: (await createToken(root, { role: Role.TEAM_LEADER, organizationId: team.id })).secret });
      const emp = admin({ format, token: (await createToken(root, { role: Role.EMPLOYER, organizationId: employer.id })).secret });
      const aud = admin({ format, token: (await createToken(root, { role: Role.AUDITOR })).secret });
      const n = `Denied ${uid()}`;
      for (const c of [tl, emp, aud]) {
        await expectCode(c.createOrganization({ name: n, kind: Kind.TEAM, parentId: community.id, idempotencyKey: key() }), Code.PermissionDenied);
        await expectCode(c.createOrganization({ name: n, kind: Kind.DISTRICT, idempotencyKey: key() }), Code.PermissionDenied);
        await expectCode(c.createOrganization({ name: n, kind: Kind.EMPLOYER, idempotencyKey: key() }), Code.PermissionDenied);
        await expectCode(c.createToken({ role: Role.ADMIN, idempotencyKey: key() }), Code.PermissionDenied);
      }
      await assertNoOrgNamed(n);
    });
  });
}

describe("permission_denied on the wire", () => {
  it("is HTTP 403 with code permission_denied", async () => {
    const root = admin();
    const d = await createOrg(root, { name: `WD ${uid()}`, kind: Kind.DISTRICT });
    const secret = (await createToken(root, { role: Role.AUDITOR })).secret;
    const res = await rawPost(
      `${ADMIN_PATH}/CreateOrganization`,
      JSON.stringify({ name: `W ${uid()}`, kind: "ORGANIZATION_KIND_SUBDISTRICT", parentId: d.id, idempotencyKey: key() }),
      { token: secret },
    );
    assertConnectErrorBody(res, "permission_denied", 403);
  });
});

describe("token expiry", () => {
  for (const format of FORMATS) {
    it(`an expired token is unauthenticated (${format})`, async () => {
      const root = admin({ format });
      const expires = new Date(Date.now() + 2000);
      const { token, secret } = await createToken(root, { role: Role.ADMIN, expireTime: timestampFromDate(expires) });
      assert.ok(token.expireTime);
      const c = admin({ format, token: secret });
      await c.listOrganizations({ pageSize: 1 }); // still valid
      await sleep(Math.max(0, expires.getTime() - Date.now()) + 1200);
      await expectCode(c.listOrganizations({ pageSize: 1 }), Code.Unauthenticated);
      await expectCode(c.createOrganization({ name: `late ${uid()}`, kind: Kind.EMPLOYER, idempotencyKey: key() }), Code.Unauthenticated);
    });
  }
});
