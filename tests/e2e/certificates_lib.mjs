// Shared by certificates.test.mjs and certificate_pages.test.mjs: clients,
// enums, and building a volunteer with shifts and a certificate.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";

import { STATE_DIR, URL_BASE, key, rawGet, registry, serviceClient, timestampFromDate } from "./lib.mjs";

export const CERTIFICATES = "vledger.v1.CertificateService";
export const VOLUNTEERS = "vledger.v1.VolunteerService";
export const RECORDS = "vledger.v1.RecordsService";
export const FEEDBACK = "vledger.v1.FeedbackService";
export const COMMENDATIONS = "vledger.v1.CommendationService";

export const certs = (secret, format = "binary") => serviceClient(CERTIFICATES, { token: secret, format });
export const volunteers = (secret, format = "binary") => serviceClient(VOLUNTEERS, { token: secret, format });
export const records = (secret, format = "binary") => serviceClient(RECORDS, { token: secret, format });
export const feedback = (secret) => serviceClient(FEEDBACK, { token: secret });
export const commendations = (secret) => serviceClient(COMMENDATIONS, { token: secret });

export function enumOf(name, prefix) {
  const e = registry.getEnum(name);
  if (!e) throw new Error(`enum ${name} not in the descriptor set`);
  return Object.fromEntries(e.values.map((v) => [v.name.slice(prefix.length), v.number]));
}
export const Category = enumOf("vledger.v1.ShiftCategory", "SHIFT_CATEGORY_");
export const ShiftStatus = enumOf("vledger.v1.ShiftStatus", "SHIFT_STATUS_");
export const CertStatus = enumOf("vledger.v1.CertificateStatus", "CERTIFICATE_STATUS_");
export const Result = enumOf("vledger.v1.VerificationResult", "VERIFICATION_RESULT_");
export const Level = enumOf("vledger.v1.CommendationLevel", "COMMENDATION_LEVEL_");
export const resultName = (n) => Object.keys(Result).find((k) => Result[k] === n) ?? `#${n}`;

export const MINUTE = 60e3;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** Milliseconds truncated to whole seconds. */
export const sec = (ms) => Math.floor(ms / 1000) * 1000;
export const ts = (ms) => timestampFromDate(new Date(ms));
/** RFC 3339 UTC with whole seconds, as the credential writes times. */
export const rfc3339 = (ms) => new Date(sec(ms)).toISOString().replace(/\.\d{3}Z$/, "Z");

export const NUMBER_RE = /^VLC-\d{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/;

/** The credential key's did:key: GET /credentials/did, which must equal STATE_DIR/credential.did. */
export async function credentialDid() {
  const res = await rawGet("/credentials/did", { token: null });
  assert.equal(res.status, 200, `GET /credentials/did: ${res.status} ${res.text.slice(0, 200)}`);
  const did = res.text.trim();
  const file = readFileSync(path.join(STATE_DIR, "credential.did"), "utf8").trim();
  assert.equal(did, file, "GET /credentials/did and STATE_DIR/credential.did differ");
  assert.match(did, /^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{44}$/);
  return did;
}

/** Registers a volunteer (as `secret`) in `org`; returns { id, personalData }. */
export async function registerVolunteer(secret, org, personalData) {
  const res = await volunteers(secret).registerVolunteer({ organizationId: org.id, personalData, idempotencyKey: key("vol") });
  assert.ok(res.volunteer && res.volunteer.id, "no volunteer");
  return { id: res.volunteer.id, personalData };
}

/** Records a shift [startMs, startMs + minutes) as `secret`; returns the Shift. */
export async function recordShift(secret, { volunteerId, org, category, startMs, minutes, activity = "服务活动", place = "社区服务站" }) {
  const res = await records(secret).recordShift({
    volunteerId,
    organizationId: org.id,
    category,
    startTime: ts(startMs),
    endTime: ts(startMs + minutes * MINUTE),
    activity,
    place,
    idempotencyKey: key("shf"),
  });
  assert.equal(res.shift.minutes, minutes, "shift minutes");
  return res.shift;
}

/** IssueCertificate as `secret`; returns the response with `doc` (the parsed credential). */
export async function issue(secret, req, format = "binary") {
  const res = await certs(secret, format).issueCertificate({ title: "志愿服务证明 Volunteer Service Certificate", idempotencyKey: key("crt"), ...req });
  assert.ok(res.certificate, "no certificate in the response");
  return { ...res, doc: JSON.parse(res.certificate.credential) };
}

/** The public URL the daemon was started with (run.sh: derived from --listen). */
export const PUBLIC_URL = (process.env.VLEDGER_PUBLIC_URL || URL_BASE).replace(/\/+$/, "");
