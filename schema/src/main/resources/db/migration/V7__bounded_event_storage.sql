-- Bounded event storage (DESIGN §13, issue #13).
--
-- 1. All-time facts per (user, event) live in user_event_rollups, written in the same transaction
--    as the events they count (dev.bucketflow.event.EventLog). All-time criteria read them, so raw
--    events are only needed inside the widest finite window.
-- 2. Idempotency keys move to user_event_keys: a unique index on a partitioned table must contain
--    the partition key, and a key must stay unique whatever occurredAt a retry carries.
-- 3. user_events becomes partitioned by occurred_at (one partition per UTC day, created ahead and
--    dropped after the retention by dev.bucketflow.event.EventPartitions). Existing rows stay where
--    they are: the old table is attached as one partition covering everything up to tomorrow,
--    dropped whole once all of it is past the retention. A DEFAULT partition takes whatever no
--    day partition covers yet (maintenance moves such rows into their day, or deletes them once
--    they are past the retention), so an insert never fails for want of a partition.

CREATE TABLE user_event_rollups (
    user_id     text        NOT NULL,
    event       text        NOT NULL,
    total_count bigint      NOT NULL CHECK (total_count >= 1),
    first_at    timestamptz NOT NULL,
    last_at     timestamptz NOT NULL,
    PRIMARY KEY (user_id, event)
);
INSERT INTO user_event_rollups (user_id, event, total_count, first_at, last_at)
SELECT user_id, event, count(*), min(occurred_at), max(occurred_at) FROM user_events GROUP BY user_id, event;

CREATE TABLE user_event_keys (
    user_id         text        NOT NULL,
    idempotency_key text        NOT NULL,
    received_at     timestamptz NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
-- Keys older than the retention are pruned by receipt.
CREATE INDEX user_event_keys_received ON user_event_keys (received_at);
INSERT INTO user_event_keys (user_id, idempotency_key, received_at)
SELECT user_id, idempotency_key, max(received_at) FROM user_events
WHERE idempotency_key IS NOT NULL GROUP BY user_id, idempotency_key;

ALTER TABLE user_events RENAME TO user_events_legacy;
ALTER INDEX user_events_user_event_time RENAME TO user_events_legacy_user_event_time;
DROP INDEX user_events_user_key;
ALTER TABLE user_events_legacy DROP CONSTRAINT user_events_pkey;
ALTER TABLE user_events_legacy ALTER COLUMN id DROP IDENTITY;

CREATE TABLE user_events (
    id              bigint GENERATED ALWAYS AS IDENTITY,
    user_id         text        NOT NULL,
    event           text        NOT NULL,
    properties      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    occurred_at     timestamptz NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    idempotency_key text,
    PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);
-- Windowed counts: WHERE user_id = ? AND event = ? AND occurred_at > ?
CREATE INDEX user_events_user_event_time ON user_events (user_id, event, occurred_at);
CREATE TABLE user_events_default PARTITION OF user_events DEFAULT;

DO $$
DECLARE
    upper_bound timestamptz := date_trunc('day', now(), 'UTC') + interval '1 day';
    next_id     bigint;
BEGIN
    SELECT coalesce(max(id), 0) + 1 INTO next_id FROM user_events_legacy;
    EXECUTE format('ALTER TABLE user_events ALTER COLUMN id RESTART WITH %s', next_id);
    IF NOT EXISTS (SELECT 1 FROM user_events_legacy) THEN
        DROP TABLE user_events_legacy;
        RETURN;
    END IF;
    -- Rows dated after the bound (future skew) go through the parent into the default partition.
    INSERT INTO user_events (id, user_id, event, properties, occurred_at, received_at, idempotency_key)
    OVERRIDING SYSTEM VALUE
    SELECT id, user_id, event, properties, occurred_at, received_at, idempotency_key
    FROM user_events_legacy WHERE occurred_at >= upper_bound;
    DELETE FROM user_events_legacy WHERE occurred_at >= upper_bound;
    EXECUTE format('ALTER TABLE user_events ATTACH PARTITION user_events_legacy FOR VALUES FROM (MINVALUE) TO (%L)',
        upper_bound);
END
$$;
