-- A long reply was stored twice: in its node and in the transcript mirror's entry for the same
-- assistant message (a transcript_values row, 1.0N each). A value may now leave out one slice of
-- its JSON text that a node's data holds byte for byte (the reply's text, as JSON): value is then
-- the rest, and the whole is substr(value, 1, value_at) || substr(node's data, node_at + 1,
-- node_len) || substr(value, value_at + 1) (store/_transcript_text.py). Offsets count characters,
-- as substr does. node_id has no foreign key on purpose: the trigger below first gives the value
-- its slice back when the node is deleted (ephemeral sweep, garbage collection, a tree's delete),
-- so the entry still loads the same.
ALTER TABLE transcript_values ADD COLUMN node_id INTEGER;
ALTER TABLE transcript_values ADD COLUMN value_at INTEGER;
ALTER TABLE transcript_values ADD COLUMN node_at INTEGER;
ALTER TABLE transcript_values ADD COLUMN node_len INTEGER;
CREATE INDEX transcript_values_node ON transcript_values(node_id) WHERE node_id IS NOT NULL;
CREATE TRIGGER nodes_hand_text_to_transcript_values BEFORE DELETE ON nodes
BEGIN
    UPDATE transcript_values SET value = substr(value, 1, value_at)
        || substr(OLD.data, node_at + 1, node_len) || substr(value, value_at + 1),
        node_id = NULL, value_at = NULL, node_at = NULL, node_len = NULL
    WHERE node_id = OLD.id;
END
