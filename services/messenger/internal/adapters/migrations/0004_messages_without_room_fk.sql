-- A message's room is checked by the statement that stores it (grouped
-- posts join rooms on the member count they were checked against; a post
-- alone reads its room first), and rooms are never deleted. The foreign key
-- repeated that check per row as SELECT … FOR KEY SHARE on the room: every
-- group commit wrote a lock into the room's row (a WAL record), and two
-- groups in flight on one room turned it into a MultiXact. Measured with
-- `go run ./services/bench -breakdown`, it was about a quarter of
-- Postgres's CPU per sent message (131 -> 100 µs).
ALTER TABLE messages DROP CONSTRAINT messages_room_id_fkey;
