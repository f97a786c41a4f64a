-- Idempotency keys are per user (DESIGN §13): bob's "order-1" no longer shadows alice's.
-- Existing keys were unique across all users, so they are unique per user as well.
ALTER TABLE user_events DROP CONSTRAINT user_events_idempotency_key_key;
CREATE UNIQUE INDEX user_events_user_key ON user_events (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Pending events an ingest shard moved out of its continue-as-new input to stay under the
-- payload budget; read back in order by the next run, deleted by the batch that follows.
CREATE TABLE ingest_spill (
    segment_id  text        PRIMARY KEY,
    workflow_id text        NOT NULL,
    event_count integer     NOT NULL,
    events      bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
