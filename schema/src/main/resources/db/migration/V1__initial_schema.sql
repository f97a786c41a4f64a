-- Bucketflow schema (DESIGN §5). Migrations are the single source of the schema:
-- jOOQ classes are generated from them at build time. Never edit an applied migration.

CREATE TABLE contacts (
    external_id text PRIMARY KEY,
    email       text,
    properties  jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);

CREATE TABLE user_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         text        NOT NULL,
    event           text        NOT NULL,
    properties      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    occurred_at     timestamptz NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    idempotency_key text UNIQUE
);
-- Windowed counts: WHERE user_id = ? AND event = ? AND occurred_at > ?
CREATE INDEX user_events_user_event_time ON user_events (user_id, event, occurred_at);

-- Ingest batches already applied: makes a retried ingest activity a no-op even for
-- events without an idempotency key.
CREATE TABLE ingest_batches (
    batch_id    text PRIMARY KEY,
    event_count integer     NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rejected_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reason      text        NOT NULL,
    detail      text,
    user_id     text,
    event       text,
    payload     text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE bucket_configs (
    bucket_id     text PRIMARY KEY,
    enabled       boolean     NOT NULL DEFAULT true,
    criteria_hash text,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE bucket_memberships (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id           text        NOT NULL,
    user_email        text,
    bucket_id         text        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('active', 'left')),
    entered_at        timestamptz NOT NULL,
    left_at           timestamptz,
    expires_at        timestamptz,
    max_dwell_at      timestamptz,
    entry_count       integer     NOT NULL CHECK (entry_count >= 1),
    source            text        NOT NULL CHECK (source IN ('event', 'reconcile', 'backfill', 'expiry', 'manual')),
    last_evaluated_at timestamptz,
    deleted_at        timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
-- Exactly one active row per (user, bucket); any number of historical 'left' rows.
CREATE UNIQUE INDEX bucket_memberships_one_active
    ON bucket_memberships (user_id, bucket_id) WHERE status = 'active' AND deleted_at IS NULL;
-- Epoch and last-leave lookups for a (user, bucket).
CREATE INDEX bucket_memberships_history ON bucket_memberships (user_id, bucket_id, entry_count);
-- Sweeps walk a bucket's active members in user order and by deadline.
CREATE INDEX bucket_memberships_active_by_bucket
    ON bucket_memberships (bucket_id, user_id) WHERE status = 'active' AND deleted_at IS NULL;
CREATE INDEX bucket_memberships_expiring
    ON bucket_memberships (bucket_id, expires_at) WHERE status = 'active' AND deleted_at IS NULL;
CREATE INDEX bucket_memberships_max_dwell
    ON bucket_memberships (bucket_id, max_dwell_at) WHERE status = 'active' AND deleted_at IS NULL;

-- Transactional outbox: one row per join/leave, written with the membership change.
CREATE TABLE bucket_transitions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket_id     text        NOT NULL,
    user_id       text        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('entered', 'left')),
    epoch         integer     NOT NULL,
    source        text        NOT NULL,
    emitted       boolean     NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    dispatched_at timestamptz,
    UNIQUE (bucket_id, user_id, kind, epoch)
);
CREATE INDEX bucket_transitions_undispatched ON bucket_transitions (id) WHERE dispatched_at IS NULL;

CREATE TABLE bucket_backfill_jobs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket_id     text        NOT NULL,
    criteria_hash text        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('first_time', 'reeval')),
    status        text        NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    totals        bigint,
    processed     bigint      NOT NULL DEFAULT 0,
    joined        bigint      NOT NULL DEFAULT 0,
    "left"        bigint      NOT NULL DEFAULT 0,
    cursor_user   text,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    error         text,
    UNIQUE (bucket_id, criteria_hash)
);

CREATE TABLE journey_states (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    journey_id  text        NOT NULL,
    user_id     text        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('running', 'completed', 'exited', 'failed')),
    entry_count integer     NOT NULL,
    workflow_id text        NOT NULL,
    trigger_event text      NOT NULL,
    exit_reason text,
    started_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz,
    UNIQUE (journey_id, user_id, entry_count)
);
CREATE UNIQUE INDEX journey_states_one_running ON journey_states (journey_id, user_id) WHERE status = 'running';

CREATE TABLE email_outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    text        NOT NULL,
    journey_id text        NOT NULL,
    template   text        NOT NULL,
    to_email   text,
    sent_at    timestamptz NOT NULL DEFAULT now(),
    idempotency_key text UNIQUE
);
