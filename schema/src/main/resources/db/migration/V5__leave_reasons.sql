-- Leave reasons (DESIGN §13): every left transition says why. Rows written before this
-- migration get the reason their source implies; a clock leave at or after the membership's
-- max_dwell_at was a max-dwell leave.

ALTER TABLE bucket_transitions ADD COLUMN reason text
    CHECK (reason IN ('criteria', 'max_dwell', 'manual', 'reevaluation'));

UPDATE bucket_transitions t SET reason = CASE
        WHEN t.source = 'manual' THEN 'manual'
        WHEN t.source = 'backfill' THEN 'reevaluation'
        WHEN EXISTS (SELECT 1 FROM bucket_memberships m
                     WHERE m.user_id = t.user_id AND m.bucket_id = t.bucket_id AND m.entry_count = t.epoch
                       AND m.max_dwell_at IS NOT NULL AND m.left_at >= m.max_dwell_at) THEN 'max_dwell'
        ELSE 'criteria' END
    WHERE t.kind = 'left';

-- The mirror's $unset carries the reason of the leave it mirrors.
ALTER TABLE posthog_mirror ADD COLUMN leave_reason text;
