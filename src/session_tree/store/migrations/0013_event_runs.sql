-- A finished turn's events kept by reference to the nodes they repeat (store/_event_runs.py):
-- one row stands for the events first_seq..last_seq of a stream, rebuilt from the node's data
-- by its layout (deltas as pieces of the node's text, the block's own event, a field filled
-- from the node) and packed: the first created_at, the gaps in ticks of 2**-22 s and the deltas'
-- lengths, as varints.
-- node_id has no foreign key on purpose: a node may be deleted (ephemeral sweep, garbage
-- collection) while its turn's stream stays; the trigger below first hands the node's data to
-- the runs that use it, so they still rebuild the same events.
CREATE TABLE event_runs (
    stream_id INTEGER NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    node_id INTEGER NOT NULL,
    node_data TEXT,
    layout TEXT NOT NULL,
    packed BLOB NOT NULL,
    PRIMARY KEY (stream_id, first_seq)
) WITHOUT ROWID;
CREATE INDEX event_runs_node ON event_runs(node_id) WHERE node_data IS NULL;
CREATE TRIGGER nodes_hand_data_to_event_runs BEFORE DELETE ON nodes
BEGIN
    UPDATE event_runs SET node_data = OLD.data WHERE node_id = OLD.id AND node_data IS NULL;
END;
