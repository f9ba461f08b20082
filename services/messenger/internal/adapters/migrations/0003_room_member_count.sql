-- member_count lets a grouped post check, inside its one statement, that
-- the member list it read from messenger's cache is still the room's: the
-- list only grows, so an equal count means an equal list.
ALTER TABLE rooms ADD COLUMN member_count integer NOT NULL DEFAULT 0;
UPDATE rooms r SET member_count = (SELECT count(*) FROM room_members m WHERE m.room_id = r.id);
