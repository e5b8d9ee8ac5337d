-- 011_certificates.sql: volunteer service certificates (CertificateService).
--
-- The signed credential names the volunteer, so it is not kept in plain
-- text: the row holds the credential with credentialSubject.name and
-- maskedIdNumber taken out (`document`, JSON text) and those two values
-- sealed under the personal data key like volunteer_personal_data
-- (`personal_key`, `personal_data`). Erasing the volunteer's personal data
-- clears the sealed part: the certificate's status and hash stay (and
-- still check a presented copy), the full credential can no longer be
-- rebuilt. `sha256` is SHA-256(JCS(credential)), the value in the
-- certificate_issued entry.

CREATE TABLE certificates (
	log_id          text NOT NULL DEFAULT 'default',
	number          text PRIMARY KEY CHECK (number ~ '^VLC-[0-9]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$'),
	seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	volunteer_id    text NOT NULL REFERENCES volunteers (id),
	organization_id text NOT NULL REFERENCES organizations (id),  -- the issuing office
	title           text NOT NULL,
	period_from     timestamptz NOT NULL,
	period_to       timestamptz NOT NULL,
	document        text NOT NULL,
	personal_key    bytea,
	personal_data   bytea,
	sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	leaf_index      bigint NOT NULL,
	issue_time      timestamptz NOT NULL,
	issued_by       text NOT NULL,
	revoke_time     timestamptz,
	revoke_reason   text,
	revoked_by      text,
	revoke_leaf_index bigint,
	CHECK ((personal_key IS NULL) = (personal_data IS NULL)),
	CHECK ((revoke_time IS NULL) = (revoke_reason IS NULL))
);
CREATE INDEX certificates_volunteer ON certificates (volunteer_id, seq);
CREATE UNIQUE INDEX certificates_sha256 ON certificates (sha256);
