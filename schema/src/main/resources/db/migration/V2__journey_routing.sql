-- Journey routing: the event that started a run (so a re-delivered trigger starts nothing twice)
-- and an outbox for ordinary events that journeys listen to.

ALTER TABLE journey_states ADD COLUMN trigger_key text;
CREATE UNIQUE INDEX journey_states_trigger ON journey_states (journey_id, trigger_key);
CREATE INDEX journey_states_history ON journey_states (journey_id, user_id, entry_count);

CREATE TABLE journey_outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       text        NOT NULL,
    event         text        NOT NULL,
    properties    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    event_key     text        NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    dispatched_at timestamptz
);
CREATE INDEX journey_outbox_undispatched ON journey_outbox (id) WHERE dispatched_at IS NULL;
