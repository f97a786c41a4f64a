-- Delivery as Temporal work (DESIGN §13): outbox rows are delivered per delivery shard, in id
-- order per user, by one lease holder at a time; a failing row backs off and is parked after a
-- bound instead of blocking the rows behind it. Rows written before this migration belong to
-- shard 0 (they are delivered by shard 0's deliverer, whatever the shard count).

ALTER TABLE bucket_transitions
    ADD COLUMN shard           integer     NOT NULL DEFAULT 0,
    ADD COLUMN attempts        integer     NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN last_error      text,
    ADD COLUMN parked_at       timestamptz;
DROP INDEX bucket_transitions_undispatched;
CREATE INDEX bucket_transitions_pending ON bucket_transitions (shard, id)
    WHERE dispatched_at IS NULL AND parked_at IS NULL;
CREATE INDEX bucket_transitions_parked ON bucket_transitions (id) WHERE parked_at IS NOT NULL;

ALTER TABLE journey_outbox
    ADD COLUMN shard           integer     NOT NULL DEFAULT 0,
    ADD COLUMN attempts        integer     NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN last_error      text,
    ADD COLUMN parked_at       timestamptz;
DROP INDEX journey_outbox_undispatched;
CREATE INDEX journey_outbox_pending ON journey_outbox (shard, id)
    WHERE dispatched_at IS NULL AND parked_at IS NULL;
CREATE INDEX journey_outbox_parked ON journey_outbox (id) WHERE parked_at IS NOT NULL;

-- One deliverer per shard at a time: the holder renews before its lease runs out and stops
-- calling targets once it could have run out; a successor takes over an expired lease.
CREATE TABLE delivery_leases (
    shard      integer PRIMARY KEY,
    owner      text        NOT NULL,
    token      bigint      NOT NULL,
    expires_at timestamptz NOT NULL
);

-- A journey run is "started" only once the server acknowledged it: run_id is recorded then. A
-- re-delivered trigger whose claim has no run_id asks the server whether its run exists.
ALTER TABLE journey_states ADD COLUMN run_id text;

-- The PostHog mirror's wanted state per (user, bucket), newest transition winning
-- (version = 2 * epoch + (left ? 1 : 0)); done when sent_version = version.
CREATE TABLE posthog_mirror (
    user_id         text        NOT NULL,
    bucket_id       text        NOT NULL,
    property_key    text        NOT NULL,
    member          boolean     NOT NULL,
    version         bigint      NOT NULL,
    sent_version    bigint,
    shard           integer     NOT NULL,
    changed_at      timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_error      text,
    parked_at       timestamptz,
    sent_at         timestamptz,
    PRIMARY KEY (user_id, bucket_id)
);
CREATE INDEX posthog_mirror_pending ON posthog_mirror (shard, user_id, bucket_id)
    WHERE sent_version IS DISTINCT FROM version AND parked_at IS NULL;
