// Certificates against what is stored: a certificates row changed behind
// vledger's back (the log still holds the true hash) makes VerifyCertificate
// INVALID, by number and by the credential; erasing the volunteer's personal
// data keeps the certificate's status and hash but drops the name, and no new
// certificate can be issued without a name.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

import { Code, buildRoleTree, expectCode, idNumber, key, logTreeSize, psqlQuery, uid } from "./lib.mjs";
import { Category, DAY, HOUR, Result, certs, issue, recordShift, registerVolunteer, resultName, ts, volunteers } from "./certificates_lib.mjs";

describe("certificates and their storage", () => {
  let tree, office, vol, period;

  before(async () => {
    tree = await buildRoleTree("CS");
    office = tree.tokens.officeCommunity.secret;
    vol = await registerVolunteer(office, tree.orgs.team, { name: `李四${uid(3)}`, idNumber: idNumber() });
    const start = Date.now() - 10 * DAY;
    await recordShift(office, { volunteerId: vol.id, org: tree.orgs.team, category: Category.ELDERLY_CARE, startMs: start, minutes: 90 });
    period = { from: ts(start - DAY), to: ts(Date.now() - HOUR) };
  });

  it("a row whose hash was changed in the database is INVALID: the log keeps the issued hash", async () => {
    const res = await issue(office, { volunteerId: vol.id, ...period });
    const number = res.certificate.number;
    const good = await certs(null).verifyCertificate({ number });
    assert.equal(resultName(good.result), "VALID");

    const forged = "0".repeat(64);
    await psqlQuery(`UPDATE certificates SET sha256 = '${forged}' WHERE number = '${number}'`);
    try {
      const byNumber = await certs(null).verifyCertificate({ number });
      assert.equal(resultName(byNumber.result), "INVALID");
      assert.match(byNumber.reason, /not in the log/);
      assert.equal(byNumber.credential, "", "an INVALID answer must not vouch for any credential");
      const byDoc = await certs(null).verifyCertificate({ credential: res.certificate.credential });
      assert.equal(resultName(byDoc.result), "INVALID");
      assert.match(byDoc.reason, /not in the log/);
    } finally {
      await psqlQuery(`UPDATE certificates SET sha256 = '${res.certificate.credentialSha256}' WHERE number = '${number}'`);
    }
    const again = await certs(null).verifyCertificate({ credential: res.certificate.credential });
    assert.equal(again.result, Result.VALID);
  });

  it("the stored row does not hold the name or the identity number in the clear", async () => {
    const res = await issue(office, { volunteerId: vol.id, ...period });
    const row = await psqlQuery(`SELECT document || encode(personal_data, 'escape') FROM certificates WHERE number = '${res.certificate.number}'`);
    assert.ok(row.length > 100, "no row");
    assert.ok(!row.includes(vol.personalData.name), "the name is stored in the clear");
    assert.ok(!row.includes(vol.personalData.idNumber.slice(-4)), "the masked number is stored in the clear");
    assert.equal(res.doc.credentialSubject.name, vol.personalData.name);
  });

  it("after erasure the certificate stays VALID without the name, and no new one can be issued", async () => {
    const res = await issue(office, { volunteerId: vol.id, ...period });
    const number = res.certificate.number;
    await volunteers(office).eraseVolunteerPersonalData({ volunteerId: vol.id, reason: "volunteer asked", idempotencyKey: key("erase") });

    const byNumber = await certs(null).verifyCertificate({ number });
    assert.equal(resultName(byNumber.result), "VALID");
    assert.equal(byNumber.credential, "", "the erased name came back");
    const got = await certs(null).getCertificate({ number });
    assert.equal(got.certificate.credential, "");
    assert.equal(got.certificate.credentialSha256, res.certificate.credentialSha256);
    // The holder's copy still checks: the hash is kept.
    const byDoc = await certs(null).verifyCertificate({ credential: res.certificate.credential });
    assert.equal(resultName(byDoc.result), "VALID");

    const size = await logTreeSize();
    await expectCode(certs(office).issueCertificate({ volunteerId: vol.id, ...period, title: "证明", idempotencyKey: key("crt") }),
      Code.FailedPrecondition, ["volunteerId"]);
    assert.equal(await logTreeSize(), size, "a refused issue wrote to the log");
  });
});
