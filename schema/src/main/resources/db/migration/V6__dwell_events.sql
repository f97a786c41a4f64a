-- Dwell events (DESIGN §13, issue 12 item 4): bucket:dwell:<id> once per membership epoch after
-- each configured threshold.
--
-- dwell_done_ms: the largest threshold (milliseconds) already emitted for this epoch; a threshold
-- fires once because the writer moves this forward in the same statement that claims it.
ALTER TABLE bucket_memberships ADD COLUMN dwell_done_ms bigint NOT NULL DEFAULT 0;

-- The dwell list a worker last registered for the bucket (ISO durations, comma-separated), and
-- since when: a threshold fires only for an epoch that reaches it at or after dwell_since, so a
-- new dwell list never bursts out events for members who stayed long before it was deployed.
ALTER TABLE bucket_configs ADD COLUMN dwell text NOT NULL DEFAULT '';
ALTER TABLE bucket_configs ADD COLUMN dwell_since timestamptz NOT NULL DEFAULT now();

-- The sweep's dwell phase finds a bucket's members by how long they have stayed.
CREATE INDEX bucket_memberships_dwell
    ON bucket_memberships (bucket_id, entered_at) WHERE status = 'active' AND deleted_at IS NULL;
