-- Migration 0013 (event_runs) for PostgreSQL: a finished turn's events kept by reference to the
-- nodes they repeat (store/_event_runs.py; see migrations/0013_event_runs.sql). node_id has no
-- foreign key on purpose; the trigger hands a node's data to the runs that use it before the
-- node goes, as SQLite's does.

CREATE TABLE event_runs (
    stream_id BIGINT NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    node_id BIGINT NOT NULL,
    node_data TEXT,
    layout TEXT NOT NULL,
    packed BYTEA NOT NULL,
    PRIMARY KEY (stream_id, first_seq)
);
CREATE INDEX event_runs_node ON event_runs(node_id) WHERE node_data IS NULL;

CREATE FUNCTION nodes_hand_data_to_event_runs() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE event_runs SET node_data = OLD.data WHERE node_id = OLD.id AND node_data IS NULL;
    RETURN OLD;
END $$;
CREATE TRIGGER nodes_hand_data_to_event_runs BEFORE DELETE ON nodes
FOR EACH ROW EXECUTE FUNCTION nodes_hand_data_to_event_runs();
