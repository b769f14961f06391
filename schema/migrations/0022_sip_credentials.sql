-- Agents' phones' SIP digest credentials move out of the ACD's agents
-- table to telephony's own (core/telephony/sipauth), keyed by the
-- extension the phone registers as.
CREATE TABLE sip_credentials (
    extension  text PRIMARY KEY,
    -- HA1 of SIP digest auth: md5(extension:realm:password); the password
    -- itself is never kept.
    ha1        text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO sip_credentials (extension, ha1, updated_at) SELECT extension, sip_ha1, updated_at FROM agents;
ALTER TABLE agents DROP COLUMN sip_ha1;
