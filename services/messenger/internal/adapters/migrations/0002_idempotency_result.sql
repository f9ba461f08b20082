-- result keeps the outcome a replay returns, as it was when the key's
-- mutation committed: a room changes after CreateRoom or AddRoomMember, and
-- a replay must not report those later changes.
ALTER TABLE idempotency_keys ADD COLUMN result jsonb;
